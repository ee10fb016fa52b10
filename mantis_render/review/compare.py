"""Compare rendered files with those on disk: which are stale, missing or extra; how they differ."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .masking import Masker

Status = Literal["stale", "missing", "extra"]


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
    expected: dict[str, str], on_disk: dict[str, str], prefix: str, masker: Masker
) -> list[str]:
    """A unified diff from disk (a/) to the render (b/), as difflib writes one, each line
    masked by what stands at its place (mantis_render.review.masking); each line ends in \\n."""
    lines: list[str] = []
    for path in sorted(set(expected) | set(on_disk)):
        before, after = on_disk.get(path), expected.get(path)
        if before == after:
            continue
        old = (before or "").splitlines(keepends=True)
        new = (after or "").splitlines(keepends=True)
        started = False
        for group in difflib.SequenceMatcher(None, old, new).get_grouped_opcodes(3):
            if not started:
                started = True
                lines.append(
                    masker.text(
                        f"--- a/{prefix}{path}\n" if before is not None else "--- /dev/null\n"
                    )
                )
                lines.append(
                    masker.text(
                        f"+++ b/{prefix}{path}\n" if after is not None else "+++ /dev/null\n"
                    )
                )
            first, last = group[0], group[-1]
            lines.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
            for tag, i1, i2, j1, j2 in group:
                for i in range(i1, i2):
                    # an old line the diff replaces stands where the new line of its rank is
                    paired = j1 + i - i1 if tag == "replace" and j1 + i - i1 < j2 else None
                    mark = " " if tag == "equal" else "-"
                    new_index = j1 + i - i1 if tag == "equal" else paired
                    lines.append(mark + _masked(masker, path, old[i], i, new_index))
                if tag in ("replace", "insert"):
                    lines += ["+" + _masked(masker, path, new[j], None, j) for j in range(j1, j2)]
    return lines


def _masked(masker: Masker, path: str, line: str, old: int | None, new: int | None) -> str:
    body = line.rstrip("\n")
    ending = "\n" if line.endswith("\n") else "\n\\ No newline at end of file\n"
    return masker.line(path, body, old, new) + ending


def _range(start: int, stop: int) -> str:
    """A hunk's range as unified diffs write it (1-based; an empty one at the line before)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"
