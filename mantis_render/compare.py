"""Compare rendered files with those on disk: which are stale, missing or extra; how they differ."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Status = Literal["stale", "missing", "extra"]
MASK = "***"


@dataclass(frozen=True, order=True)
class FileStatus:
    path: str
    status: Status


def compare_files(
    expected: dict[str, str], on_disk: dict[str, str], prefix: str
) -> list[FileStatus]:
    """Every file that differs between what a render produces and what is on disk."""
    statuses = [
        FileStatus(prefix + path, "missing" if path not in on_disk else "stale")
        for path, text in expected.items()
        if on_disk.get(path) != text
    ]
    statuses += [FileStatus(prefix + path, "extra") for path in on_disk if path not in expected]
    return sorted(statuses)


def unified_diff(
    expected: dict[str, str], on_disk: dict[str, str], prefix: str, secret_names: Iterable[str]
) -> list[str]:
    """A unified diff from disk (a/) to the render (b/), secrets masked; each line ends in \\n."""
    mask = _secret_masker(secret_names)
    lines: list[str] = []
    for path in sorted(set(expected) | set(on_disk)):
        before, after = on_disk.get(path), expected.get(path)
        if before == after:
            continue
        hunks = difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=f"a/{prefix}{path}" if before is not None else "/dev/null",
            tofile=f"b/{prefix}{path}" if after is not None else "/dev/null",
        )
        lines.extend(_terminated(mask(line) for line in hunks))
    return lines


def _terminated(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        yield line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def _secret_masker(secret_names: Iterable[str]) -> Callable[[str], str]:
    """Hide the value of ``NAME=value`` (.env) and ``NAME: value`` (YAML) lines of a diff."""
    names = "|".join(re.escape(name) for name in sorted(secret_names))
    if not names:
        return lambda line: line
    # An empty value ('' or "" or nothing) stays visible: it shows that no secret is there.
    assignment = re.compile(rf"^([-+ ]\s*(?:{names})(?:=|:[ \t]+))(?!''$|\"\"$|$).+$")

    def mask(line: str) -> str:
        body = line.rstrip("\n")
        return assignment.sub(lambda match: match.group(1) + MASK, body) + line[len(body) :]

    return mask
