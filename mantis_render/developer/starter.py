"""``mantis-render init``: a new project from a starter that validates and renders on its first run.

Two starters ship in the package: ``minimal`` (a small catalogue: a log level, a PostgreSQL
database, one service, and the generic templates) and ``mantis`` (the whole MANTIS project this
tool was built for). The minimal one is package data under ``starters/minimal``; it takes its
generic templates (.env, Kubernetes, TLS) from the MANTIS example, which the wheel carries under
``examples/mantis`` (copied from this repository's project folders when the wheel is built) and a
source checkout reads from the repository itself.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ..errors import MantisRenderError, Problem

STARTERS = ("minimal", "mantis")
PACKAGE = Path(__file__).resolve().parents[1]  # mantis_render/
MINIMAL = PACKAGE / "starters" / "minimal"
EXAMPLE_FOLDERS = ("profiles", "templates", "compose")
# The minimal starter's own compose override; every other template is the generic one.
OWN_TEMPLATES = ("docker-compose.override.yml.j2",)
PLACEHOLDER = "PROJECT"
DEV_PASSWORD = "DEVPASSWORD"
GITIGNORE = ".gitignore"
PRE_COMMIT = ".pre-commit-config.yaml"


class Written(NamedTuple):
    """What init did with one file: ``written``, ``extended`` (.gitignore) or ``kept``."""

    path: str
    outcome: str


def example_root() -> Path:
    """The MANTIS example: in the wheel, package data; in a source checkout, the repository."""
    packaged = PACKAGE / "examples" / "mantis"
    if (packaged / "profiles").is_dir():
        return packaged
    return PACKAGE.parent


def project_name(target: Path) -> str:
    """A project name from the folder's name: lowercase letters, digits and '-'."""
    name = re.sub(r"[^a-z0-9-]+", "-", target.resolve().name.lower()).strip("-")[:20].strip("-")
    return name if name and name[0].isalpha() else f"app-{name}".strip("-")[:20]


def starter_files(starter: str, name: str) -> dict[str, str]:
    """The files of a starter, relative path -> text (the project's name filled in)."""
    from ..secrets.provision import generate_secret

    example = example_root()
    if not (example / "templates" / "k8s").is_dir():
        message = (
            "this installation of mantis-render carries no example project (built without "
            "setup.py's build step?); install it from its wheel"
        )
        raise MantisRenderError([Problem(f"{PACKAGE}/", 0, "", message)])
    files: dict[str, str] = {}
    if starter == "mantis":
        for folder in EXAMPLE_FOLDERS:
            for path in _files_under(example / folder):
                if not path.name.endswith(".local.yaml"):
                    files[path.relative_to(example).as_posix()] = path.read_text(encoding="utf-8")
    else:
        for path in _files_under(example / "templates"):
            relative = path.relative_to(example).as_posix()
            if path.name not in OWN_TEMPLATES:
                files[relative] = path.read_text(encoding="utf-8")
        for folder in ("profiles", "templates"):
            for path in _files_under(MINIMAL / folder):
                text = path.read_text(encoding="utf-8").replace(PLACEHOLDER, name)
                text = text.replace(DEV_PASSWORD, generate_secret("database-password"))
                files[path.relative_to(MINIMAL).as_posix()] = text
    return dict(sorted(files.items()))


def _files_under(folder: Path) -> Iterator[Path]:
    return (path for path in sorted(folder.rglob("*")) if path.is_file())


def init_project(target: Path, starter: str) -> list[Written]:
    """Lay out a new project in ``target``; MantisRenderError, writing nothing, when any of its
    files is there already or one cannot be written (what was written is taken back).
    .gitignore gains the lines it lacks; an existing pre-commit configuration is kept (the
    command says which hook to add)."""
    files = starter_files(starter, project_name(target))
    there = [path for path in files if (target / path).exists() or (target / path).is_symlink()]
    if there:
        shown = ", ".join(there[:3]) + (f" and {len(there) - 3} more" if len(there) > 3 else "")
        message = f"holds a project already ({shown}); init writes only into a new project"
        raise MantisRenderError([Problem(f"{target}/", 0, "", message)])
    outcomes = dict.fromkeys(files, "written")
    ignored, outcomes[GITIGNORE] = _gitignore(target)
    if ignored is not None:
        files[GITIGNORE] = ignored
    if (target / PRE_COMMIT).exists():
        outcomes[PRE_COMMIT] = "kept"
    else:
        files[PRE_COMMIT] = (MINIMAL / "pre-commit-config.yaml").read_text(encoding="utf-8")
    _write_all(target, files)
    return [Written(path, outcome) for path, outcome in outcomes.items()]


def _write_all(target: Path, files: dict[str, str]) -> None:
    """Write every file, or, at the first that cannot be, none: the folders made and the files
    written are removed and a .gitignore that was there gets its text back."""
    from ..outputs.writing import write_file_atomically

    before = {p: (target / p).read_text(encoding="utf-8") for p in files if (target / p).is_file()}
    folders = {folder for path in files for folder in (target / path).parents}
    made = sorted((f for f in folders if not f.exists()), key=lambda f: len(f.parts), reverse=True)
    done: list[str] = []
    try:
        for path, text in files.items():
            write_file_atomically(target / path, text)
            done.append(path)
    except OSError as error:
        for path in done:
            with contextlib.suppress(OSError):
                if path in before:
                    write_file_atomically(target / path, before[path])
                else:
                    (target / path).unlink()
        for folder in made:  # the deepest first; each is empty once its files are gone
            with contextlib.suppress(OSError):
                folder.rmdir()
        reason = error.strerror or str(error)
        where = error.filename or target
        message = f"cannot be written: {reason} ({where}); nothing was written"
        raise MantisRenderError([Problem(f"{target}/", 0, "", message)]) from None


def _gitignore(target: Path) -> tuple[str | None, str]:
    """The .gitignore with the lines it lacks added (None when it lacks none), and what init
    does with it."""
    lines = (MINIMAL / "gitignore").read_text(encoding="utf-8").splitlines()
    path = target / GITIGNORE
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    have = set(current.splitlines())
    missing = [line for line in lines if line not in have]
    if not missing:
        return None, "kept"
    joined = current + ("\n" if current and not current.endswith("\n") else "")
    return joined + "\n".join(missing) + "\n", "extended" if current else "written"
