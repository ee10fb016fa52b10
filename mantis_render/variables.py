"""Turn a validated profile into its environment variables, in schema order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .profiles import Profile
from .schema import Setting, settings
from .secrets import EnvReference, FileReference, SecretReference, StoreReference, parse_reference
from .yaml_source import KeyPath

ENVIRONMENT_VARIABLE = "ENVIRONMENT"

# Where a variable's value comes from: written in the profile, or fetched through a reference.
Source = Literal["setting", "literal", "vault", "aws", "azure", "kubernetes", "env", "file"]


@dataclass(frozen=True, slots=True)  # slots: a large project has hundreds of thousands
class Variable:
    """One ``NAME=value``; ``path`` is None for a value derived from the profile's file name.

    A secret given by reference has no ``value`` until it is resolved. (Its description is the
    schema's: ``settings()``.)
    """

    name: str
    value: str | None
    secret_kind: str | None = None
    path: KeyPath | None = None
    reference: SecretReference | None = None

    @property
    def secret(self) -> bool:
        return self.secret_kind is not None

    @property
    def source(self) -> Source:
        if isinstance(self.reference, StoreReference):
            return self.reference.store  # type: ignore[return-value]  # a key of STORE_KINDS
        if isinstance(self.reference, EnvReference):
            return "env"
        if isinstance(self.reference, FileReference):
            return "file"
        return "literal" if self.secret else "setting"


def environment_variables(profile: Profile) -> list[Variable]:
    """The profile's variables: ENVIRONMENT (its name) first, then the schema's, in its order."""
    variables = [Variable(ENVIRONMENT_VARIABLE, profile.name)]
    variables.extend(_variable(profile, setting) for setting in settings(profile.data))
    return variables


def _variable(profile: Profile, setting: Setting) -> Variable:
    value = value_at(profile.data, setting.path)
    reference = parse_reference(value) if isinstance(value, dict) else None
    text = None if reference else as_text(value)
    return Variable(setting.env, text, setting.secret_kind, setting.path, reference)


def secret_variables(profile: Profile) -> list[Variable]:
    """The profile's secret variables only, as environment_variables gives them: the schema's
    fixed settings (a service's variables are never secret), without walking the services."""
    return [_variable(profile, setting) for setting in settings() if setting.secret_kind]


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
