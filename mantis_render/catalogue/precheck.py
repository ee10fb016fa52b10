"""A quick check of data against cerberus rules: True only where cerberus would find no error.

cerberus makes a child validator for each mapping it descends into: 0.3 ms for a service with
ten variables, a fifth of rendering 1,000 services; and importing it costs a tenth of rendering
the shipped profiles. Most profiles are valid, so the schema first checks a profile with a
predicate compiled here from the same rules (30 µs a service), and imports and runs cerberus,
which explains every problem, only when the predicate does not vouch for it.

The predicate is sound by construction: each rule it knows rejects at least what cerberus rejects
(a regex must match the whole text, where cerberus lets a trailing newline through). A rule it
does not know makes the compilation return None, so a change to the schema can make it vouch for
less, never for something cerberus refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sized
from typing import Any, NamedTuple

Predicate = Callable[[Any], bool]


class TypeDefinition(NamedTuple):
    """A type of the rules, as cerberus's TypeDefinition spells it (and converts from)."""

    name: str
    included_types: tuple[type, ...]
    excluded_types: tuple[type, ...]


# Rules that never reject a value: meta is documentation, and required is checked by the mapping.
_IGNORED = frozenset({"meta", "required", "type"})


def vouches(predicate: Predicate | None, value: Any) -> bool:
    """Whether ``predicate`` (from compile_rules) vouches for ``value``."""
    if predicate is None:
        return False
    try:
        return predicate(value)
    except TypeError:  # a comparison cerberus would skip: let cerberus decide
        return False


def compile_rules(
    rules: Mapping[str, Any],
    types: Mapping[str, Any],
    custom: Mapping[str, Predicate] | None = None,
) -> Predicate | None:
    """A predicate for one field's ``rules``; ``types`` is the validator's types_mapping, and
    ``custom`` the predicates of its ``check_with`` rules (each true where it adds no error).

    The type comes first, as in cerberus, so that the other rules see only values of that type.
    """
    type_check = _type_check(rules.get("type"), types)
    if type_check is None:
        return None
    checks = [type_check]
    for rule, constraint in rules.items():
        if rule not in _IGNORED:
            check = _compile_rule(rule, constraint, rules, types, custom or {})
            if check is None:
                return None
            checks.append(check)
    return checks[0] if len(checks) == 1 else lambda value: all(check(value) for check in checks)


def _type_check(names: str | list[str] | None, types: Mapping[str, Any]) -> Predicate | None:
    if names is None:
        return lambda value: value is not None  # cerberus refuses None unless nullable
    names = [names] if isinstance(names, str) else names
    if not names or any(name not in types for name in names):
        return None
    kinds = [(types[name].included_types, types[name].excluded_types) for name in names]
    return lambda value: any(
        isinstance(value, included) and not isinstance(value, excluded)
        for included, excluded in kinds
    )


def _compile_rule(
    rule: str,
    constraint: Any,
    rules: Mapping[str, Any],
    types: Mapping[str, Any],
    custom: Mapping[str, Predicate],
) -> Predicate | None:
    if rule == "min":
        return lambda value: not value < constraint
    if rule == "max":
        return lambda value: not value > constraint
    if rule == "minlength":
        return lambda value: not isinstance(value, Sized) or not len(value) < constraint
    if rule == "regex":
        pattern = re.compile(constraint)
        return lambda value: not isinstance(value, str) or pattern.fullmatch(value) is not None
    if rule == "allowed":
        allowed = frozenset(constraint)
        # As cerberus: each item of a list, or the value itself.
        return lambda value: (
            all(item in allowed for item in value)
            if isinstance(value, Iterable) and not isinstance(value, str)
            else value in allowed
        )
    if rule == "empty" and constraint is False:
        return lambda value: not isinstance(value, Sized) or len(value) > 0
    if rule == "check_with" and isinstance(constraint, str) and constraint in custom:
        return custom[constraint]
    if rule == "schema" and rules.get("type") == "list" and isinstance(constraint, Mapping):
        item = compile_rules(constraint, types, custom)
        if item is None:
            return None
        return lambda value: all(map(item, value))  # after the type check: a list
    if rule == "schema" and isinstance(constraint, Mapping):
        return _mapping_check(constraint, types, custom)
    if rule in ("keysrules", "valuesrules"):
        each = compile_rules(constraint, types, custom)
        if each is None:
            return None
        if rule == "keysrules":
            return lambda value: not isinstance(value, Mapping) or all(map(each, value))
        return lambda value: not isinstance(value, Mapping) or all(map(each, value.values()))
    return None


def _mapping_check(
    schema: Mapping[str, Any], types: Mapping[str, Any], custom: Mapping[str, Predicate]
) -> Predicate | None:
    """A mapping with no key outside ``schema``, every required key, and each value valid."""
    fields: dict[str, Predicate] = {}
    for key, rules in schema.items():
        check = compile_rules(rules, types, custom)
        if check is None:
            return None
        fields[key] = check
    required = frozenset(key for key, rules in schema.items() if rules.get("required"))

    def check_mapping(value: Any) -> bool:
        if not isinstance(value, Mapping) or not required <= value.keys():
            return False
        return all(key in fields and fields[key](item) for key, item in value.items())

    return check_mapping
