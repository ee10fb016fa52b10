"""A project as it was at a git revision: its files read from git objects as committed, into a
private temporary folder, never into the working tree, which nothing here touches.

Git is run as a program at this edge; the rest of mantis-render sees a folder like any other.
"""

from __future__ import annotations

import os
import subprocess
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
    """The project folder ``folder`` as it is at ``commit``, in a temporary folder.

    Read from the git objects themselves (ls-tree, then cat-file), not through ``git archive``:
    that honours .gitattributes (export-ignore hides committed files, export-subst rewrites
    them) and refuses symlinks that leave the tree. A symlink is written as committed; one that
    leaves the repository is left for the reader to report (a profile's, see ProfileSet's
    ``confine``), or skipped (what else would be read is not in the revision).
    """
    root = repository_root(folder)
    prefix = folder.resolve().relative_to(root.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    listed = _git(
        root,
        "ls-tree",
        "-r",
        "-z",
        "--full-tree",
        commit,
        "--",
        *(prefix + f for f in PROJECT_FOLDERS),
    )
    if listed.returncode != 0:
        raise RevisionError(f"cannot read {commit[:12]}: {listed.stderr.decode().strip()}")
    entries = []
    for record in listed.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        if kind == "blob":  # a submodule (commit) has no content here
            entries.append((mode, sha, raw_path.decode("utf-8", errors="surrogateescape")))
    contents = _blobs(root, [sha for _, sha, _ in entries])
    with tempfile.TemporaryDirectory(prefix="mantis-render-revision-") as scratch:
        base = Path(scratch)
        for mode, sha, path in entries:
            relative = path[len(prefix) :]
            _write_entry(base, relative, mode, contents[sha])
        yield base


def _blobs(root: Path, shas: list[str]) -> dict[str, bytes]:
    """The contents of the blobs ``shas``, read by one git cat-file --batch."""
    unique = list(dict.fromkeys(shas))
    if not unique:
        return {}
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "cat-file", "--batch"],
            input="".join(f"{sha}\n" for sha in unique).encode(),
            capture_output=True,
        )
    except FileNotFoundError:
        raise RevisionError("git is not installed; changes reads revisions with git") from None
    if result.returncode != 0:
        raise RevisionError(f"cannot read git objects: {result.stderr.decode().strip()}")
    found: dict[str, bytes] = {}
    output, position = result.stdout, 0
    for sha in unique:
        end = output.index(b"\n", position)
        header = output[position:end].split()
        size = int(header[2])
        found[sha] = output[end + 1 : end + 1 + size]
        position = end + 1 + size + 1  # the content, then a line feed
    return found


def _write_entry(base: Path, relative: str, mode: str, content: bytes) -> None:
    target = base / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "120000":  # a symlink; its blob is the path it points to
        link = os.fsdecode(content)
        inside = os.path.normpath(os.path.join(os.path.dirname(relative), link))
        leaves = os.path.isabs(link) or inside == ".." or inside.startswith("../")
        if leaves and not relative.startswith("profiles/"):
            return  # only a profile's link is reported as what it is (ProfileSet's confine)
        os.symlink(link, target)
        return
    target.write_bytes(content)
    if mode == "100755":
        target.chmod(0o755)
