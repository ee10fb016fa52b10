"""A profile checked against its project's catalogue (mantis_render.catalogue): each setting's
type and range, unknown keys with a hint, and what no single setting's rules can see.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from ..catalogue import Catalogue, Setting
from ..catalogue.builtin import TIERS
from ..catalogue.precheck import Predicate, compile_rules, vouches
from ..catalogue.rules import CHECKS, TYPES
from ..errors import Problem, closest, first_problems
from ..secrets.references import STORE_KINDS
from ..yaml_source import KeyPath, format_key_path
from . import Location, Profile, where_to_add

__all__ = ["TIERS", "validate_profile"]

ENVIRONMENT = "ENVIRONMENT"  # the tool's own variable: the environment's name


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
    return [
        *duplicate_variables(profile),
        *unconfigured_stores(profile),
        *composed_problems(profile),
        *undeclared_composed(profile),
    ]


def undeclared_composed(profile: Profile) -> list[Problem]:
    """A composed variable a declared service receives, which the profile does not compose."""
    composed = profile.data.get("composed") or {}
    problems = []
    for service in profile.catalogue.services.values():
        for entry in service.receives:
            if entry.kind != "variable" or entry.source == ENVIRONMENT or entry.source in composed:
                continue
            location = where_to_add(profile, ("composed", str(entry.source)))
            close = closest(str(entry.source), list(composed))
            hint = f"; did you mean {close}?" if close else ""
            message = (
                f"the service {service.name} receives {entry.source} ({profile.catalogue.file}), "
                f"which neither a setting nor this profile's composed: gives{hint}"
            )
            problems.append(Problem(location.file, location.line, "composed", message))
    return problems


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


@functools.lru_cache(maxsize=16)
def root_rules(catalogue: Catalogue, tier: Any) -> dict[str, Any]:
    """The rules of a whole profile of ``tier``."""
    return {"type": "dict", "schema": catalogue.schema_for(tier)}


# A valid profile is vouched for by a predicate compiled from the rules
# (mantis_render.catalogue.precheck): cerberus, its import and its 9 ms on the shipped
# profiles, only explain an invalid one.
@functools.lru_cache(maxsize=16)
def _predicate(catalogue: Catalogue, tier: Any) -> Predicate | None:
    return compile_rules(root_rules(catalogue, tier), TYPES, CHECKS)


def validate_profile(profile: Profile) -> list[Problem]:
    """Every way ``profile`` breaks the schema, one problem each, sorted by file and line (the
    first PROBLEM_LIMIT of them, and a count of the rest)."""
    # Unknown keys are found in one walk and taken out before cerberus sees the data: cerberus
    # would build an error object (and more) for each, and a file may hold a million of them.
    catalogue = profile.catalogue
    # One set of rules (and one compiled predicate) unless the catalogue requires by tier.
    tier = _tier_of(profile.data) if catalogue.tiered else None
    unknown = list(_unknown_keys(profile.data, root_rules(catalogue, tier), ()))
    if not unknown and vouches(_predicate(catalogue, tier), profile.data):
        return _across_settings(profile)
    from .problems import cerberus_problems

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
