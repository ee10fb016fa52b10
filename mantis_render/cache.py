"""The user's cache folder for mantis-render: things worth keeping between runs, never needed.

``$XDG_CACHE_HOME/mantis-render/<name>`` (``~/.cache`` by default), private to the user. Deleting
it is always safe; a cache that cannot be made or written only makes a run slower.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def cache_folder(name: str) -> Path | None:
    """The cache folder ``name``, made if needed; None if it cannot be made."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "mantis-render" / name
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def write_cached(path: Path, text: str) -> None:
    """Write a cache entry whole (a reader never sees half of it); a failure is ignored."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()
