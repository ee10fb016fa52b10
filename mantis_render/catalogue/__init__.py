"""The project's catalogue: every section and setting its profiles hold, compiled for the checks.

The catalogue is ``profiles/_catalogue.yaml`` (read by mantis_render.catalogue.reader). Compiled,
it is one cerberus schema (the tool's own sections, then the catalogue's in its order: the order
of the variables in every output) and the answers the rest of the pipeline asks of it: every
setting that becomes a variable, where the secrets are, which settings are hosts, which stores
the compose stack runs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from ..yaml_source import KeyPath

CATALOGUE_NAME = "_catalogue"


class Setting(NamedTuple):  # a tuple: tens of thousands are made for a large project
    """A leaf of the catalogue that becomes an environment variable."""

    path: KeyPath
    env: str
    description: str
    secret_kind: str | None


class Store(NamedTuple):
    """A store the compose stack runs for the project's services (``compose:`` of a section)."""

    section: str  # of the profile
    service: str  # on the compose network
    port: int  # where it listens for the other containers
    host_listener: int  # the container port its published host port maps to
    protocol: str = (
        ""  # what doctor logs in with to check its credentials (mantis_render.developer.probes)
    )
    for_services: bool = True  # False for a store that serves people, not the services
    host: KeyPath | None = None  # its host setting and port setting ...
    port_setting: KeyPath | None = None
    servers: KeyPath | None = None  # ... or its list of host:port (a Kafka bootstrap list)
    wait: bool = True  # whether the services wait for it to be healthy (it has a healthcheck)

    @property
    def address(self) -> str:
        return f"{self.service}:{self.port}"


class Receives(NamedTuple):
    """One variable a declared service receives: ``name`` as the service reads it, and where
    its value comes from: a setting (``source`` its path), a variable of the environment by name
    (``ENVIRONMENT``, a composed variable), the service's own port, or its own value."""

    name: str
    kind: str  # "setting", "variable", "port" or "own"
    source: KeyPath | str  # a setting's path, a variable's name, or () for port and own


class ServiceDeclaration(NamedTuple):
    """A service the catalogue declares: what it reaches and the variables it reads, in the
    order its environment lists them."""

    name: str  # as the profiles name it (feature_extraction)
    description: str
    receives: tuple[Receives, ...]

    @property
    def sections(self) -> frozenset[str]:
        """The top-level sections its settings come from."""
        return frozenset(
            str(entry.source[0])
            for entry in self.receives
            if entry.kind == "setting" and isinstance(entry.source, tuple)
        )


