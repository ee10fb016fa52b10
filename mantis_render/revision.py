"""A project as it was at a git revision: its files read from git objects (``git archive``)
into a private temporary folder, never into the working tree, which nothing here touches.

Git is run as a program at this edge; the rest of mantis-render sees a folder like any other.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# What a render reads, and the committed output the review compares with.
PROJECT_FOLDERS = ("profiles", "templates", "compose", "rendered")


class RevisionError(Exception):
    """A revision that cannot be read; ``usage`` for a mistake on the command line (exit 2)."""

    def __init__(self, message: str, usage: bool = True) -> None:
        self.usage = usage
        super().__init__(message)


def _git(root: Path, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(root), *arguments], capture_output=True)
    except FileNotFoundError:
        raise RevisionError("git is not installed; changes reads revisions with git") from None


def repository_root(folder: Path) -> Path:
    result = _git(folder, "rev-parse", "--show-toplevel")
    if result.returncode != 0:
        raise RevisionError(f"{folder} is not in a git repository; changes compares git revisions")
    return Path(result.stdout.decode().strip())


def resolve(folder: Path, revision: str) -> str:
    """The commit ``revision`` names, or RevisionError saying why there is none."""
    repository_root(folder)
    result = _git(folder, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if result.returncode == 0:
        return result.stdout.decode().strip()
    shallow = _git(folder, "rev-parse", "--is-shallow-repository").stdout.decode().strip()
    if shallow == "true":
        raise RevisionError(
            f"unknown revision {revision!r}: this clone is shallow; fetch the history it needs "
            f"(git fetch --unshallow, or git fetch --deepen=50), then run again"
        )
    raise RevisionError(f"unknown revision {revision!r}")


def default_base(folder: Path) -> str:
    """Where a change starts: the merge base with the upstream branch, else with origin/HEAD,
    else the commit before HEAD."""
    repository_root(folder)
    for upstream in ("@{upstream}", "origin/HEAD"):
        result = _git(folder, "merge-base", "HEAD", upstream)
        if result.returncode == 0:
            return result.stdout.decode().strip()
    return resolve(folder, "HEAD~1")


@contextmanager
def project_at(folder: Path, commit: str) -> Iterator[Path]:
    """The project folder ``folder`` as it is at ``commit``, in a temporary folder."""
    root = repository_root(folder)
    prefix = folder.resolve().relative_to(root.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    listed = _git(root, "ls-tree", "--name-only", commit, prefix or ".")
    present = {Path(line).name for line in listed.stdout.decode().splitlines()}
    paths = [prefix + name for name in PROJECT_FOLDERS if name in present]
    with tempfile.TemporaryDirectory(prefix="mantis-render-revision-") as scratch:
        if paths:
            archive = _git(root, "archive", "--format=tar", commit, "--", *paths)
            if archive.returncode != 0:
                raise RevisionError(f"cannot read {commit[:12]}: {archive.stderr.decode().strip()}")
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
                    tar.extractall(scratch, filter="data")
                else:  # pragma: no cover - git's own archive of this repository
                    tar.extractall(scratch)
        yield Path(scratch) / prefix
