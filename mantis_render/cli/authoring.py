"""docs, schema, new: for the people who write profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .common import (
    check_environment,
    complete_environment,
    exit_invalid_if,
    format_option,
    open_project,
    report,
    say,
)

if TYPE_CHECKING:
    from pathlib import Path


DOCS_FILE = "docs/variables.md"
CATALOGUE_DOCS_FILE = "docs/catalogue.md"
SCHEMA_FILES = {
    "profile.schema.json": False,  # a merged profile: every required key
    "profile-file.schema.json": True,  # one file, as an editor sees it
}


@click.command()
@click.argument("directory", metavar="[DIR]", required=False, type=click.Path(file_okay=False))
@click.option(
    "--example",
    type=click.Choice(["minimal", "mantis"]),
    default="minimal",
    show_default=True,
    help="minimal: a small catalogue, one database, one service; mantis: the whole MANTIS project.",
)
@click.pass_obj
def init(root: Path, directory: str | None, example: str) -> None:
    """Start a project in DIR (default: --root): a catalogue, profiles, templates, .gitignore lines
    and a pre-commit hook, that validates and renders on its first run.

    Nothing is written where a project is already; .gitignore only gains the lines it lacks.
    """
    from pathlib import Path

    from ..developer.starter import init_project
    from ..errors import MantisRenderError

    target = Path(directory) if directory is not None else root
    try:
        written = init_project(target, example)
    except MantisRenderError as error:
        exit_invalid_if(report(error.problems))
        return
    for item in written:
        if item.outcome == "kept" and item.path == ".pre-commit-config.yaml":
            say(f"{target / item.path}: kept; add the hook mantis-render-check (see docs)")
        else:
            verbose_or_summary = item.outcome != "written" or not item.path.startswith(
                ("profiles/", "templates/", "compose/")
            )
            if verbose_or_summary:
                say(f"{target / item.path}: {item.outcome}")
    files = [
        item for item in written if item.path.startswith(("profiles/", "templates/", "compose/"))
    ]
    _write_schemas(target, check_only=False)
    say(f"{target}: a new project, {len(files)} files; next: mantis-render render --all")


@click.command("import", short_help="Adopt a repository's env files as profiles.")
@click.argument("sources", metavar="ENV=FILE...", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite the catalogue and profiles already there.")
@format_option
@click.pass_obj
def import_command(
    root: Path, sources: tuple[str, ...], dry_run: bool, force: bool, output_format: str
) -> None:
    """Adopt a repository's env files: each FILE (like .env.staging) becomes the profile of ENV,
    and what they share _base.yaml, with a catalogue of every variable.

    \b
    Values are read as python-dotenv reads them; each line bash or docker compose reads
    otherwise, each key set twice, each placeholder, each literal secret of a staging or
    production file (imported as a Vault reference) is reported with its file and line.
    In a folder with no project yet, the templates are laid out as init lays them out.
    Nothing is overwritten without --force; running it twice writes the same files.
    \b
      mantis-render import development=.env.example staging=.env.staging \\
          production=.env.production
    """
    import json
    from pathlib import Path

    from ..adopt.importer import CATALOGUE, adopt, write_adoption
    from ..errors import MantisRenderError, Problem
    from ..profiles import ENVIRONMENT_NAME

    pairs: dict[str, Path] = {}
    display: dict[str, str] = {}
    for source in sources:
        environment, equals, file = source.partition("=")
        if not equals or not file or not ENVIRONMENT_NAME.fullmatch(environment):
            raise click.UsageError(f"{source!r}: give ENV=FILE, like staging=.env.staging")
        if environment in pairs:
            raise click.UsageError(f"{environment} is given twice")
        pairs[environment] = Path(file) if Path(file).is_absolute() else root / file
        display[environment] = file
    new_project = not (root / CATALOGUE).is_file()
    try:
        adoption = adopt(root, pairs, display, force)
    except MantisRenderError as error:
        if output_format == "json":  # JSON even when it fails
            problems = [str(problem) for problem in error.problems]
            click.echo(json.dumps({"problems": problems, "written": False}, indent=2))
        exit_invalid_if(report(error.problems))
        return
    if output_format == "json":
        document = {
            "findings": [item._asdict() for item in adoption.findings],
            "files": sorted(adoption.files),
            "kept": adoption.kept,
            "written": not dry_run and not adoption.kept,
        }
        click.echo(json.dumps(document, indent=2))
    else:
        for finding in adoption.findings:
            click.echo(str(finding))
    if dry_run:
        if output_format == "text":
            for path, text in adoption.files.items():
                click.echo(f"--- {path}\n{text}", nl=False)
        return
    if adoption.kept:
        message = (
            f"there already ({', '.join(adoption.kept[:3])}"
            + (f" and {len(adoption.kept) - 3} more" if len(adoption.kept) > 3 else "")
            + "); nothing written: import again with --force to overwrite"
        )
        exit_invalid_if(report([Problem(f"{root}/", 0, "", message)]))
    try:
        written = write_adoption(root, adoption, new_project)
    except MantisRenderError as error:
        exit_invalid_if(report(error.problems))
        return
    _write_schemas(root, check_only=False)  # the editor schemas the profiles name
    if output_format == "text":
        profiles = len(pairs) + 1
        more = len(written) - profiles - 1
        say(
            f"wrote {len(written)} files (the catalogue and {profiles} profiles under profiles/"
            + (f", {more} more" if more else "")
            + "); next: mantis-render render --all"
        )


@click.command()
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Exit 1 if the committed reference is stale; write nothing.",
)
@click.pass_obj
def docs(root: Path, check_only: bool) -> None:
    """Write docs/variables.md: every variable, its description, type, and value per environment;
    and docs/catalogue.md: every type and key the catalogue may use.

    Secrets show their reference, never their value.
    """
    from ..catalogue.reference import catalogue_reference
    from ..errors import MantisRenderError
    from ..policy import RULES
    from ..yaml_source import format_key_path

    project = open_project(root)
    try:
        text = project.variable_reference()
    except MantisRenderError as error:
        exit_invalid_if(report(error.problems))
        return
    _write_or_check(root / DOCS_FILE, text, check_only, "mantis-render docs")
    rules = [
        (rule.id, rule.description, [format_key_path(path) for path in rule.reads])
        for rule in RULES.values()
        if rule.reads
    ]
    reference = catalogue_reference(rules)
    _write_or_check(root / CATALOGUE_DOCS_FILE, reference, check_only, "mantis-render docs")


@click.command(name="schema")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Exit 1 if the committed schemas are stale; write nothing.",
)
@click.pass_obj
def schema_command(root: Path, check_only: bool) -> None:
    """Write the profile schema as JSON Schema (draft 2020-12) into schemas/, for editors.

    Profiles name it in their first line, so the YAML language server checks and completes them.
    """
    _write_schemas(root, check_only)


def _write_schemas(root: Path, check_only: bool) -> None:
    import json

    from ..catalogue.json_schema import profile_json_schema
    from ..errors import MantisRenderError

    try:
        catalogue = open_project(root).catalogue()
    except MantisRenderError as error:
        exit_invalid_if(report(error.problems))
        return
    for name, per_file in SCHEMA_FILES.items():
        document = profile_json_schema(catalogue, per_file)
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        _write_or_check(root / "schemas" / name, text, check_only, "mantis-render schema")


def _write_or_check(path: Path, text: str, check_only: bool, command: str) -> None:
    from ..errors import Problem
    from ..outputs.writing import write_file_atomically

    if check_only:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            exit_invalid_if(report([Problem(str(path), 0, "", f"stale; run: {command}")]))
        say(f"{path}: up to date")
        return
    say(f"{path}: {'written' if write_file_atomically(path, text) else 'up to date'}")


@click.command()
@click.argument("name", metavar="ENV")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="ENV",
    shell_complete=complete_environment,
    help="The environment to start from, like staging.",
)
@click.pass_obj
def new(root: Path, name: str, source: str) -> None:
    """Create profiles/ENV.yaml from another environment's profile, with ENV's own names.

    Every value naming the source environment (hosts, databases, buckets, consumer groups,
    mantis/<env>/... Vault paths) names ENV instead; the tier is kept. Nothing is overwritten.
    """
    from ..errors import MantisRenderError, Problem, quoted
    from ..profiles import ENVIRONMENT_NAME

    project = open_project(root)
    check_environment(project, source)
    if not ENVIRONMENT_NAME.fullmatch(name):
        raise click.BadParameter(
            f"{quoted(name)} is not an environment name: lowercase letters, digits and '-'",
            param_hint="ENV",
        )
    target = project.profiles.path_of(name)
    if target.exists():
        exit_invalid_if(
            report([Problem(str(target), 0, "", "exists already; choose another name")])
        )
    try:
        text = project.new_environment(name, source)
    except MantisRenderError as error:
        exit_invalid_if(report(error.problems))
        return
    target.write_text(text, encoding="utf-8")
    say(f"{name}: created {target} from {source}; next: mantis-render validate {name}")