class Catalogue:
    """A compiled catalogue: ``schema`` (cerberus rules, every section), the catalogue type of
    each setting, what is required per tier, and the setting rules it applies."""

    def __init__(
        self,
        file: str,
        project: str,
        title: str,
        schema: dict[str, Any],
        types: Mapping[KeyPath, str],
        tiered: Mapping[KeyPath, Mapping[str, bool]],
        policy: tuple[str, ...],
        replicas: KeyPath | None,
        services: Mapping[str, ServiceDeclaration] | None = None,
    ) -> None:
        self.file = file  # as shown to the user
        self.project = project  # its name: it starts the Kubernetes names
        self.title = title
        self.schema = schema
        self.types = dict(types)
        self.tiered = dict(tiered)
        self.policy = policy
        self.replicas = replicas  # the setting that says how many times each service runs
        # The services it declares, each with exactly what it receives; empty when it declares
        # none (then every service receives every variable, and its own as <SERVICE>_<KEY>).
        self.services = dict(services or {})

    def __repr__(self) -> str:
        return f"Catalogue({self.file!r})"

    def namespace(self, environment: str) -> str:
        """The Kubernetes namespace of an environment."""
        return f"{self.project}-{environment}"

    def schema_for(self, tier: Any) -> dict[str, Any]:
        """The rules for an environment of ``tier``: each setting whose requirement differs by
        tier required as the catalogue says for that tier."""
        if not self.tiered or not isinstance(tier, str):
            return self.schema
        return self._tier_schemas(tier)

    @functools.cache  # noqa: B019 - a catalogue lives for the run
    def _tier_schemas(self, tier: str) -> dict[str, Any]:
        schema = dict(self.schema)
        for path, tiers in self.tiered.items():
            node: dict[Any, Any] = schema
            for part in path[:-1]:
                node[part] = {**node[part], "schema": dict(node[part]["schema"])}
                node = node[part]["schema"]
            node[path[-1]] = {**node[path[-1]], "required": bool(tiers.get(tier, True))}
        return schema

    def settings(self, data: Mapping[str, Any] | None = None) -> Iterator[Setting]:
        """Every variable in declaration order; with a profile's ``data``, its services' ones
        too, and only the optional settings it sets."""
        return _settings(data, self.schema, ())

    @functools.cached_property
    def all_settings(self) -> tuple[Setting, ...]:
        return tuple(self.settings())

    @functools.cached_property
    def secret_files(self) -> dict[KeyPath, str]:
        """Secrets that are files, not variables: setting -> the file's name in every output."""
        return {path: self.rules_at(path)["meta"]["file"] for path in self.of_type("secret-file")}

    @functools.cached_property
    def secret_paths(self) -> tuple[KeyPath, ...]:
        """Where the secrets are, variables then files (a service's variables are never
        secret)."""
        variables = [setting.path for setting in self.all_settings if setting.secret_kind]
        return (*variables, *self.secret_files)

    def of_type(self, *names: str) -> list[KeyPath]:
        """The settings of these catalogue types, in catalogue order."""
        return [path for path, kind in self.types.items() if kind in names]

    def secret_file_of_kind(self, kind: str) -> KeyPath | None:
        for path in self.of_type("secret-file"):
            if self.rules_at(path)["meta"]["secret"] == kind:
                return path
        return None

    @functools.cached_property
    def stores(self) -> tuple[Store, ...]:
        """The stores the compose stack runs, in catalogue order."""
        stores = []
        for section, rules in self.schema.items():
            compose = rules.get("meta", {}).get("compose")
            if not compose:
                continue
            found = {
                kind: next(
                    (p for p in self.of_type(kind) if p[:1] == (section,) and len(p) == 2), None
                )
                for kind in ("host", "port", "servers")
            }
            port = int(compose["port"])
            stores.append(
                Store(
                    section,
                    str(compose["service"]),
                    port,
                    int(compose.get("host_listener", port)),
                    str(compose.get("protocol", "")),
                    bool(compose.get("for_services", True)),
                    found["host"],
                    found["port"],
                    found["servers"],
                    bool(compose.get("wait", True)),
                )
            )
        return tuple(stores)

    @functools.cached_property
    def env_of(self) -> dict[KeyPath, str]:
        """The variable of each setting that has one."""
        return {setting.path: setting.env for setting in self.all_settings}

    def rules_at(self, path: KeyPath) -> dict[str, Any]:
        """The cerberus rules of the setting at ``path``."""
        rules: dict[str, Any] = {"schema": self.schema}
        for part in path:
            if isinstance(part, int):
                rules = rules.get("schema", {})
            elif "valuesrules" in rules and "schema" not in rules:  # a mapping of any keys
                rules = rules["valuesrules"]
            else:
                rules = rules.get("schema", {}).get(part, {})
        return rules

    def declared_by_name(self, path: KeyPath) -> bool:
        """Whether ``path`` is an entry of a mapping of named entries (services, composed)."""
        rules = self.rules_at(path[:-1]) if path else {}
        return "valuesrules" in rules and "schema" not in rules

    def runs_once(self, data: Mapping[str, Any]) -> bool:
        """Whether each service runs once in a profile's ``data`` (its port is then published
        on the host): the services entry's replicas setting is 1."""
        if self.replicas is None or self.services_section is None:
            return False
        value: Any = data
        for part in self.replicas:
            value = value[part]
        return bool(value == 1)

    @functools.cached_property
    def services_section(self) -> str | None:
        return next((k for k, r in self.schema.items() if r.get("meta", {}).get("services")), None)


def _settings(
    data: Mapping[str, Any] | None, schema: Mapping[str, Any], prefix: KeyPath
) -> Iterator[Setting]:
    for key, rules in schema.items():
        meta = rules.get("meta", {})
        if data is not None and key not in data and not rules.get("required"):
            continue  # an optional setting this profile leaves out
        if "env" in meta:
            yield Setting((*prefix, key), meta["env"], meta["description"], meta.get("secret"))
        elif meta.get("services"):
            if data is not None:
                own = not meta.get("declared")  # declared services' own are not .env's
                yield from _service_settings(data.get(key) or {}, (*prefix, key), own)
        elif rules.get("type") == "dict" and "schema" in rules:
            inner = data.get(key) if data else None
            yield from _settings(inner, rules["schema"], (*prefix, key))


def _service_settings(
    services: Mapping[str, Any], prefix: KeyPath, own: bool = True
) -> Iterator[Setting]:
    for name, service in services.items():
        upper = name.upper()
        yield Setting((*prefix, name, "port"), f"PORT_{upper}", f"Port of the {name} service", None)
        if not own:
            continue
        for variable in (service or {}).get("variables") or {}:
            description = f"{variable} of the {name} service"
            yield Setting(
                (*prefix, name, "variables", variable), f"{upper}_{variable}", description, None
            )
