"""A value of a profile's data by its key path, and the text a program reads for it."""

from __future__ import annotations

from typing import Any

from ..yaml_source import KeyPath


def as_text(value: Any) -> str:
    """The text a program reads for a profile value: lists comma-separated, booleans lowercase."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(as_text(item) for item in value)
    return str(value)


def value_at(data: Any, path: KeyPath) -> Any:
    """The value at a key path of nested profile data."""
    value: Any = data
    for part in path:
        value = value[part]
    return value
