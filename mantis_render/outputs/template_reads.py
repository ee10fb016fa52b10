"""The settings a template names (``profile.grafana.admin_user``), found in its syntax tree, and
those the catalogue does not declare: a template that names a setting the catalogue lacks is
reported as that, at its line, not as Jinja2's "'dict object' has no attribute"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from jinja2 import nodes

from ..catalogue import Catalogue
from ..errors import closest
from ..yaml_source import KeyPath, format_key_path

PROFILE = "profile"  # the template context's name for the merged settings
_MAPPING_METHODS = frozenset({"get", "items", "keys", "values"})


class SettingRead(NamedTuple):
    line: int
    path: KeyPath


def setting_reads(tree: nodes.Template) -> Iterator[SettingRead]:
    """Each ``profile.a.b`` (or ``profile["a"]``) chain of constant names, at its line."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        path: list[Any] = []
        current: nodes.Node = node
        while isinstance(current, nodes.Getattr | nodes.Getitem):
            if isinstance(current, nodes.Getattr):
                path.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str):
                path.append(current.arg.value)
            else:
                path = []  # a dynamic part: what follows is not known here
                break
            current = current.node
        if path and isinstance(current, nodes.Name) and current.name == PROFILE:
            path.reverse()
            cut = next((i for i, part in enumerate(path) if part in _MAPPING_METHODS), len(path))
            if cut:
                yield SettingRead(node.lineno, tuple(path[:cut]))


def undeclared(catalogue: Catalogue, path: KeyPath) -> str | None:
    """Why ``path`` names no setting of the catalogue, or None."""
    rules: dict[str, Any] = {"type": "dict", "schema": catalogue.schema}
    for depth, part in enumerate(path):
        if "schema" in rules and rules.get("type") == "dict":
            fields = rules["schema"]
            if part not in fields:
                shown = format_key_path(path[: depth + 1])
                close = closest(str(part), [str(k) for k in fields])
                hint = f"; did you mean '{close}'?" if close else ""
                return f"names {shown}, which {catalogue.file} does not declare{hint}"
            rules = fields[part]
        else:
            return None  # a mapping of named entries (services, composed) or a value's own
    return None


_NO_ATTRIBUTE = re.compile(r"'dict object' has no attribute '([A-Za-z_][A-Za-z0-9_]*)'")


def missing_key(catalogue: Catalogue, message: str) -> str | None:
    """Jinja2's "no attribute" for a key no setting of the catalogue has, said as that."""
    match = _NO_ATTRIBUTE.fullmatch(message)
    if match is None:
        return None
    key = match.group(1)
    if any(key in path for path in catalogue.types):
        return None  # a setting the catalogue has: an optional one left out, or another mistake
    return f"reads {key}, which no setting of {catalogue.file} is named"
