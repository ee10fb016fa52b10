"""Read ``profiles/_catalogue.yaml``: check every entry as a profile is checked, then compile it.

The file::

    title: Shop variables            # the heading of docs/variables.md
    settings:                        # in order: the order of the variables in every output
      verbosity: {type: enumeration, values: [quiet, loud], variable: VERBOSITY,
                  description: How much it says}
      database:
        type: section
        description: The database
        compose: {service: db, port: 5432, protocol: postgresql}
        settings:
          host: {type: host, variable: DATABASE_HOST, description: Database host}
    policy: [production-debug-off]   # the guide's rules that read named settings

A mistake is a Problem naming the catalogue's file, line and key, with a hint for a typo; a valid
catalogue's compiled form is cached by content (mantis_render.cache), so a run reads one JSON
document instead of checking the YAML again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..cache import cache_folder, write_cached
from ..errors import Problem, ProfileError, closest, quoted
from ..yaml_source import KeyPath, YamlProblems, format_key_path, parse_yaml
from . import Catalogue, Receives, ServiceDeclaration
from .builtin import (
    COMPOSED_DESCRIPTION,
    RESERVED,
    TIERS,
    composed_rules,
    leading_sections,
    services_rules,
)
from .services import OWN_KEYS, OWN_TYPES, compile_services
from .types import (
    ACCEPTS_KEYS,
    BUILT_IN_SECTIONS,
    COMMON_KEYS,
    SECRET_FILE_KINDS,
    SECRET_KINDS,
    TYPES,
    valid_pattern,
)

TOP_KEYS = ("project", "title", "settings", "policy")
# The project's name starts its Kubernetes names (<project>-<env>, <project>-config): a DNS label.
PROJECT_NAME = re.compile(r"[a-z](?:[a-z0-9-]{0,18}[a-z0-9])?")
KEY_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
VARIABLE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,127}")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
COMPOSE_KEYS = ("service", "port", "host_listener", "protocol", "for_services", "wait")
PROTOCOLS = ("postgresql", "redis")
# The settings of its section each protocol logs in with (mantis_render.commands.doctor).
LOGIN_SETTINGS = {"postgresql": ("user", "database", "password"), "redis": ("password",)}
# A variable the tool writes itself (the environment's name).
TOOL_VARIABLES = ("ENVIRONMENT",)
DEFAULT_TITLE = "Variables"


def load_catalogue(path: Path, shown: str) -> Catalogue:
    """The compiled catalogue at ``path`` (``shown`` as the user sees it), or ProfileError with
    every mistake in it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError(
            [
                Problem(
                    shown,
                    0,
                    "",
                    "no catalogue: every setting of the profiles is declared here "
                    "(mantis-render init writes one)",
                )
            ]
        ) from None
    except OSError as error:
        raise ProfileError([Problem(shown, 0, "", f"cannot be read: {error.strerror}")]) from None
    key = hashlib.sha256(raw + b"\0" + _compiler_stamp().encode()).hexdigest()
    cached = _cached(key)
    if cached is not None:
        return _from_document(shown, cached)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError([Problem(shown, 0, "", "is not UTF-8 text")]) from None
    try:
        parsed = parse_yaml(text, shown)
    except YamlProblems as error:
        raise ProfileError(error.problems) from None
    compiler = _Compiler(shown, parsed.lines)
    document = compiler.compile(parsed.data)
    if compiler.problems:
        raise ProfileError(sorted(compiler.problems))
    folder = cache_folder("catalogues")
    if folder is not None:
        write_cached(folder / key, json.dumps(document))
    return _from_document(shown, document)


def catalogue_line(path: Path, shown: str, key_path: KeyPath) -> int:
    """The line of ``key_path`` in the catalogue (read again: for a problem only)."""
    try:
        return parse_yaml(path.read_text(encoding="utf-8"), shown).lines.get(key_path, 1)
    except (OSError, UnicodeDecodeError, YamlProblems):
        return 1


