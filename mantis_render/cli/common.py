"""What the commands share: choosing environments, building them, printing problems."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import MantisRenderError, Problem, UnknownEnvironmentError
from ..layout import DEFAULT_OUTPUT, REPORT_FORMATS

if TYPE_CHECKING:
    from ..project import Project, RenderedEnvironment

EXIT_INVALID = 1
Command = TypeVar("Command", bound=Callable[..., Any])


def out_option(command: Command) -> Command:
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"Output folder [default: <root>/{DEFAULT_OUTPUT}]; each environment is in OUT/ENV/.",
    )(command)


def format_option(command: Command) -> Command:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(REPORT_FORMATS),
        default="text",
        show_default=True,
        help="Output for people (text) or for pipelines and editors (json).",
    )(command)


def open_project(root: Path) -> Project:
    """The project at ``root``; imported here so that --help needs none of the core."""
    from ..project import Project

    return Project(root)


def output_folder(project: Project, out: Path | None) -> Path:
    return out if out is not None else project.root / DEFAULT_OUTPUT


def check_environment(project: Project, name: str) -> None:
    try:
        project.profiles.check_environment(name)
    except UnknownEnvironmentError as error:
        raise click.BadParameter(str(error), param_hint="ENV") from None


def chosen_environments(
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
        check_environment(project, name)
    return list(dict.fromkeys(environments))


def build_all(
    project: Project, names: Iterable[str], environ: Mapping[str, str] | None
) -> tuple[list[RenderedEnvironment], bool]:
    built, failed = [], False
    for name in names:
        try:
            built.append(project.build(name, environ))
        except MantisRenderError as error:
            failed |= report(error.problems)
    return built, failed


def report(problems: Iterable[Problem]) -> bool:
    """Print problems to stderr, one per line; True when there was any."""
    found = False
    for problem in problems:
        click.echo(str(problem), err=True)
        found = True
    return found


def exit_invalid_if(failed: bool) -> None:
    if failed:
        raise SystemExit(EXIT_INVALID)
