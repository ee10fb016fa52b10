"""Write an environment's files all at once, never leaving a half-written folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .render import PRIVATE_OUTPUTS


@dataclass(frozen=True)
class Written:
    """Where an environment was written, and which previous files were kept as they were."""

    folder: Path
    kept: tuple[str, ...]


def write_environment(
    out_dir: Path, name: str, files: dict[str, str], keep: Iterable[str] = ()
) -> Written:
    """Replace ``out_dir/name`` with exactly ``files``; on failure the old folder stays as it was.

    Files named in ``keep`` that this render does not produce (a resolved .env, when Vault is
    out of reach) are carried over from the previous folder unchanged. The new folder is built
    beside the old one and swapped in by renames, so a reader sees the old output or the new.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.new-", dir=out_dir))
    kept = []
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the folder itself holds nothing secret
        for relative, text in files.items():
            _write_file(staging, relative, text)
        for relative in keep:
            if relative not in files and (target / relative).is_file():
                shutil.copy2(target / relative, staging / relative)
                kept.append(relative)
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
    return Written(target, tuple(kept))


def _write_file(folder: Path, relative: str, text: str) -> None:
    path = folder / relative
    if folder.resolve() not in path.resolve().parents:
        raise ValueError(f"output path escapes its folder: {relative}")
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if relative in PRIVATE_OUTPUTS else 0o644
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.chmod(path, mode)  # the umask may have narrowed it