def _cached(key: str) -> dict[str, Any] | None:
    folder = cache_folder("catalogues")
    if folder is None:
        return None
    try:
        document: dict[str, Any] = json.loads((folder / key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document


@functools.cache
def _compiler_stamp() -> str:
    """Size and modification time of the code that compiles a catalogue: a changed compiler
    makes every cached catalogue stale."""
    here = Path(__file__).resolve().parent
    stamps = []
    for path in [*sorted(here.glob("*.py")), here.parent / "secrets" / "references.py"]:
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(stamps)


def _from_document(shown: str, document: Mapping[str, Any]) -> Catalogue:
    def paths(rows: list[list[Any]]) -> dict[KeyPath, Any]:
        return {tuple(path): value for path, value in rows}

    schema = {**leading_sections(), **document["schema"]}
    replicas = document.get("replicas")
    services = {
        name: ServiceDeclaration(
            name,
            declared["description"],
            tuple(
                Receives(variable, kind, tuple(source) if isinstance(source, list) else source)
                for variable, kind, source in declared["receives"]
            ),
        )
        for name, declared in document.get("services", {}).items()
    }
    return Catalogue(
        shown,
        document["project"],
        document["title"],
        schema,
        paths(document["types"]),
        paths(document["tiered"]),
        tuple(document["policy"]),
        tuple(replicas) if replicas else None,
        services,
    )


class _Compiler:
    """Checks a parsed catalogue and compiles it; every mistake goes to ``problems``."""

    def __init__(self, shown: str, lines: Mapping[KeyPath, int]) -> None:
        self.shown = shown
        self.lines = lines
        self.problems: list[Problem] = []
        self.types: list[list[Any]] = []
        self.tiered: list[list[Any]] = []
        self.variables: dict[str, KeyPath] = dict.fromkeys(TOOL_VARIABLES, ())
        self.replicas: str | None = None
        self.declarations: tuple[KeyPath, Any, str, bool] | None = None
        self.services: dict[str, ServiceDeclaration] = {}
        # Settings declared with a mistake (already reported): what names them is not wrong too.
        self.broken: set[KeyPath] = set()

    def problem(self, where: KeyPath, message: str, key: KeyPath | None = None) -> None:
        """A problem at the line of ``where`` in the file, named by the setting's ``key``."""
        line = self.lines.get(where)
        probe = where
        while line is None and probe:
            probe = probe[:-1]
            line = self.lines.get(probe)
        shown_key = format_key_path(key if key is not None else _setting_path(where))
        self.problems.append(Problem(self.shown, line or 1, shown_key, message))

    def compile(self, data: Any) -> dict[str, Any]:
        document: dict[str, Any] = {"project": "", "title": DEFAULT_TITLE, "schema": {}}
        document |= {"types": [], "tiered": []}
        document["policy"] = []
        if not isinstance(data, dict):
            self.problem((), "a catalogue is a mapping with a settings: section")
            return document
        for key in data:
            if key not in TOP_KEYS:
                self._unknown((key,), key, TOP_KEYS)
        project = data.get("project")
        if not isinstance(project, str) or not PROJECT_NAME.fullmatch(project):
            self.problem(
                ("project",),
                "needs project: the project's name, which starts its Kubernetes names "
                "(lowercase letters, digits and '-', at most 20)",
                ("project",),
            )
        else:
            document["project"] = project
        title = data.get("title", DEFAULT_TITLE)
        if not isinstance(title, str) or not title.strip() or "\n" in title:
            self.problem(("title",), "must be a one-line text", ("title",))
        else:
            document["title"] = title
        settings = data.get("settings")
        if not isinstance(settings, dict) or not settings:
            self.problem(
                ("settings",), "must be a mapping of the project's settings", ("settings",)
            )
            settings = {}
        for key, entry in settings.items():
            where: KeyPath = ("settings", key)
            if key in RESERVED:
                self.problem(where, f"{key} is the tool's own section; name the setting otherwise")
                continue
            rules = self._entry(where, (key,), key, entry, top=True)
            if rules is not None:
                document["schema"][key] = rules
        policy = data.get("policy", [])
        if not isinstance(policy, list) or not all(isinstance(i, str) for i in policy):
            self.problem(("policy",), "must be a list of rule ids", ("policy",))
        else:
            document["policy"] = policy
        self._check_replicas(document["schema"])
        if self.declarations is not None:
            self._declare_services(document["schema"])
        document["services"] = {
            name: {"description": declaration.description, "receives": declaration.receives}
            for name, declaration in self.services.items()
        }
        document["types"], document["tiered"] = self.types, self.tiered
        document["replicas"] = self.replicas.split(".") if self.replicas else None
        return document

    def _declare_services(self, schema: dict[str, Any]) -> None:
        assert self.declarations is not None
        where, raw, description, required = self.declarations
        self.services, own = compile_services(
            raw,
            (*where, "services"),
            schema,
            self.variables,
            self.problem,
            self._own_variable,
            self.broken,
        )
        schema["services"] = services_rules(description, required, own)

    def _own_variable(
        self, where: KeyPath, variable: str, entry: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The rules of a service's own variable: a type of the library that is no secret."""
        name = entry.get("type")
        if name not in OWN_TYPES:
            if name in TYPES:
                why = (
                    "a service's own variable is never a secret: declare the secret in a "
                    "section and give it with from:"
                    if name in ("secret", "secret-file")
                    else f"a {name} is no variable of a service"
                )
                self.problem((*where, "type"), why)
            else:
                close = closest(str(name), OWN_TYPES)
                listed = f" (one of: {', '.join(OWN_TYPES)})"
                hint = f"; did you mean '{close}'?" if close else listed
                self.problem((*where, "type"), f"unknown type {quoted(name)}{hint}")
            return None
        kind = TYPES[name]
        if not self._type_options(where, name, entry, OWN_KEYS):
            return None
        description = entry.get("description")
        if not isinstance(description, str) or not description.strip():
            self.problem(where, "needs a description (one line, for docs/variables.md)")
            return None
        required = entry.get("required", True)
        if not isinstance(required, bool):
            self.problem((*where, "required"), "must be true or false")
            required = True
        self._options(where, name, entry)
        body = kind.rules(entry)
        meta: dict[str, Any] = {"description": description, "own": variable}
        hint = entry.get("hint", kind.hint)
        if hint:
            meta["hint"] = hint
        return {"type": body.pop("type"), "required": required, "meta": meta, **body}

    def _type_options(
        self, where: KeyPath, name: str, entry: Mapping[str, Any], common: Any
    ) -> bool:
        """Report the keys ``entry`` may not have beside ``common``; False when it lacks an
        option its type requires."""
        kind = TYPES[name]
        known = [*common, *(option.key for option in kind.options)]
        for option in entry:
            if option not in known:
                self._unknown((*where, option), option, known)
        for option in kind.required_options:
            if option not in entry:
                self.problem(where, f"a {name} needs {option}")
                return False
        return True

    def _unknown(self, where: KeyPath, key: Any, known: Any, what: str = "key") -> None:
        close = closest(str(key), [str(k) for k in known])
        hint = f"; did you mean '{close}'?" if close else ""
        self.problem(where, f"unknown {what}{hint}")

    def _entry(
        self, where: KeyPath, path: KeyPath, key: Any, entry: Any, top: bool = False
    ) -> dict[str, Any] | None:
        rules = self._entry_rules(where, path, key, entry, top)
        if rules is None:
            self.broken.add(path)
        return rules

    def _entry_rules(
        self, where: KeyPath, path: KeyPath, key: Any, entry: Any, top: bool
    ) -> dict[str, Any] | None:
        if not isinstance(key, str) or not KEY_NAME.fullmatch(key):
            self.problem(
                where, f"{quoted(key)} is not a setting name: lowercase letters, digits and '_'"
            )
            return None
        if not isinstance(entry, dict):
            self.problem(where, "must be a mapping with a type and a description")
            return None
        name = entry.get("type")
        if name is None:
            self.problem(where, "has no type (one of: " + ", ".join(TYPES) + ")")
            return None
        if name not in TYPES:
            close = closest(str(name), TYPES)
            hint = f"; did you mean '{close}'?" if close else " (one of: " + ", ".join(TYPES) + ")"
            self.problem((*where, "type"), f"unknown type {quoted(name)}{hint}")
            return None
        kind = TYPES[name]
        if not self._type_options(where, name, entry, COMMON_KEYS):
            return None
        description = entry.get("description", "")
        if not isinstance(description, str) or (name != "composed" and not description.strip()):
            self.problem(where, "needs a description (one line, for docs/variables.md)")
            return None
        required = self._required(where, path, entry)
        if name in BUILT_IN_SECTIONS:
            if not top or key != name:
                self.problem(where, f"a {name} section is a top-level setting named {name}")
                return None
            if name == "services":
                replicas = entry.get("replicas")
                if replicas is not None and not isinstance(replicas, str):
                    self.problem(
                        (*where, "replicas"), "must name a setting, like resources.replicas"
                    )
                self.replicas = replicas
                if "services" in entry:
                    self.declarations = (where, entry["services"], description, required)
                return services_rules(description, required)
            return composed_rules(description or COMPOSED_DESCRIPTION)
        variable = entry.get("variable")
        if variable is not None:
            self._variable((*where, "variable"), path, variable, kind.variable, name)
        if name == "section":
            return self._section(where, path, entry, description, required)
        self._options(where, name, entry)
        self.types.append([list(path), name])
        body = kind.rules(entry)
        meta: dict[str, Any] = {}
        if isinstance(variable, str):
            meta["env"] = variable
        meta["description"] = description
        hint = entry.get("hint", kind.hint)
        if hint:
            meta["hint"] = hint
        if name in ("secret", "secret-file"):
            meta["secret"] = entry["kind"]
            if "accepts" in entry:
                meta["accepts"] = entry["accepts"]
            if name == "secret-file":
                meta["file"] = entry["file"]
        return {"type": body.pop("type"), "required": required, "meta": meta, **body}

    def _section(
        self, where: KeyPath, path: KeyPath, entry: dict[str, Any], description: str, required: bool
    ) -> dict[str, Any] | None:
        settings = entry.get("settings")
        if not isinstance(settings, dict) or not settings:
            self.problem(where, "a section needs settings: a mapping of its settings")
            return None
        fields = {}
        before = len(self.problems)
        for key, inner in settings.items():
            rules = self._entry((*where, "settings", key), (*path, key), key, inner)
            if rules is not None:
                fields[key] = rules
        meta: dict[str, Any] = {"description": description}
        compose = entry.get("compose")
        if compose is not None and len(self.problems) == before:  # its settings as declared
            if len(path) != 1:
                self.problem((*where, "compose"), "only a top-level section is a compose store")
            elif self._compose((*where, "compose"), compose, path):
                meta["compose"] = compose
        return {"type": "dict", "required": required, "schema": fields, "meta": meta}

    def _compose(self, where: KeyPath, compose: Any, section: KeyPath) -> bool:
        if not isinstance(compose, dict):
            self.problem(where, "must be a mapping: {service, port}")
            return False
        ok = True
        for key in compose:
            if key not in COMPOSE_KEYS:
                self._unknown((*where, key), key, COMPOSE_KEYS)
                ok = False
        service = compose.get("service")
        if not isinstance(service, str) or not KEY_NAME.fullmatch(service.replace("-", "_")):
            self.problem((*where, "service"), "must be the compose service's name")
            ok = False
        for key in ("port", "host_listener"):
            port = compose.get(key, 1)
            if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
                self.problem((*where, key), "must be a port, 1 to 65535")
                ok = False
        protocol = compose.get("protocol")
        if protocol is not None and protocol not in PROTOCOLS:
            self.problem((*where, "protocol"), "must be one of " + ", ".join(PROTOCOLS))
            ok = False
        for flag in ("for_services", "wait"):
            if not isinstance(compose.get(flag, True), bool):
                self.problem((*where, flag), "must be true or false")
                ok = False
        inside = {kind for path, kind in self.types if tuple(path[:1]) == section}
        keys = {path[1] for path, _ in self.types if tuple(path[:1]) == section and len(path) == 2}
        needs = LOGIN_SETTINGS.get(protocol, ()) if isinstance(protocol, str) else ()
        missing = [key for key in needs if key not in keys]
        if ok and missing:
            self.problem(
                (*where, "protocol"),
                f"doctor logs in to {protocol} with the section's {', '.join(needs)}; "
                f"it has no {', '.join(missing)}",
            )
            ok = False
        if ok and not ({"host", "port"} <= inside or "servers" in inside):
            self.problem(
                where, "a compose store's section needs a host and a port setting (or servers)"
            )
            ok = False
        return ok

    def _variable(
        self, where: KeyPath, path: KeyPath, variable: Any, allowed: bool, name: str
    ) -> None:
        if not allowed:
            self.problem(where, f"a {name} is never a variable; remove variable:")
        elif not isinstance(variable, str) or not VARIABLE_NAME.fullmatch(variable):
            self.problem(
                where, "must be a variable name: A-Z, digits and '_', starting with a letter"
            )
        elif variable in self.variables:
            first = self.variables[variable]
            said = f"the tool's own {variable}" if not first else format_key_path(first)
            self.problem(where, f"gives the variable {variable}, which {said} gives already")
        else:
            self.variables[variable] = path

    def _required(self, where: KeyPath, path: KeyPath, entry: Mapping[str, Any]) -> bool:
        required = entry.get("required", True)
        if isinstance(required, bool):
            return required
        if (
            isinstance(required, dict)
            and required
            and all(tier in TIERS and isinstance(flag, bool) for tier, flag in required.items())
        ):
            tiers = {tier: bool(required.get(tier, True)) for tier in TIERS}
            if all(tiers.values()):
                return True
            self.tiered.append([list(path), tiers])
            return False
        self.problem(
            (*where, "required"),
            "must be true, false, or per tier like {development: false, production: true}",
        )
        return True

    def _options(self, where: KeyPath, name: str, entry: Mapping[str, Any]) -> None:
        def number(value: Any) -> bool:
            return isinstance(value, int | float) and not isinstance(value, bool)

        for key in ("min", "max"):
            if key in entry and not number(entry[key]):
                self.problem((*where, key), "must be a number")
        if number(entry.get("min")) and number(entry.get("max")) and entry["min"] > entry["max"]:
            self.problem((*where, "max"), f"must be at least min ({entry['min']})")
        length = entry.get("min_length", 0)
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            self.problem((*where, "min_length"), "must be a count, 0 or more")
        if "pattern" in entry:
            pattern = entry["pattern"]
            why = valid_pattern(pattern) if isinstance(pattern, str) else "not a text"
            if why:
                self.problem((*where, "pattern"), f"is not a regular expression: {why}")
        if "values" in entry:
            values = entry["values"]
            if (
                not isinstance(values, list)
                or not values
                or not all(isinstance(v, str) for v in values)
            ):
                self.problem((*where, "values"), "must be a list of texts")
        hint = entry.get("hint", "")
        if not isinstance(hint, str):
            self.problem((*where, "hint"), "must be a text")
        if name in ("secret", "secret-file"):
            kinds = SECRET_KINDS if name == "secret" else SECRET_FILE_KINDS
            if entry["kind"] not in kinds:
                self._unknown((*where, "kind"), entry["kind"], kinds, what="kind")
        if name == "secret-file" and not (
            isinstance(entry["file"], str) and FILE_NAME.fullmatch(entry["file"])
        ):
            self.problem((*where, "file"), "must be a file name, like tls.crt")
        if "accepts" in entry:
            self._accepts((*where, "accepts"), entry["accepts"])

    def _accepts(self, where: KeyPath, accepts: Any) -> None:
        if not isinstance(accepts, dict) or not isinstance(accepts.get("consumer"), str):
            self.problem(
                where, "must be a mapping with consumer, why and min_length or single_line"
            )
            return
        for key in accepts:
            if key not in ACCEPTS_KEYS:
                self._unknown((*where, key), key, ACCEPTS_KEYS)
        if not isinstance(accepts.get("why"), str):
            self.problem(where, "needs why: what the consumer does with the value")

    def _check_replicas(self, schema: dict[str, Any]) -> None:
        if not self.replicas:
            return
        path = tuple(self.replicas.split("."))
        declared = {tuple(p): kind for p, kind in self.types}
        if declared.get(path) not in ("count", "integer"):
            known = [".".join(p) for p, kind in declared.items() if kind in ("count", "integer")]
            close = closest(self.replicas, known)
            hint = f"; did you mean '{close}'?" if close else ""
            where = ("settings", "services", "replicas")
            self.problem(
                where, f"names {self.replicas}, which is no count setting of the catalogue{hint}"
            )
            self.replicas = None


def _setting_path(where: KeyPath) -> KeyPath:
    """The setting a place in the file stands for: ``settings.postgres.settings.host.type`` is
    ``postgres.host.type``."""
    path: list[Any] = []
    parts = list(where)
    if parts[:1] == ["settings"]:
        parts = parts[1:]
        while parts:
            path.append(parts.pop(0))
            if parts[:1] == ["settings"] and len(parts) > 1:
                parts.pop(0)
            else:
                path.extend(parts)
                break
        return tuple(path)
    return where
