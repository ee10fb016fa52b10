"""exec: run a program with an environment's variables, nothing written."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from .common import (
    EXIT_INVALID,
    check_environment,
    complete_environment,
    format_option,
    open_project,
    report,
    use_color,
)

if TYPE_CHECKING:
    from pathlib import Path

# What a shell answers when it cannot run a command: not found, found but not executable.
EXIT_NOT_FOUND, EXIT_NOT_EXECUTABLE = 127, 126


@click.command(
    "exec",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("environment", metavar="ENV", shell_complete=complete_environment)
@click.option(
    "--service",
    metavar="NAME",
    default=None,
    help="Only what this service gets: the shared variables and its own.",
)
@click.argument(
    "command", metavar="[--] CMD [ARGS]...", nargs=-1, required=True, type=click.UNPROCESSED
)
@click.pass_obj
def exec_command(
    root: Path, environment: str, service: str | None, command: tuple[str, ...]
) -> None:
    """Run CMD with ENV's variables added to the environment, secrets resolved in memory.

    \b
    ENV is resolved exactly as render resolves it (every secret store, policy included);
    nothing is written to disk. mantis-render then becomes CMD: its signals and its exit
    status are CMD's. An unresolvable secret: every failure listed, CMD not started, exit 1;
    CMD not found: exit 127.
    \b
      mantis-render exec staging -- python -m app
      mantis-render exec staging -- docker compose -f compose/docker-compose.yml \\
          -f rendered/staging/docker-compose.override.yml up
    """
    from ..developer.launch import UnknownService
    from ..errors import MantisRenderError

    project = open_project(root, local=True)
    check_environment(project, environment)
    if not command[0]:  # as a shell answers "": no such program, before any secret is read
        click.echo("mantis-render: : command not found", err=True)
        raise SystemExit(EXIT_NOT_FOUND)
    try:
        values, inside = project.launch_environment(environment, os.environ, service)
    except UnknownService as error:
        raise click.UsageError(str(error)) from None
    except MantisRenderError as error:
        report(error.problems)
        raise SystemExit(EXIT_INVALID) from None
    # docker compose reads the variables from an in-memory copy of the .env (the override's
    # env_file is ${MANTIS_ENV_FILE:-.env}): the stack runs with no .env on disk.
    from ..developer.launch import dotenv_text, in_memory_file

    extra = {}
    for variable, text in (
        ("MANTIS_ENV_FILE", dotenv_text(values)),
        ("MANTIS_CONTAINERS_ENV_FILE", dotenv_text(inside) if inside else None),
    ):
        path = in_memory_file(text) if text is not None else None
        if path:
            extra[variable] = path
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], list(command), {**os.environ, **values, **extra})
    except FileNotFoundError:
        click.echo(f"mantis-render: {command[0]}: command not found", err=True)
        raise SystemExit(EXIT_NOT_FOUND) from None
    except PermissionError:
        click.echo(f"mantis-render: {command[0]}: permission denied", err=True)
        raise SystemExit(EXIT_NOT_EXECUTABLE) from None
    except OSError as error:
        click.echo(f"mantis-render: {command[0]}: {error.strerror}", err=True)
        raise SystemExit(EXIT_NOT_EXECUTABLE) from None
    except ValueError as error:  # a NUL byte in an argument: no program can be given it
        click.echo(f"mantis-render: {command[0]!r}: {error}", err=True)
        raise SystemExit(EXIT_NOT_FOUND) from None


@click.command("local")
@click.argument("environment", metavar="ENV", shell_complete=complete_environment)
@click.pass_obj
def local_command(root: Path, environment: str) -> None:
    """Create profiles/ENV.local.yaml: your own overrides of a development environment.

    Git-ignored and merged last; it changes your .env, exec and the compose override you
    start (rendered/ENV/docker-compose.local.yml), never the committed output.
    """
    from ..errors import MantisRenderError
    from ..profiles.local import create_local

    project = open_project(root)
    check_environment(project, environment)
    try:
        shown = create_local(project.profiles, environment)
    except MantisRenderError as error:
        report(error.problems)
        raise SystemExit(EXIT_INVALID) from None
    click.echo(f"{environment}: created {shown}; uncomment what differs on this machine")


@click.command("doctor")
@click.argument(
    "environment", metavar="[ENV]", default="development", shell_complete=complete_environment
)
@format_option
@click.pass_obj
def doctor_command(root: Path, environment: str, output_format: str) -> None:
    """Check what the environments guide's troubleshooting checks, one line each (ENV:
    development by default).

    \b
    The root .env (there, mode 0600, git-ignored and untracked, the current render of ENV);
    the host ports the compose override publishes (free, or who holds them); docker compose
    config (when installed); each store and service answering a TCP connect within 1 s; each
    secret store reachable with valid credentials (no secret is read); the committed output
    current. Exit status 1 when a check fails.
    """
    from ..commands.doctor import diagnose
    from ..reporters import REPORTER_BY_NAME

    project = open_project(root, local=True)
    check_environment(project, environment)
    checks = diagnose(project, environment, os.environ)
    text = REPORTER_BY_NAME[output_format].doctor(environment, checks, color=use_color())
    click.echo(text, nl=False, color=use_color())
    if any(check.status == "failed" for check in checks):
        raise SystemExit(EXIT_INVALID)
