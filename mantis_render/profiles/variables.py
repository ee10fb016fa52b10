"""Turn a validated profile into its environment variables, in schema order."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ..catalogue import Setting
from ..secrets.references import (
    EnvReference,
    FileReference,
    SecretReference,
    StoreReference,
    parse_reference,
)
from ..yaml_source import KeyPath
from . import Profile
from .values import as_text as as_text
from .values import value_at as value_at

if TYPE_CHECKING:
    from .composed import Placeholder

ENVIRONMENT_VARIABLE = "ENVIRONMENT"

# Where a variable's value comes from: written in the profile, or fetched through a reference.
Source = Literal[
    "setting", "literal", "vault", "aws", "azure", "kubernetes", "env", "file", "composed"
]
COMPOSED_SECRET = "composed"  # the secret kind of a composed variable that reads a secret


class Variable(NamedTuple):  # a tuple: a large project has hundreds of thousands
    """One ``NAME=value``; ``path`` is None for a value derived from the profile's file name.

    A secret given by reference has no ``value`` until it is resolved. (Its description is the
    catalogue's: ``Catalogue.settings()``.)
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
        if self.secret_kind == COMPOSED_SECRET:
            return "composed"
        if isinstance(self.reference, StoreReference):
            return self.reference.store  # type: ignore[return-value]  # a key of STORE_KINDS
        if isinstance(self.reference, EnvReference):
            return "env"
        if isinstance(self.reference, FileReference):
            return "file"
        return "literal" if self.secret else "setting"


def environment_variables(profile: Profile) -> list[Variable]:
    """The profile's variables: ENVIRONMENT (its name) first, then the schema's, in its order,
    then the composed ones, as the profile declares them."""
    variables = [Variable(ENVIRONMENT_VARIABLE, profile.name)]
    settings = profile.catalogue.settings(profile.data)
    variables.extend(_variable(profile, setting) for setting in settings)
    if profile.data.get("composed"):
        variables = with_composed_values(profile, variables)
    return variables


def with_composed_values(profile: Profile, variables: list[Variable]) -> list[Variable]:
    """``variables`` with each composed variable (re)made from the others' current values: a
    secret part that is not resolved leaves it unresolved too."""
    from .composed import SECTION, compose, order, parse

    declared = profile.data.get(SECTION) or {}

    def is_composed(variable: Variable) -> bool:
        return variable.path is not None and variable.path[0] == SECTION

    plain = [variable for variable in variables if not is_composed(variable)]
    by_path = {variable.path: variable for variable in plain if variable.path}
    made: dict[str, Variable] = {}
    for name in order(declared):
        parts = parse(declared[name]["template"])
        values: dict[tuple[Any, ...], Any] = {}
        secret, complete = False, True
        for part in parts:
            if isinstance(part, str):
                continue
            if part.path[0] == SECTION:
                used = made[str(part.path[1])]
                secret |= used.secret
                value = used.value
            else:
                used = by_path[part.path]
                secret |= used.secret
                # A plain setting's raw value (a list stays a list for join); a secret's text.
                value = used.value if used.secret else value_at(profile.data, part.path)
            complete &= value is not None
            values[part.path] = value
        text = compose(parts, functools.partial(_value_of, values)) if complete else None
        made[name] = Variable(
            name, text, COMPOSED_SECRET if secret else None, (SECTION, name), None
        )
    if len(plain) == len(variables):  # made for the first time: after the schema's
        return plain + [made[name] for name in declared]
    return [
        made[str(variable.path[1])] if is_composed(variable) and variable.path else variable
        for variable in variables
    ]


def _variable(profile: Profile, setting: Setting) -> Variable:
    value = value_at(profile.data, setting.path)
    reference = parse_reference(value) if isinstance(value, dict) else None
    text = None if reference else as_text(value)
    return Variable(setting.env, text, setting.secret_kind, setting.path, reference)


def secret_variables(profile: Profile) -> list[Variable]:
    """The profile's secret variables only, as environment_variables gives them: the schema's
    fixed settings (a service's variables are never secret), without walking the services."""
    return [
        _variable(profile, setting)
        for setting in profile.catalogue.all_settings
        if setting.secret_kind and _present(profile.data, setting.path)
    ]


def _present(data: Any, path: KeyPath) -> bool:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def _value_of(values: dict[KeyPath, Any], placeholder: Placeholder) -> Any:
    return values[placeholder.path]
