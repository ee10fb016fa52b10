"""The mantis-render command line: parse arguments, call the core, print, choose the exit code.

Exit status: 0 success, 1 invalid input (every problem printed, one per line), 2 usage error.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click

from .errors import MantisRenderError, Problem, UnknownEnvironmentError
from .output import write_environment
from .project import DEFAULT_OUTPUT, Project, RenderedEnvironment

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
@click.pass_obj
def render(
    project: Project, environments: tuple[str, ...], render_all: bool, out: Path | None
) -> None:
    """Render ENV... (or --all) into OUT/ENV/.

    An environment with a problem writes nothing and keeps its previous output.
    """
    if render_all and environments:
        raise click.UsageError("give environment names or --all, not both")
    names = _chosen_environments(project, environments, render_all)
    out_dir = out if out is not None else project.root / DEFAULT_OUTPUT
    built, failed = _build_all(project, names)
    for environment in built:
        try:
            target = write_environment(out_dir, environment.name, environment.files)
        except OSError as error:
            where = error.filename or out_dir / environment.name
            _report([Problem(str(where), 0, "", f"cannot write: {error.strerror}")])
            failed = True
            continue
        click.echo(f"{environment.name}: wrote {len(environment.files)} files to {target}")
    if render_all:
        failed |= _report(project.profiles.misnamed_files())
    if failed:
        raise SystemExit(EXIT_INVALID)


@main.command()
@click.argument("environments", nargs=-1, metavar="[ENV]...")
@click.pass_obj
def validate(project: Project, environments: tuple[str, ...]) -> None:
    """Check ENV... (all when none given): schema, templates and output, writing nothing."""
    names = _chosen_environments(project, environments, not environments)
    built, failed = _build_all(project, names)
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
        try:
            project.profiles.check_environment(name)
        except UnknownEnvironmentError as error:
            raise click.BadParameter(str(error), param_hint="ENV") from None
    return list(dict.fromkeys(environments))


def _build_all(project: Project, names: Iterable[str]) -> tuple[list[RenderedEnvironment], bool]:
    built, failed = [], False
    for name in names:
        try:
            built.append(project.build(name))
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
