"""The mantis-render command line: parse arguments, call the core, print, choose the exit code.

Exit status: 0 success, 1 invalid input (every problem printed, one per line), 2 usage error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import click

from .errors import MantisRenderError, Problem, UnknownEnvironmentError
from .output import write_environment
from .project import DEFAULT_OUTPUT, Project, RenderedEnvironment
from .render import DOTENV
from .report import REPORTER_BY_NAME

EXIT_INVALID = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project folder holding profiles/ and templates/.",
)
@click.pass_context
def main(context: click.Context, root: Path) -> None:
    """Render MANTIS configuration (.env, compose override, Kubernetes manifests) from profiles.

    \b
    Exit status: 0 success, 1 invalid input, 2 usage error.
    """
    context.obj = Project(root)


@main.command()
@click.argument("environments", nargs=-1, metavar="ENV...")
@click.option("--all", "render_all", is_flag=True, help="Render every environment in profiles/.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Output folder [default: <root>/{DEFAULT_OUTPUT}]; each environment goes to OUT/ENV/.",
)
@click.option(
    "--no-resolve",
    is_flag=True,
    help="Contact no secret store: write the committable files (and a .env only if the profile "
    "holds no secret reference). For pipelines.",
)
@click.option(
    "--require-env",
    is_flag=True,
    help="Exit 1 unless each environment's .env was written by this run (for setup scripts).",
)
@click.pass_obj
def render(
    project: Project,
    environments: tuple[str, ...],
    render_all: bool,
    out: Path | None,
    no_resolve: bool,
    require_env: bool,
) -> None:
    """Render ENV... (or --all) into OUT/ENV/.

    Secret references are resolved (Vault from VAULT_ADDR and VAULT_TOKEN, environment
    variables, files) into the .env only; the committable files never hold a secret value.
    An environment with a problem writes nothing and keeps its previous output.
    """
    if render_all and environments:
        raise click.UsageError("give environment names or --all, not both")
    names = _chosen_environments(project, environments, render_all)
    out_dir = out if out is not None else project.root / DEFAULT_OUTPUT
    built, failed = _build_all(project, names, None if no_resolve else os.environ)
    for environment in built:
        try:
            written = write_environment(out_dir, environment.name, environment.files, keep=[DOTENV])
        except OSError as error:
            where = error.filename or out_dir / environment.name
            _report([Problem(str(where), 0, "", f"cannot write: {error.strerror}")])
            failed = True
            continue
        click.echo(f"{environment.name}: wrote {len(environment.files)} files to {written.folder}")
        notes = list(environment.notes)
        if written.kept:
            notes.append(f"kept the previous {', '.join(written.kept)}; it may be out of date")
        for note in notes:
            click.echo(f"{environment.name}: note: {note}", err=True)
        if require_env and DOTENV not in environment.files:
            click.echo(
                f"{environment.name}: .env is required (--require-env) but was not written",
                err=True,
            )
            failed = True
    if render_all:
        failed |= _report(project.profiles.misnamed_files())
    if failed:
        raise SystemExit(EXIT_INVALID)


@main.command()
@click.argument("environments", nargs=-1, metavar="[ENV]...")
@click.pass_obj
def validate(project: Project, environments: tuple[str, ...]) -> None:
    """Check ENV... (all when none given): schema, templates and output, writing nothing.

    No secret store is contacted.
    """
    names = _chosen_environments(project, environments, not environments)
    built, failed = _build_all(project, names, None)
    for environment in built:
        click.echo(f"{environment.name}: valid")
    if not environments:
        failed |= _report(project.profiles.misnamed_files())
    if failed:
        raise SystemExit(EXIT_INVALID)


@main.command(name="list")
@click.pass_obj
def list_environments(project: Project) -> None:
    """List the environments that have a profile."""
    for name in project.profiles.environments():
        click.echo(name)
    _report(project.profiles.misnamed_files())


@main.command(name="env-template")
@click.argument("environment", metavar="ENV")
@click.pass_obj
def env_template(project: Project, environment: str) -> None:
    """Print ENV's .env in the guide's .env.template form: every key, secrets as placeholders."""
    _check_environment(project, environment)
    try:
        click.echo(project.env_template(environment), nl=False)
    except MantisRenderError as error:
        _report(error.problems)
        raise SystemExit(EXIT_INVALID) from None


@main.group()
def secrets() -> None:
    """Commands about the secrets that profiles reference."""


@secrets.command()
@click.argument("environment", metavar="ENV")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTER_BY_NAME)),
    default="text",
    show_default=True,
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Audit as of this date (YYYY-MM-DD) instead of today, to plan rotations.",
)
@click.pass_obj
def audit(project: Project, environment: str, output_format: str, as_of: datetime | None) -> None:
    """Report the age of ENV's Vault secrets against their rotation periods.

    \b
    Periods, from the environments guide: database passwords, API keys and admin
    passwords 90 days; JWT secrets 180 days. Exit status 1 when a secret is overdue
    or its Vault metadata cannot be read.
    """
    _check_environment(project, environment)
    when = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    try:
        ages, problems = project.audit(environment, os.environ, when)
    except MantisRenderError as error:
        ages, problems = [], error.problems
    if ages:
        click.echo(REPORTER_BY_NAME[output_format].audit(environment, ages), nl=False)
    if _report(problems) or any(age.status == "overdue" for age in ages):
        raise SystemExit(EXIT_INVALID)


def _check_environment(project: Project, name: str) -> None:
    try:
        project.profiles.check_environment(name)
    except UnknownEnvironmentError as error:
        raise click.BadParameter(str(error), param_hint="ENV") from None


def _chosen_environments(
    project: Project, environments: tuple[str, ...], use_all: bool
) -> list[str]:
    if use_all:
        names = project.profiles.environments()
        if not names:
            raise click.UsageError(f"no environment profiles in {project.root / 'profiles'}")
        return names
    if not environments:
        raise click.UsageError("name at least one environment, or pass --all")
    for name in environments:
        _check_environment(project, name)
    return list(dict.fromkeys(environments))


def _build_all(
    project: Project, names: Iterable[str], environ: Mapping[str, str] | None
) -> tuple[list[RenderedEnvironment], bool]:
    built, failed = [], False
    for name in names:
        try:
            built.append(project.build(name, environ))
        except MantisRenderError as error:
            failed |= _report(error.problems)
    return built, failed


def _report(problems: Iterable[Problem]) -> bool:
    """Print problems to stderr, one per line; True when there was any."""
    found = False
    for problem in problems:
        click.echo(str(problem), err=True)
        found = True
    return found
