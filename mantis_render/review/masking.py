"""Secret values kept out of review output (diff, changes), whatever a template looks like.

A value is masked by what it is, not by how a template spells its line:

- **known values**: every literal secret of the profiles compared (development's), the composed
  secrets made from them, and the certificate's files, in each spelling an output gives them
  (as they are, YAML-escaped, .env-quoted, URL-encoded, JSON-escaped, each line of a multi-line
  one);
- **places**: the committable files rendered once more with a unique marker in place of each
  secret say which lines hold one, and how they are spelled (their shape). In a diff, a line
  at such a place is masked where the marker stood (or whole, past its indentation, when it
  has another shape); so is an old line the diff pairs with such a line, and any line of a
  known shape. This covers values no profile holds any longer: the old side of ``diff`` is
  the committed files.

Over-masking is the safe failure: a short secret masks each place its text occurs.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..outputs.filters import UnrepresentableValue, quote_dotenv, quote_yaml
from ..profiles import Profile

if TYPE_CHECKING:
    from ..profiles.variables import Variable

MASK = "***"
_MARKER = "mantisRenderSecret{:05d}q"
_MARKERS = re.compile(r"mantisRenderSecret\d{5}q")


def spellings(value: str) -> set[str]:
    """The texts ``value`` may appear as in a rendered file."""
    found = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]}
    found |= {
        quote(value, safe=""),
        quote(value, safe="/"),
        quote(value, safe="").replace("%20", "+"),
    }
    for quoting in (quote_yaml, quote_dotenv):
        with contextlib.suppress(UnrepresentableValue):  # a value .env refuses is not in one
            found.add(quoting(value)[1:-1])
    for line in value.splitlines():  # a multi-line value written as it is, a line at a time
        if len(line.strip()) >= 4:
            found.add(line.strip())
    return {text for text in found if text}


def secret_values(variables: Iterable[Variable]) -> list[str]:
    """The values of the secret ``variables`` that are known (literal, or resolved)."""
    return [v.value for v in variables if v.secret and v.value]


def marked_profile(profile: Profile) -> Profile:
    """``profile`` with each literal secret (variables and files) replaced by a unique marker;
    references stay as they are (no value of theirs is in the files compared)."""
    data = copy.deepcopy(profile.data)
    paths = profile.catalogue.secret_paths
    for index, path in enumerate(paths):
        parent: Any = data
        for part in path[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and isinstance(parent.get(path[-1]), str):
            parent[path[-1]] = _MARKER.format(index)
    return profile._replace(data=data)


Shape = re.Pattern[str]


def shape_of(line: str) -> Shape | None:
    """The pattern of a marked line: its literal text, a group where each marker stood; None
    for a line without a marker."""
    if not _MARKERS.search(line):
        return None
    return re.compile("(.+?)".join(re.escape(piece) for piece in _MARKERS.split(line)))


def secret_lines(files: Mapping[str, str]) -> dict[str, dict[int, Shape]]:
    """For each marked file, the 0-based lines that hold a secret, and their shapes: the same
    lines hold one in the real render (a value is one line where a marker is)."""
    found: dict[str, dict[int, Shape]] = {}
    for path, text in files.items():
        for index, line in enumerate(text.splitlines()):
            shape = shape_of(line)
            if shape is not None:
                found.setdefault(path, {})[index] = shape
    return found


class Masker:
    """Hides secrets in review output: known values anywhere; and in a diff, each line that
    stands where a secret does in either side's marked render, and each line of the shape of
    one (with some literal text around it: a bare line matches everything)."""

    def __init__(
        self,
        names: Iterable[str] = (),
        values: Iterable[str] = (),
        new: Mapping[str, Mapping[int, Shape]] | None = None,
        old: Mapping[str, Mapping[int, Shape]] | None = None,
    ) -> None:
        names_pattern = "|".join(re.escape(name) for name in sorted(set(names)))
        # ``NAME=value`` (.env) and ``NAME: value`` (YAML); an empty value stays visible: it
        # shows that no secret is there.
        self._assignment = (
            re.compile(rf"^(\s*(?:{names_pattern})(?:=|:[ \t]+))(?!''$|\"\"$|$).+$")
            if names_pattern
            else None
        )
        texts = sorted({t for value in values for t in spellings(value)}, key=len, reverse=True)
        self._known = re.compile("|".join(re.escape(text) for text in texts)) if texts else None
        self._new = new or {}
        self._old = old or {}
        shapes: dict[str, Shape] = {}
        for side in (self._new, self._old):
            for lines in side.values():
                for shape in lines.values():
                    if len(_MARKERS.sub("", shape.pattern).replace("(.+?)", "").strip()) >= 3:
                        shapes.setdefault(shape.pattern, shape)
        self._shapes = list(shapes.values())

    def text(self, text: str) -> str:
        """Any text (a diff's header, a report's line): known values hidden."""
        return self._known.sub(MASK, text) if self._known is not None else text

    def line(self, path: str, body: str, old: int | None, new: int | None) -> str:
        """A line of file ``path`` (no diff prefix, no line feed), at 0-based line ``old`` of
        the old side and/or ``new`` of the new (None where it is not on that side)."""
        placed = [
            side[path][index]
            for side, index in ((self._new, new), (self._old, old))
            if index is not None and index in side.get(path, {})
        ]
        for shape in placed:
            body = _masked_shape(shape, body, whole=True)
        if self._assignment is not None:
            body = self._assignment.sub(lambda match: match.group(1) + MASK, body)
        body = self.text(body)
        for shape in self._shapes:
            body = _masked_shape(shape, body)
        return body


def _masked_shape(shape: Shape, body: str, whole: bool = False) -> str:
    """``body`` with the groups of ``shape`` masked; with ``whole``, a line that does not have
    the shape (the template changed, or a value took several lines) is masked after its
    indentation: it stands where a secret is."""
    match = shape.fullmatch(body)
    if match is None:
        if not whole:
            return body
        indent = body[: len(body) - len(body.lstrip())]
        return indent + MASK if body.strip() else body
    pieces, end = [], 0
    for group in range(1, (shape.groups or 0) + 1):
        pieces += [body[end : match.start(group)], MASK]
        end = match.end(group)
    return "".join([*pieces, body[end:]])
