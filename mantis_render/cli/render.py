"""render, validate, list, env-template."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

import click

from .common import (
    check_environment,
    chosen_environments,
    complete_environment,
    every_environment_option,
    existing_environments,
    exit_invalid_if,
    format_option,
    named_or_all,
    open_project,
    out_option,
    output_folder,
    report,
    say,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ..outputs.writing import Written
    from ..project import Project, RenderedEnvironment
    from ..reporters import ValidationResult


@click.command()
@click.argument("environments", nargs=-1, metavar="ENV...", shell_complete=complete_environment)
@click.option("--all", "render_all", is_flag=True, help="Render every environment in profiles/.")
@out_option
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
    root: Path,
    environments: tuple[str, ...],
    render_all: bool,
    out: str | None,
    no_resolve: bool,
    require_env: bool,
) -> None:
    """Render ENV... (or --all) into OUT/ENV/.

    Secret references are resolved into the .env only: HashiCorp Vault (VAULT_ADDR, and
    VAULT_TOKEN or AppRole), AWS Secrets Manager (the AWS_* settings), environment variables and
    files; Azure Key Vault and Kubernetes Secrets are read by External Secrets in the cluster,
    not here. Each store gets MANTIS_STORE_TIMEOUT seconds (3). The committable files never
    hold a secret value.
    Only changed files are rewritten; an environment with a problem writes nothing and keeps
    its previous output.
    """
    project = open_project(root)
    if render_all and environments:
        raise click.UsageError("give environment names or --all, not both")
    names = chosen_environments(project, environments, render_all)
    out_dir = output_folder(project, out)
    environ = None if no_resolve else os.environ
    # One environment at a time, written before the next is built: a large project's rendered
    # files are never all held at once.
    failed = False
    # The console script runs without the cyclic collector (see cli.run), and Jinja2's macros
    # tie each render's context, with every variable, into a cycle: it is freed before the next
    # environment is built. What lives on (modules, the project) is frozen, so that a collection
    # scans only what the last environment made; none follows the last one, the process ends.
    collecting = not gc.isenabled()
    if collecting:
        gc.freeze()
    for index, name in enumerate(names):
        failed |= not _render_environment(project, name, environ, out_dir, require_env)
        if collecting and index + 1 < len(names):
            gc.collect()
            gc.freeze()
    if render_all:
        failed |= report(project.profiles.misnamed_files())
    exit_invalid_if(failed)


def _render_environment(
    project: Project,
    name: str,
    environ: Mapping[str, str] | None,
    out_dir: Path,
    require_env: bool,
) -> bool:
    """Build and write one environment, printing what happened; False if anything failed."""
    from ..errors import MantisRenderError, Problem
    from ..outputs.render import CONTAINERS_ENV, DOTENV, LOCAL_OVERRIDE, PRIVATE_OUTPUTS
    from ..outputs.writing import write_environment

    try:
        environment = project.developer_build(name, environ)
    except MantisRenderError as error:
        report(error.problems)
        return False
    # A .env this run could not resolve is kept; docker-compose.local.yml is rendered whenever
    # there is a .local file, so one left from a removed .local file goes, and containers.env
    # is rendered whenever .env is and needs it, so one a resolved .env no longer needs goes.
    dropped = {LOCAL_OVERRIDE, CONTAINERS_ENV} if DOTENV in environment.files else {LOCAL_OVERRIDE}
    keep = sorted(PRIVATE_OUTPUTS - dropped)
    try:
        written = write_environment(out_dir, environment.name, environment.files, keep=keep)
    except OSError as error:
        where = error.filename or out_dir / environment.name
        report([Problem(str(where), 0, "", f"cannot write: {error.strerror}")])
        return False
    say(_summary(environment, written))
    for path in written.changed:
        say(f"  wrote {written.folder / path}", level=1)
    for path in written.removed:
        say(f"  removed {written.folder / path}", level=1)
    report(environment.policy.problems)  # warnings only: errors stop the build
    for note in _notes(environment, written):
        say(f"{environment.name}: note: {note}", err=True)
    if require_env and DOTENV not in environment.files:
        click.echo(
            f"{environment.name}: .env is required (--require-env) but was not written", err=True
        )
        return False
    return True


def _summary(environment: RenderedEnvironment, written: Written) -> str:
    if not written.changed and not written.removed:
        return f"{environment.name}: up to date in {written.folder}"
    count = len(written.changed)
    summary = (
        f"{environment.name}: wrote {count} file{'s' if count != 1 else ''} to {written.folder}"
    )
    return summary + (f", removed {', '.join(written.removed)}" if written.removed else "")


def _notes(environment: RenderedEnvironment, written: Written) -> list[str]:
    notes = list(environment.notes)
    if written.kept:
        notes.append(f"kept the previous {', '.join(written.kept)}; it may be out of date")
    return notes


@click.command()
@click.argument("environments", nargs=-1, metavar="[ENV]...", shell_complete=complete_environment)
@every_environment_option
@format_option
@click.pass_obj
def validate(
    root: Path, environments: tuple[str, ...], every_environment: bool, output_format: str
) -> None:
    """Check ENV... (all when none given): schema, policy, templates and output; writes nothing.

    Waived rules are listed with their reason. No secret store is contacted.
    """
    from ..errors import MantisRenderError

    project = open_project(root)
    from ..reporters import JSON_REPORTER, ValidationResult

    names = named_or_all(project, environments, every_environment)
    results: dict[str, ValidationResult] = {}
    for name in names:
        try:
            built = project.build(name)
            results[name] = ValidationResult(True, built.policy.problems, built.policy.waived)
        except MantisRenderError as error:
            results[name] = ValidationResult(False, error.problems, [])
    misnamed = project.profiles.misnamed_files() if not environments else []
    if output_format == "json":
        click.echo(JSON_REPORTER.validate(results, misnamed), nl=False)
    else:
        for name, result in results.items():
            report(result.problems)
            if result.valid:
                say(f"{name}: valid", color="green")
                for waived in result.waived:
                    say(str(waived))
        report(misnamed)
    exit_invalid_if(bool(misnamed) or not all(result.valid for result in results.values()))


@click.command(name="list")
@click.pass_obj
def list_environments(root: Path) -> None:
    """List the environments that have a profile."""
    from ..layout import PROFILES_DIR
    from ..profiles import ProfileSet

    profiles = ProfileSet(root / PROFILES_DIR)
    report(profiles.misnamed_files())  # first: they may be why no environment is found
    for name in existing_environments(profiles):
        click.echo(name)


@click.command(name="env-template")
@click.argument("environment", metavar="ENV", shell_complete=complete_environment)
@click.pass_obj
def env_template(root: Path, environment: str) -> None:
    """Print ENV's .env in the guide's .env.template form: every key, secrets as placeholders."""
    from ..errors import MantisRenderError

    project = open_project(root)
    check_environment(project, environment)
    try:
        click.echo(project.env_template(environment), nl=False)
    except MantisRenderError as error:
        exit_invalid_if(report(error.problems))
