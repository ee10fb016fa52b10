"""The schema's problems, explained by cerberus: imported only for a profile that the predicate
compiled from the same rules does not vouch for (mantis_render.profiles.validation), so that a
valid profile costs neither cerberus's import (with its importlib.metadata lookup) nor its
validation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import Any, ClassVar

import cerberus
import cerberus.schema
from cerberus import errors as cerberus_errors

from ..catalogue import Catalogue
from ..catalogue.precheck import compile_rules, vouches
from ..catalogue.rules import CHECKS, TYPES
from ..errors import Problem, closest, quoted
from ..secrets.references import reference_problem
from ..yaml_source import KeyPath, format_key_path
from . import Profile, where_to_add


def cerberus_problems(profile: Profile, data: dict[str, Any], tier: str | None) -> list[Problem]:
    """Every schema problem of ``data`` (``profile``'s data less its unknown keys) for an
    environment of ``tier``."""
    checks = _validators(profile.catalogue, tier)
    # Profiles need no coercion or defaults; cerberus's normalization pass costs 6x the validation.
    errors = [] if checks.profile.validate(data, normalize=False) else checks.profile.errors
    section = profile.catalogue.services_section
    services = data.get(section) if section else None
    if isinstance(services, dict) and not checks.services_valid(services):
        errors += checks.services.errors
    return [_to_problem(error, profile) for error in errors]


class _ProfileValidator(cerberus.Validator):  # type: ignore[misc]
    types_mapping: ClassVar[dict[str, Any]] = {
        **cerberus.Validator.types_mapping,
        **{name: cerberus.TypeDefinition(*definition) for name, definition in TYPES.items()},
    }

    def _error(self, *args: Any) -> None:
        # cerberus sorts its whole error list, and its schema error tree's, at every error it
        # adds: quadratic in the number of problems (10,000 unknown keys took minutes).
        # validate_profile sorts the problems once; nothing reads the schema error tree.
        if len(args) != 1:
            super()._error(*args)  # builds the error, then comes back here with it
            return
        self._errors.extend(args[0])
        for error in args[0]:
            self.document_error_tree.add(error)
            self.error_handler.emit(error)

    def _check_with_secret(self, field: str, value: Any) -> None:
        # Which form a tier allows (literal or reference) is policy; the schema checks the form.
        if not CHECKS["secret"](value):
            self._error(field, str(reference_problem(value)))


class _LeafErrors(cerberus_errors.BaseErrorHandler):  # type: ignore[misc]
    """Hands back cerberus's errors as a flat list of leaf errors, each with its document path."""

    def __call__(self, errors: list[Any]) -> list[Any]:
        return list(_leaves(errors))


def _leaves(errors: list[Any]) -> Iterator[Any]:
    for error in errors:
        if error.is_group_error:
            yield from _leaves(error.child_errors)
        else:
            yield error


class _SchemaCheckedByTests(cerberus.schema.DefinitionSchema):  # type: ignore[misc]
    """A schema cerberus takes as valid. Checking these constant schemas against cerberus's own
    rules took 26 ms of every run, a tenth of rendering the shipped profiles; the test
    test_our_schemas_are_valid_cerberus_schemas checks them once, as cerberus would."""

    def validate(self, schema: Any = None) -> None:
        pass


def _validator(schema: dict[str, Any]) -> _ProfileValidator:
    validator = _ProfileValidator(error_handler=_LeafErrors)
    validator.schema = _SchemaCheckedByTests(validator, schema)
    return validator


def validated_schemas(catalogue: Catalogue, tier: str | None) -> dict[str, dict[str, Any]]:
    """The schemas cerberus checks (test_our_schemas_are_valid_cerberus_schemas checks them as
    cerberus would): a profile's, with its services checked by a validator of their own, run
    only when the predicate compiled from their rules does not vouch for them (see
    mantis_render.catalogue.precheck): cerberus takes 0.3 ms a service, the predicate 30 µs."""
    schema = catalogue.schema_for(tier)
    section = catalogue.services_section
    if section is None:
        return {"profile": schema, "services": {}}
    rules = schema[section]
    return {
        "profile": {
            **schema,
            section: {k: rules[k] for k in ("type", "required", "minlength") if k in rules},
        },
        "services": {section: rules},
    }


class _Validators:
    """The validators of one catalogue and tier, built once per run."""

    def __init__(self, catalogue: Catalogue, tier: str | None) -> None:
        schemas = validated_schemas(catalogue, tier)
        self.section = catalogue.services_section
        self.profile = _validator(schemas["profile"])
        self.services = _validator(schemas["services"])
        rules = schemas["services"].get(self.section or "")
        self.predicate = compile_rules(rules, TYPES, CHECKS) if rules else None

    def services_valid(self, services: dict[str, Any]) -> bool:
        """Valid by the predicate, or else by cerberus, whose errors then say why not."""
        if vouches(self.predicate, services):
            return True
        return bool(self.services.validate({self.section: services}, normalize=False))


@functools.lru_cache(maxsize=16)
def _validators(catalogue: Catalogue, tier: str | None) -> _Validators:
    return _Validators(catalogue, tier)


def _to_problem(error: Any, profile: Profile) -> Problem:
    path: KeyPath = tuple(error.document_path)
    if error.code == cerberus_errors.REQUIRED_FIELD.code:
        location = where_to_add(profile, path)
    else:
        location = profile.locations.get(path) or where_to_add(profile, path)
    message = _message(profile.catalogue, error, path)
    return Problem(location.file, location.line, format_key_path(path), message)


def _message(catalogue: Catalogue, error: Any, path: KeyPath) -> str:
    code, constraint = error.code, error.constraint
    rules = catalogue.rules_at(path)
    secret = "secret" in rules.get("meta", {})
    if code == cerberus_errors.UNKNOWN_FIELD.code:
        siblings = list(catalogue.rules_at(path[:-1]).get("schema", {}))
        close = closest(str(path[-1]), siblings)
        return "unknown key" + (f"; did you mean '{close}'?" if close else "")
    if code == cerberus_errors.REQUIRED_FIELD.code:
        return "required key is missing"
    if code == cerberus_errors.BAD_TYPE.code:
        if isinstance(error.value, float) and not math.isfinite(error.value):
            spelling = (
                ".nan" if math.isnan(error.value) else f"{'-' if error.value < 0 else ''}.inf"
            )
            return f"must be a finite number, not {spelling}"
        if secret:
            return "must be a text (a literal secret) or a secret reference like {vault: PATH, key: KEY}"  # noqa: E501
        hint = ""
        if constraint == "string" and isinstance(error.value, bool | int | float):
            hint = " (put it in quotes to keep it as text)"
        return f"must be of {constraint} type{hint}"
    if code == cerberus_errors.NOT_NULLABLE.code:
        return "must have a value"
    if code == cerberus_errors.EMPTY_NOT_ALLOWED.code:
        return "must not be empty"
    if code == cerberus_errors.MIN_VALUE.code:
        return f"must be at least {constraint}"
    if code == cerberus_errors.MAX_VALUE.code:
        return f"must be at most {constraint}"
    if code == cerberus_errors.MIN_LENGTH.code:
        unit = "character" if isinstance(error.value, str) else "item"
        return f"must hold at least {constraint} {unit}{'s' if constraint != 1 else ''}"
    if code in (cerberus_errors.UNALLOWED_VALUE.code, cerberus_errors.UNALLOWED_VALUES.code):
        got = "" if secret else f", not {quoted(error.value)}"
        return f"must be one of {', '.join(constraint)}{got}"
    if code == cerberus_errors.REGEX_MISMATCH.code:
        hint = rules.get("meta", {}).get("hint")
        return f"must be {hint}" if hint else f"must match the pattern {constraint}"
    template: str = cerberus_errors.BasicErrorHandler.messages[code]
    return template.format(
        *(error.info or ()), constraint=constraint, field=error.field, value="(hidden)"
    )
