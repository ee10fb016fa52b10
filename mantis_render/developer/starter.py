"""``mantis-render init``: a new project from a starter that validates and renders on its first run.

Two starters ship in the package: ``minimal`` (a small catalogue: a log level, a PostgreSQL
database, one service, and the generic templates) and ``mantis`` (the whole MANTIS project this
tool was built for). The minimal one is package data under ``starters/minimal``; it takes its
generic templates (.env, Kubernetes, TLS) from the MANTIS example, which the wheel carries under
``examples/mantis`` (copied from this repository's project folders when the wheel is built) and a
source checkout reads from the repository itself.
"""

from __future__ import annotations

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
    files is there already. .gitignore gains the lines it lacks; an existing pre-commit
    configuration is kept (the command says which hook to add)."""
    from ..outputs.writing import write_file_atomically

    files = starter_files(starter, project_name(target))
    there = [path for path in files if (target / path).exists() or (target / path).is_symlink()]
    if there:
        shown = ", ".join(there[:3]) + (f" and {len(there) - 3} more" if len(there) > 3 else "")
        message = f"holds a project already ({shown}); init writes only into a new project"
        raise MantisRenderError([Problem(f"{target}/", 0, "", message)])
    written = []
    for path, text in files.items():
        write_file_atomically(target / path, text)
        written.append(Written(path, "written"))
    written.append(_gitignore(target))
    hook = (MINIMAL / "pre-commit-config.yaml").read_text(encoding="utf-8")
    if (target / PRE_COMMIT).exists():
        written.append(Written(PRE_COMMIT, "kept"))
    else:
        write_file_atomically(target / PRE_COMMIT, hook)
        written.append(Written(PRE_COMMIT, "written"))
    return written


def _gitignore(target: Path) -> Written:
    from ..outputs.writing import write_file_atomically

    lines = (MINIMAL / "gitignore").read_text(encoding="utf-8").splitlines()
    path = target / GITIGNORE
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    have = set(current.splitlines())
    missing = [line for line in lines if line not in have]
    if not missing:
        return Written(GITIGNORE, "kept")
    joined = current + ("\n" if current and not current.endswith("\n") else "")
    write_file_atomically(path, joined + "\n".join(missing) + "\n")
    return Written(GITIGNORE, "extended" if current else "written")
