"""The services a catalogue declares: what each one reaches, and the variables it reads under
the names it reads them.

In the catalogue, beside ``type: services``::

    services:
      feature_extraction:
        description: Extracts features from preprocessed readings
        uses: [broker.servers]                # settings, sections or variables, by name
        variables:
          INPUT_TOPIC: {from: broker.topics.preprocessed}   # a setting under another name
          SERVER_PORT: {from: port}                         # the service's own port
          CONSUMER_GROUP: {type: name, description: Its consumer group}   # its own value

``uses`` gives a setting under its own variable's name (a section: each of its settings); an
upper-case entry names a variable (``ENVIRONMENT``, a composed variable). ``from:`` gives the same
under the name the service reads. An own variable takes its value from each profile
(``services.<name>.variables.<NAME>``); it is never a secret: a secret is a setting of a section,
with one place in the secret store, given to each service that needs it by ``uses`` or ``from:``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from ..errors import closest, quoted
from ..yaml_source import KeyPath
from . import Receives, ServiceDeclaration

SERVICE_KEYS = ("description", "uses", "variables")
SERVICE_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")
VARIABLE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,127}")
# The types an own variable may have: plain values (a secret is a section's setting).
OWN_TYPES = (
    "text",
    "name",
    "host",
    "port",
    "url",
    "integer",
    "count",
    "number",
    "flag",
    "enumeration",
    "list",
    "duration",
)
OWN_KEYS = ("type", "description", "required", "hint")
PORT = "port"  # from: port, the service's own port

Report = Callable[[KeyPath, str], None]


def variable_settings(schema: Mapping[str, Any], prefix: KeyPath = ()) -> Iterator[KeyPath]:
    """Every setting of ``schema`` that becomes a variable, in order, and every section."""
    for key, rules in schema.items():
        meta = rules.get("meta", {})
        path = (*prefix, key)
        if "env" in meta:
            yield path
        elif rules.get("type") == "dict" and "schema" in rules and not meta.get("services"):
            yield path
            yield from variable_settings(rules["schema"], path)


# What ``paths`` holds for a setting declared with a mistake (reported where it is declared).
_BROKEN: dict[str, Any] = {"meta": {}}


def compile_services(
    raw: Any,
    where: KeyPath,
    schema: Mapping[str, Any],
    variables: Mapping[str, KeyPath],
    report: Report,
    own_rules: Callable[[KeyPath, str, Mapping[str, Any]], dict[str, Any] | None],
    broken: Collection[KeyPath] = (),
) -> tuple[dict[str, ServiceDeclaration], dict[str, dict[str, Any]]]:
    """The declarations, and the rules of each service's own variables. ``schema``: the
    catalogue's compiled sections; ``variables``: each variable a setting gives, by name (the
    tool's own with an empty path); ``own_rules`` compiles an own variable's entry;
    ``broken``: settings declared with a mistake already reported, which naming is no other."""
    if not isinstance(raw, dict) or not raw:
        report(where, "must be a mapping of the project's services, by name")
        return {}, {}
    paths: dict[KeyPath, Any] = {
        path: _rules_at(schema, path) for path in variable_settings(schema)
    }
    paths |= dict.fromkeys(broken, _BROKEN)
    declarations: dict[str, ServiceDeclaration] = {}
    rules: dict[str, dict[str, Any]] = {}
    for name, entry in raw.items():
        at = (*where, name)
        if not isinstance(name, str) or not SERVICE_NAME.fullmatch(name):
            report(at, f"{quoted(name)} is not a service name: lowercase letters, digits and '_'")
            continue
        if not isinstance(entry, dict):
            report(at, "must be a mapping: description, uses, variables")
            continue
        for key in entry:
            if key not in SERVICE_KEYS:
                close = closest(str(key), SERVICE_KEYS)
                report((*at, key), "unknown key" + (f"; did you mean '{close}'?" if close else ""))
        description = entry.get("description")
        if not isinstance(description, str) or not description.strip() or "\n" in description:
            report(at, "needs a description (one line, for docs/variables.md)")
            description = ""
        receives: list[Receives] = []
        uses = entry.get("uses", [])
        if not isinstance(uses, list):
            report((*at, "uses"), "must be a list of settings, sections or variables")
            uses = []
        for index, used in enumerate(uses):
            receives += _used((*at, "uses", index), used, paths, variables, report)
        own: dict[str, Any] = {}
        declared = entry.get("variables", {})
        if not isinstance(declared, dict):
            report((*at, "variables"), "must be a mapping of variables, by the name it reads")
            declared = {}
        for variable, spec in declared.items():
            place = (*at, "variables", variable)
            if not isinstance(variable, str) or not VARIABLE_NAME.fullmatch(variable):
                report(place, "must be a variable name: A-Z, digits and '_', from a letter")
                continue
            if isinstance(spec, dict) and "from" in spec:
                receives += _alias(place, variable, spec, paths, variables, report)
                continue
            compiled = own_rules(place, variable, spec) if isinstance(spec, dict) else None
            if not isinstance(spec, dict):
                report(place, "must be {from: SETTING} or an own variable: {type, description}")
            elif compiled is not None:
                own[variable] = compiled
                receives.append(Receives(variable, "own", ()))
        seen: dict[str, int] = {}
        for entry_ in receives:
            seen[entry_.name] = seen.get(entry_.name, 0) + 1
        for twice in (n for n, count in seen.items() if count > 1):
            report(at, f"receives {twice} twice; give each variable once")
        declarations[name] = ServiceDeclaration(name, description, tuple(receives))
        rules[name] = own
    return declarations, rules


def _used(
    where: KeyPath,
    used: Any,
    paths: Mapping[KeyPath, dict[str, Any]],
    variables: Mapping[str, KeyPath],
    report: Report,
) -> list[Receives]:
    if not isinstance(used, str) or not used:
        report(where, "must name a setting (database.host), a section (broker) or a variable")
        return []
    if VARIABLE_NAME.fullmatch(used):
        return [_by_variable(used, variables)]
    path = tuple(used.split("."))
    rules = paths.get(path)
    if _broken(path, paths):
        return []
    if rules is None:
        _unknown_setting(where, used, paths, report)
        return []
    if "env" in rules.get("meta", {}):
        return [Receives(rules["meta"]["env"], "setting", path)]
    inside = [p for p in paths if p[: len(path)] == path and "env" in paths[p].get("meta", {})]
    if not inside:
        report(where, f"{used} gives no variable")
    return [Receives(paths[p]["meta"]["env"], "setting", p) for p in inside]


def _alias(
    where: KeyPath,
    name: str,
    spec: Mapping[str, Any],
    paths: Mapping[KeyPath, dict[str, Any]],
    variables: Mapping[str, KeyPath],
    report: Report,
) -> list[Receives]:
    extra = [key for key in spec if key not in ("from", "description")]
    if extra:
        report((*where, extra[0]), "unknown key: a variable given from a setting takes only from:")
    source = spec["from"]
    if not isinstance(source, str) or not source:
        report((*where, "from"), "must name a setting (database.user), port, or a variable")
        return []
    if source == PORT:
        return [Receives(name, "port", ())]
    if VARIABLE_NAME.fullmatch(source):
        return [_by_variable(source, variables)._replace(name=name)]
    path = tuple(source.split("."))
    rules = paths.get(path)
    if _broken(path, paths):
        return []
    if rules is None or "env" not in rules.get("meta", {}):
        if rules is not None:
            report((*where, "from"), f"{source} is a section; name one of its settings")
        else:
            _unknown_setting((*where, "from"), source, paths, report)
        return []
    return [Receives(name, "setting", path)]


def _broken(path: KeyPath, paths: Mapping[KeyPath, Any]) -> bool:
    """Whether ``path``, or a section holding it, was declared with a mistake."""
    return any(paths.get(path[:end]) is _BROKEN for end in range(1, len(path) + 1))


def _by_variable(name: str, variables: Mapping[str, KeyPath]) -> Receives:
    """A variable by name: a setting's (as that setting), the tool's own, or a composed one
    (checked against each profile's composed variables when it is validated)."""
    path = variables.get(name)
    if path:
        return Receives(name, "setting", path)
    return Receives(name, "variable", name)


def _unknown_setting(
    where: KeyPath, used: str, paths: Mapping[KeyPath, Any], report: Report
) -> None:
    known = [".".join(map(str, p)) for p in paths]
    close = closest(used, known)
    hint = f"; did you mean '{close}'?" if close else ""
    report(where, f"names {used}, which the catalogue does not declare{hint}")


def _rules_at(schema: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
    rules: dict[str, Any] = {"schema": schema}
    for part in path:
        rules = rules["schema"][part]
    return rules
