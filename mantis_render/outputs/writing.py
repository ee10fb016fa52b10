"""Write an environment's files all at once and only when they change; read them back.

An environment's folder is replaced as a whole: the new folder is built beside it, unchanged files
are hard-linked into it (so they keep their modification time), and the two are exchanged in one
atomic rename. A reader, or a process killed at any moment, sees the old folder or the new one,
never a mix. Nothing outside ``OUT/<env>/`` changes but the short-lived ``.<env>.*`` siblings.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from .render import PRIVATE_OUTPUTS

FILE_MODE, PRIVATE_MODE, FOLDER_MODE = 0o644, 0o600, 0o755


class Written(NamedTuple):
    """What a write did: the folder, the files changed or removed, and those kept as they were."""

    folder: Path
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]


def write_environment(
    out_dir: Path, name: str, files: dict[str, str], keep: Iterable[str] = ()
) -> Written:
    """Make ``out_dir/name`` hold exactly ``files`` (plus the ``keep`` files it already had).

    ``keep`` names files this render does not produce but that must survive it, such as a
    resolved .env when Vault is out of reach.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / name
    if target.is_symlink():
        # Written where the link points, the link kept: the folder is replaced beside its real
        # self, so nothing in out_dir is hard-linked to files outside it, and no hidden folder
        # is left holding the link.
        real = target.resolve()
        if not real.is_dir():
            reason = f"is a symlink to {os.readlink(target)}, which is not a folder"
            raise OSError(errno.ENOTDIR, reason, str(target))
        out_dir, target = real.parent, real
        name = real.name
    elif target.exists() and not target.is_dir():
        reason = "is a file, not a folder: move it aside (render replaces the folder whole)"
        raise OSError(errno.ENOTDIR, reason, str(target))
    _recover_interrupted(out_dir, name)
    on_disk = read_environment(out_dir, name, include_private=True)
    kept = tuple(path for path in keep if path not in files and path in on_disk)
    changed = tuple(
        path for path, text in files.items() if not _is_current(target, path, text, on_disk)
    )
    removed = tuple(sorted(set(on_disk) - set(files) - set(kept)))
    if target.is_dir() and not changed and not removed:
        return Written(target, (), (), kept)

    staging = Path(tempfile.mkdtemp(prefix=f".{name}.new-", dir=out_dir))
    try:
        staging.chmod(
            FOLDER_MODE
        )  # mkdtemp makes it private; the folder itself holds nothing secret
        for path, text in files.items():
            if path in changed:
                _write_file(staging, path, text)
            else:
                _link_or_copy(target / path, staging / path)
        for path in kept:
            _link_or_copy(target / path, staging / path)
        _swap_in(staging, target, out_dir, name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after an exchange it holds the old folder
    return Written(target, changed, removed, kept)


def read_environment(out_dir: Path, name: str, include_private: bool = False) -> dict[str, str]:
    """The files of ``out_dir/name`` as text, by path relative to it (private ones on request)."""
    folder = out_dir / name
    if not folder.is_dir():
        return {}
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and (include_private or relative not in PRIVATE_OUTPUTS):
            found[relative] = path.read_text(encoding="utf-8", errors="replace")
    return found


def _is_current(target: Path, path: str, text: str, on_disk: dict[str, str]) -> bool:
    if on_disk.get(path) != text:
        return False
    mode = (target / path).stat().st_mode & 0o777
    return mode == _mode_of(path)


def _mode_of(path: str) -> int:
    return PRIVATE_MODE if path in PRIVATE_OUTPUTS else FILE_MODE


def _write_file(folder: Path, relative: str, text: str) -> None:
    path = folder / relative
    if folder.resolve() not in path.resolve().parents:
        raise ValueError(f"output path escapes its folder: {relative}")
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_of(relative)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)  # the umask may have narrowed it


def _link_or_copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _swap_in(staging: Path, target: Path, out_dir: Path, name: str) -> None:
    if not target.exists():
        os.rename(staging, target)
    elif not _exchange(staging, target):
        # Without an atomic exchange: two renames; _recover_interrupted mends a crash in between.
        previous = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=out_dir))
        os.rename(target, previous / name)
        os.rename(staging, target)
        shutil.rmtree(previous, ignore_errors=True)
    _sync_folder(out_dir)


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes  # here: a render into a new folder never swaps, and ctypes is 1 ms to import

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_current_directory, rename_exchange = -100, 2
    if (
        renameat2(
            at_current_directory,
            os.fsencode(first),
            at_current_directory,
            os.fsencode(second),
            rename_exchange,
        )
        == 0
    ):
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _recover_interrupted(out_dir: Path, name: str) -> None:
    """Undo what a killed write left: restore a folder moved aside, drop half-built ones."""
    target = out_dir / name
    for aside in sorted(out_dir.glob(f".{name}.old-*")):
        if not target.exists() and (aside / name).is_dir():
            os.rename(aside / name, target)
        shutil.rmtree(aside, ignore_errors=True)
    for unfinished in out_dir.glob(f".{name}.new-*"):
        shutil.rmtree(unfinished, ignore_errors=True)


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_file_atomically(path: Path, text: str) -> bool:
    """Replace ``path`` with ``text`` by a rename, unless it holds it already; True if written."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return True
