"""A profile checked against its project's catalogue (mantis_render.catalogue): each setting's
type and range, unknown keys with a hint, and what no single setting's rules can see.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .catalogue import Catalogue, Setting
from .catalogue.builtin import TIERS
from .errors import Problem, closest, first_problems
from .precheck import Predicate, TypeDefinition, compile_rules, vouches
from .profiles import Location, Profile
from .secrets import STORE_KINDS, reference_problem
from .yaml_source import KeyPath, format_key_path

__all__ = ["TIERS", "validate_profile"]


def duplicate_variables(profile: Profile) -> list[Problem]:
    """Two settings that would write the same variable (a service or composed variable can
    clash)."""
    seen: dict[str, KeyPath] = {}
    problems = []
    composed = [
        Setting(("composed", name), name, "", None) for name in profile.data.get("composed") or {}
    ]
    for setting in itertools.chain(
        profile.catalogue.settings(profile.data), composed
    ):  # one at a time: 100,000s
        if setting.env in seen:
            location = profile.locations.get(setting.path) or Location(profile.file, 1)
            first = format_key_path(seen[setting.env])
            message = f"gives the variable {setting.env}, which {first} gives already"
            problems.append(
                Problem(location.file, location.line, format_key_path(setting.path), message)
            )
        seen.setdefault(setting.env, setting.path)
    return problems


def unconfigured_stores(profile: Profile) -> list[Problem]:
    """References to a kind of store that secrets.stores does not configure."""
    stores = profile.data["secrets"]["stores"]
    problems = []
    for path in profile.catalogue.secret_paths:
        value = value_at_path(profile.data, path)
        kind = next(
            (kind for kind in STORE_KINDS if isinstance(value, dict) and kind in value), None
        )
        if kind and kind not in stores:
            location = profile.locations.get(path) or Location(profile.file, 1)
            message = (
                f"reads from {STORE_KINDS[kind].product}, but secrets.stores has no '{kind}' "
                "store (configure it once in _base.yaml: its External Secrets store)"
            )
            problems.append(Problem(location.file, location.line, format_key_path(path), message))
    return problems


def value_at_path(data: Any, path: KeyPath) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _across_settings(profile: Profile) -> list[Problem]:
    """What no single setting's rules can see: clashing variables, stores not configured,
    composed variables that name what is not there."""
    return duplicate_variables(profile) + unconfigured_stores(profile) + composed_problems(profile)


def composed_problems(profile: Profile) -> list[Problem]:
    from .composed import check_templates

    composed = profile.data.get("composed") or {}
    if not composed:
        return []
    settings = profile.catalogue.settings(profile.data)
    secret_of = {setting.path: bool(setting.secret_kind) for setting in settings}
    problems = []
    for path, message in check_templates(composed, secret_of):
        location = profile.locations.get(path) or where_to_add(profile, path)
        problems.append(Problem(location.file, location.line, format_key_path(path), message))
    return problems


class _FiniteNumberType(type):
    def __instancecheck__(cls, value: Any) -> bool:
        return isinstance(value, int | float) and math.isfinite(value)


class FiniteNumber(metaclass=_FiniteNumberType):
    """isinstance() is true for an int or a float that is neither NaN nor infinite: YAML's
    `.nan` and `.inf` are floats, and no reader of the output (docker compose, kubectl) takes
    them where a number is expected."""


# The types the schema names, as cerberus's TypeDefinition spells them (included, excluded):
# cerberus counts True as an integer (bool subclasses int); a port of `true` is a mistake.
TYPES = {
    "string": TypeDefinition("string", (str,), ()),
    "integer": TypeDefinition("integer", (int,), (bool,)),
    "number": TypeDefinition("number", (FiniteNumber,), (bool,)),
    "boolean": TypeDefinition("boolean", (bool,), ()),
    "dict": TypeDefinition("dict", (Mapping,), ()),
    "list": TypeDefinition("list", (Sequence,), (str,)),
}


def _is_reference_or_text(value: Any) -> bool:
    return not isinstance(value, dict) or reference_problem(value) is None


# The schema's own checks (cerberus's check_with), for the predicate and the validator alike.
CHECKS: dict[str, Callable[[Any], bool]] = {"secret": _is_reference_or_text}


@functools.lru_cache(maxsize=16)
def root_rules(catalogue: Catalogue, tier: Any) -> dict[str, Any]:
    """The rules of a whole profile of ``tier``."""
    return {"type": "dict", "schema": catalogue.schema_for(tier)}


# A valid profile is vouched for by a predicate compiled from the rules (mantis_render.precheck):
# cerberus, its import and its 9 ms on the shipped profiles, only explain an invalid one.
@functools.lru_cache(maxsize=16)
def _predicate(catalogue: Catalogue, tier: Any) -> Predicate | None:
    return compile_rules(root_rules(catalogue, tier), TYPES, CHECKS)


def validate_profile(profile: Profile) -> list[Problem]:
    """Every way ``profile`` breaks the schema, one problem each, sorted by file and line (the
    first PROBLEM_LIMIT of them, and a count of the rest)."""
    # Unknown keys are found in one walk and taken out before cerberus sees the data: cerberus
    # would build an error object (and more) for each, and a file may hold a million of them.
    catalogue, tier = profile.catalogue, _tier_of(profile.data)
    unknown = list(_unknown_keys(profile.data, root_rules(catalogue, tier), ()))
    if not unknown and vouches(_predicate(catalogue, tier), profile.data):
        return _across_settings(profile)
    from .schema_problems import cerberus_problems

    data = _without(profile.data, unknown) if unknown else profile.data
    errors = cerberus_problems(profile, data, tier)
    if not errors and not unknown:
        return _across_settings(profile)
    found = (_unknown_key_problem(path, profile) for path in unknown)
    problems = first_problems([*errors, *found])
    # Suggestions only for the problems shown: difflib is slow, and a typo has few siblings.
    shown = {problem.key for problem in problems if problem.message == "unknown key"}
    paths = {key: path for path in unknown if (key := format_key_path(path)) in shown}
    return [_with_suggestion(catalogue, problem, paths.get(problem.key)) for problem in problems]


def _tier_of(data: Mapping[str, Any]) -> str | None:
    tier = data.get("tier")
    return tier if isinstance(tier, str) and tier in TIERS else None


def _unknown_keys(value: Any, rules: Mapping[str, Any], path: KeyPath) -> Iterator[KeyPath]:
    """The key paths of ``value`` that its cerberus ``rules`` do not name."""
    if isinstance(value, dict) and rules.get("type") == "dict":
        fields = rules.get("schema")
        if fields is not None:
            for key, item in value.items():
                if key in fields:
                    yield from _unknown_keys(item, fields[key], (*path, key))
                else:
                    yield (*path, key)
        elif "valuesrules" in rules:
            for key, item in value.items():
                yield from _unknown_keys(item, rules["valuesrules"], (*path, key))
    elif isinstance(value, list) and rules.get("type") == "list" and "schema" in rules:
        for index, item in enumerate(value):
            yield from _unknown_keys(item, rules["schema"], (*path, index))


def _without(data: Any, paths: list[KeyPath]) -> Any:
    """A copy of ``data`` without the keys at ``paths`` (copied only along those paths)."""
    copied: dict[KeyPath, Any] = {(): dict(data)}
    for path in paths:
        node = copied[()]
        for depth in range(1, len(path)):
            prefix = path[:depth]
            if prefix not in copied:
                inner = node[path[depth - 1]]
                copied[prefix] = dict(inner) if isinstance(inner, dict) else list(inner)
                node[path[depth - 1]] = copied[prefix]
            node = copied[prefix]
        del node[path[-1]]
    return copied[()]


# Settings of earlier versions, and where they are now.
_MOVED = {
    ("secrets", "vault_mount"): "secrets.stores.vault.mount",
    ("secrets", "store_kind"): "secrets.stores.vault.external_secrets.kind",
    ("secrets", "store_name"): "secrets.stores.vault.external_secrets.name",
}


def _unknown_key_problem(path: KeyPath, profile: Profile) -> Problem:
    location = profile.locations.get(path) or where_to_add(profile, path)
    message = "unknown key"
    if path in _MOVED:
        message = f"unknown key; it moved to {_MOVED[path]}"
    elif path[-1] == "<<":
        message = (
            "YAML 1.2 has no merge key '<<'; share settings with extends: in a profile, or "
            "repeat the keys (an alias *name can stand for a whole value)"
        )
    return Problem(location.file, location.line, format_key_path(path), message)


def _with_suggestion(catalogue: Catalogue, problem: Problem, path: KeyPath | None) -> Problem:
    if problem.message != "unknown key" or path is None:
        return problem
    siblings = list(catalogue.rules_at(path[:-1]).get("schema", {}))
    close = closest(str(path[-1]), siblings)
    return problem._replace(message=f"unknown key; did you mean '{close}'?") if close else problem


def where_to_add(profile: Profile, path: KeyPath) -> Location:
    """A missing key belongs in the environment's own file, under its nearest parent there; but
    a part of an entry a profile declares by name (a service, a composed variable) belongs with
    that entry, in the file that declares it (a composed variable of _base.yaml)."""
    own = profile.layers[-1]
    for length in range(len(path) - 1, 0, -1):
        parent = path[:length]
        if parent in own.lines:
            return Location(own.file, own.lines[parent])
        if profile.catalogue.declared_by_name(parent):
            for layer in reversed(profile.layers):
                if parent in layer.lines:
                    return Location(layer.file, layer.lines[parent])
    return Location(own.file, 1)
