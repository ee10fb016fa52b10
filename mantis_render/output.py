"""Write an environment's files all at once, never leaving a half-written folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Files that hold resolved secrets are readable by their owner only.
PRIVATE_FILES = frozenset({".env"})


def write_environment(out_dir: Path, name: str, files: dict[str, str]) -> Path:
    """Replace ``out_dir/name`` with exactly ``files``; on failure the old folder stays as it was.

    The new folder is built beside the old one and swapped in by renames, so a reader sees either
    the old output or the new one.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.new-", dir=out_dir))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the folder itself holds nothing secret
        for relative, text in files.items():
            _write_file(staging, relative, text)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = None
    if target.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=out_dir))
        os.rename(target, previous / name)
    try:
        os.rename(staging, target)
    except BaseException:
        if previous is not None:
            os.rename(previous / name, target)
            shutil.rmtree(previous, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    return target


def _write_file(folder: Path, relative: str, text: str) -> None:
    path = folder / relative
    if folder.resolve() not in path.resolve().parents:
        raise ValueError(f"output path escapes its folder: {relative}")
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if relative in PRIVATE_FILES else 0o644
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(path, mode)  # the umask may have narrowed it
