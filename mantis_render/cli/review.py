"""check, diff, explain: for pipelines and for reviewers of generated output."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from .common import (
    check_environment,
    complete_environment,
    every_environment_option,
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
    from pathlib import Path

    from ..review.compare import FileStatus


@click.command()
@click.argument("environments", nargs=-1, metavar="[ENV]...", shell_complete=complete_environment)
@every_environment_option
@out_option
@format_option
@click.pass_obj
def check(
    root: Path,
    environments: tuple[str, ...],
    every_environment: bool,
    out: str | None,
    output_format: str,
) -> None:
    """Exit 1 unless the committed output of ENV... (default: all) is what the profiles render.

    Lists each stale, missing or extra file. Renders in memory, compares the committable files
    (not .env), writes nothing and contacts no secret store.
    """
    from ..errors import MantisRenderError
    from ..reporters import REPORTER_BY_NAME
    from ..review.compare import FileStatus

    project = open_project(root)
    names = named_or_all(project, environments, every_environment)
    out_dir = output_folder(project, out)
    results: dict[str, list[FileStatus]] = {}
    failed = False
    for name in names:
        try:
            results[name] = project.check(name, out_dir)
        except MantisRenderError as error:
            failed |= report(error.problems)
    if not environments:
        for folder in project.unknown_output_folders(out_dir):
            results[folder] = [FileStatus(f"{out_dir / folder}/", "extra")]
        # A profile nobody can read is not silently skipped by the check CI relies on.
        failed |= report(project.profiles.misnamed_files())
    click.echo(REPORTER_BY_NAME[output_format].check(results), nl=False)
    exit_invalid_if(failed or any(results.values()))


@click.command()
@click.argument("environments", nargs=-1, metavar="[ENV]...", shell_complete=complete_environment)
@every_environment_option
@out_option
@format_option
@click.pass_obj
def verify(
    root: Path,
    environments: tuple[str, ...],
    every_environment: bool,
    out: str | None,
    output_format: str,
) -> None:
    """Check the rendered files of ENV... (all when none given) on disk, as their readers will.

    Kubernetes manifests against the Kubernetes schema (offline), the ExternalSecret against its
    CRD, the compose override against the compose specification, and each .env read back.
    """
    from ..reporters import JSON_REPORTER

    project = open_project(root)
    names = named_or_all(project, environments, every_environment)
    out_dir = output_folder(project, out)
    problems = [problem for name in names for problem in project.verify(name, out_dir)]
    if output_format == "json":
        click.echo(JSON_REPORTER.problems(problems), nl=False)
    else:
        report(problems)
        if not problems:
            say(f"{', '.join(names)}: verified", color="green")
    exit_invalid_if(bool(problems))


@click.command()
@click.argument("environments", nargs=-1, metavar="[ENV]...", shell_complete=complete_environment)
@every_environment_option
@out_option
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the diff [default: on a terminal, unless NO_COLOR is set].",
)
@click.pass_obj
def diff(
    root: Path,
    environments: tuple[str, ...],
    every_environment: bool,
    out: str | None,
    color: bool | None,
) -> None:
    """Show what `render ENV...` (default: all) would change in the committed files, as a diff.

    Secret values are masked. Exit status 1 when there is a difference, like `git diff --exit-code`.
    """
    from ..errors import MantisRenderError

    project = open_project(root)
    names = named_or_all(project, environments, every_environment)
    out_dir = output_folder(project, out)
    if color is None:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    failed = different = False
    for name in names:
        try:
            lines = project.diff(name, out_dir)
        except MantisRenderError as error:
            failed |= report(error.problems)
            continue
        different |= bool(lines)
        for line in lines:
            click.echo(_coloured(line) if color else line, nl=False, color=color)
    exit_invalid_if(failed or different)


def _coloured(line: str) -> str:
    if line.startswith(("+++", "---")):
        return click.style(line, bold=True)
    if line.startswith("@@"):
        return click.style(line, fg="cyan")
    if line.startswith("+"):
        return click.style(line, fg="green")
    if line.startswith("-"):
        return click.style(line, fg="red")
    return line


@click.command()
@click.argument("environment", metavar="ENV", shell_complete=complete_environment)
@click.argument("variable", metavar="VAR")
@format_option
@click.pass_obj
def explain(root: Path, environment: str, variable: str, output_format: str) -> None:
    """Explain VAR of ENV: its value, the line that set it, what it overrode, where it lands.

    VAR is a variable (DATABASE_HOST) or a setting (database.host). Secrets show their reference,
    never their value.
    """
    from ..errors import MantisRenderError
    from ..reporters import REPORTER_BY_NAME
    from ..review.explain import UnknownVariable

    project = open_project(root, local=True)  # what the developer runs, their .local included
    check_environment(project, environment)
    try:
        explanation = project.explain(environment, variable)
    except UnknownVariable as error:
        raise click.BadParameter(str(error), param_hint="VAR") from None
    except MantisRenderError as error:
        if output_format == "json":  # a document even when it fails: the problems
            from ..reporters import JSON_REPORTER

            click.echo(JSON_REPORTER.problems(error.problems), nl=False)
        exit_invalid_if(report(error.problems))
        return
    click.echo(REPORTER_BY_NAME[output_format].explain(explanation), nl=False)


@click.command()
@click.argument("environments", nargs=-1, metavar="[ENV]...", shell_complete=complete_environment)
@click.option(
    "--base",
    "base_revision",
    metavar="REV",
    default=None,
    help="Revision before the change [default: the merge base with the upstream branch, "
    "else origin/HEAD, else HEAD~1].",
)
@click.option(
    "--head",
    "head_revision",
    metavar="REV",
    default=None,
    help="Revision after the change [default: the working tree, uncommitted edits included].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="For people, for a pull-request comment (markdown), or for bots (json).",
)
@click.option(
    "--fail-on",
    type=click.Choice(["policy"]),
    default=None,
    help="Exit 1 when the change introduces an error-level policy finding, or a profile that "
    "does not build at head (to gate on it).",
)
@click.pass_obj
def changes(
    root: Path,
    environments: tuple[str, ...],
    base_revision: str | None,
    head_revision: str | None,
    output_format: str,
    fail_on: str | None,
) -> None:
    """What a change does to every environment, between two git revisions: variables added,
    changed and removed (secrets by reference only), what rolls, template-only diffs.

    Reads both revisions from git objects; touches nothing and contacts no secret store.
    Exit 0 whatever changed (a report), unless --fail-on policy finds a new policy error.
    """
    from contextlib import ExitStack

    from ..commands.changes import review
    from ..errors import UnknownEnvironmentError
    from ..reporters import CHANGES_REPORTERS
    from ..review.revision import RevisionError, default_base, project_at, resolve

    for option, given in (("--base", base_revision), ("--head", head_revision)):
        if given is not None and not given.strip():
            raise click.UsageError(f"{option} is empty: name a revision, or leave {option} out")
    try:
        with ExitStack() as stack:
            head_commit = resolve(root, head_revision) if head_revision else None
            base_commit = resolve(root, base_revision) if base_revision else default_base(root)
            base = open_project(
                stack.enter_context(project_at(root, base_commit)), at_revision=True
            )
            if head_commit is None:
                head, head_label = open_project(root), "the working tree"
            else:
                head_root = stack.enter_context(project_at(root, head_commit))
                head = open_project(head_root, at_revision=True)
                head_label = str(head_revision)
            base_label = base_revision or base_commit[:12]
            result = review(base, head, environments, base_label, head_label)
    except UnknownEnvironmentError as error:
        raise click.BadParameter(str(error), param_hint="ENV") from None
    except RevisionError as error:
        if error.usage:
            raise click.UsageError(str(error)) from None
        click.echo(str(error), err=True)
        raise SystemExit(1) from None
    click.echo(CHANGES_REPORTERS[output_format].changes(result), nl=False)
    exit_invalid_if(fail_on == "policy" and result.fails_policy_gate())
