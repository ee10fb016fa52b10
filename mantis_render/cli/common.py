"""What the commands share: choosing environments, building them, printing problems."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..layout import DEFAULT_OUTPUT, PROFILES_DIR, REPORT_FORMATS

if TYPE_CHECKING:
    from pathlib import Path

    from ..errors import Problem
    from ..profiles import ProfileSet
    from ..project import Project

EXIT_INVALID = 1
Command = TypeVar("Command", bound=Callable[..., Any])


def _non_empty_folder(
    context: click.Context, parameter: click.Parameter, value: str | None
) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("is empty; name a folder (or leave --out out)")
    return value


def out_option(command: Command) -> Command:
    return click.option(
        "--out",
        type=click.Path(file_okay=False),
        default=None,
        callback=_non_empty_folder,
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


VERBOSITY = "mantis_render.verbosity"  # in click's shared context meta: -1 quiet, 0, 1 verbose
REPORTED = "mantis_render.reported"  # the problem lines printed so far by this command


def verbosity() -> int:
    context = click.get_current_context(silent=True)
    return int(context.meta.get(VERBOSITY, 0)) if context else 0


def use_color(err: bool = False) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    stream = sys.stderr if err else sys.stdout
    return stream.isatty() and not os.environ.get("NO_COLOR")


def say(message: str, err: bool = False, level: int = 0, color: str | None = None) -> None:
    """Print an informational line: hidden by --quiet, or unless --verbose for level 1."""
    if verbosity() < level or verbosity() < 0:
        return
    if color and use_color(err):
        message = click.style(message, fg=color)
    click.echo(message, err=err)


def complete_environment(
    context: click.Context, parameter: click.Parameter, incomplete: str
) -> list[str]:
    """Shell completion: the environment names in the project's profiles/ folder."""
    from pathlib import Path

    from ..profiles import ProfileSet

    root = Path(context.find_root().params.get("root") or ".")
    return [
        name
        for name in ProfileSet(root / PROFILES_DIR).environments()
        if name.startswith(incomplete)
    ]


def open_project(root: Path, local: bool = False, at_revision: bool = False) -> Project:
    """The project at ``root``; imported here so that --help needs none of the core. With
    ``local``, each development environment's profiles/<env>.local.yaml is merged last (what the
    developer runs: exec, explain, doctor), never for what is committed or checked.
    ``at_revision``: ``root`` holds a git revision's files (mantis_render.review.revision)."""
    from ..cache import cache_folder
    from ..project import Project

    cache = cache_folder("templates")
    return Project(root, template_cache=cache, local=local, at_revision=at_revision)


def output_folder(project: Project, out: str | None) -> Path:
    from pathlib import Path

    return Path(out) if out is not None else project.root / DEFAULT_OUTPUT


def check_environment(project: Project, name: str) -> None:
    from ..errors import UnknownEnvironmentError

    try:
        project.profiles.check_environment(name)
    except UnknownEnvironmentError as error:
        raise click.BadParameter(str(error), param_hint="ENV") from None


def existing_environments(profiles: ProfileSet) -> list[str]:
    """Every environment with a profile; none is a usage error (most often a wrong --root)."""
    names = profiles.environments()
    if not names:
        raise click.UsageError(f"no environment profiles in {profiles.directory}")
    return names


every_environment_option = click.option(
    "--all",
    "every_environment",
    is_flag=True,
    help="Every environment in profiles/ (the default when none is named).",
)


def named_or_all(project: Project, environments: tuple[str, ...], every: bool) -> list[str]:
    """The named environments, or all of them: with --all, or when none is named."""
    if environments and every:
        raise click.UsageError("give environment names or --all, not both")
    return chosen_environments(project, environments, not environments)


def chosen_environments(
    project: Project, environments: tuple[str, ...], use_all: bool
) -> list[str]:
    if use_all:
        return existing_environments(project.profiles)
    if not environments:
        raise click.UsageError("name at least one environment, or pass --all")
    for name in environments:
        check_environment(project, name)
    return list(dict.fromkeys(environments))


def report(problems: Iterable[Problem]) -> bool:
    """Print problems to stderr, one per line (even with --quiet); True when there was any.

    A line is printed once a command: a mistake in a base profile is found in every environment
    that extends it, and is one thing to fix."""
    found = False
    color = use_color(err=True)
    context = click.get_current_context(silent=True)
    printed: set[str] = context.meta.setdefault(REPORTED, set()) if context else set()
    for problem in problems:
        found = True
        line = str(problem)
        if line in printed:
            continue
        printed.add(line)
        if color:
            line = click.style(line, fg="red" if problem.severity == "error" else "yellow")
        click.echo(line, err=True)
    return found


def exit_invalid_if(failed: bool) -> None:
    if failed:
        raise SystemExit(EXIT_INVALID)
