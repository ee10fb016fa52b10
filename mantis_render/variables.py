"""Turn a validated profile into its environment variables, in schema order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .profiles import Profile
from .schema import settings
from .yaml_source import KeyPath

ENVIRONMENT_VARIABLE = "ENVIRONMENT"


@dataclass(frozen=True)
class Variable:
    """One ``NAME=value``; ``path`` is None for a value derived from the profile's file name."""

    name: str
    value: str
    description: str
    secret_kind: str | None = None
    path: KeyPath | None = None

    @property
    def secret(self) -> bool:
        return self.secret_kind is not None


def environment_variables(profile: Profile) -> list[Variable]:
    """The profile's variables: ENVIRONMENT (its name) first, then the schema's, in its order."""
    variables = [
        Variable(ENVIRONMENT_VARIABLE, profile.name, "Environment name (the profile's file name)")
    ]
    for setting in settings():
        value = _value_at(profile.data, setting.path)
        variables.append(
            Variable(
                setting.env, as_text(value), setting.description, setting.secret_kind, setting.path
            )
        )
    return variables


def as_text(value: Any) -> str:
    """The text a program reads for a profile value: lists comma-separated, booleans lowercase."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(as_text(item) for item in value)
    return str(value)


def _value_at(data: dict[str, Any], path: KeyPath) -> Any:
    value: Any = data
    for part in path:
        value = value[part]
    return value
