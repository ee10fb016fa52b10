"""The compose stack's wiring, checked on the base file and the override merged as docker
compose merges them: every store a MANTIS service is told to reach must be reachable from its
container, and every service it waits for must exist.

Each failure is (where in the override, message, rule id). The rules:

- ``compose-container-loopback``: a container told a loopback address (``localhost`` is the
  container itself);
- ``compose-container-port``: told a service of the stack at a port it does not listen on;
- ``compose-depends-on``: waits for a service the stack does not have.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..yaml_source import KeyPath
from .stack import Address, is_loopback

Failure = tuple[KeyPath, str, str]
LOOPBACK, PORT, DEPENDS_ON = (
    "compose-container-loopback",
    "compose-container-port",
    "compose-depends-on",
)
ENV_FILE = ".env"
# ${MANTIS_ENV_FILE:-.env}: the file compose reads when the variable is not set.
_DEFAULTED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}")


def wiring_failures(
    override: Mapping[str, Any],
    base: Mapping[str, Any] | None,
    env_file: Mapping[str, str],
    addresses: Sequence[Address],
) -> list[Failure]:
    """``env_file``: the variables of the .env the services read (host-side values);
    ``addresses``: the stores' (mantis_render.outputs.stack.addresses)."""
    base_services = _mapping((base or {}).get("services"))
    override_services = _mapping(override.get("services"))
    names = set(base_services) | set(override_services)
    listening = _listening_ports(override, addresses)
    stores = {address.store.service for address in addresses}
    failures: list[Failure] = []
    # One service merged at a time: a large project's stack has tens of thousands.
    for name in sorted(names):
        service = _merged(base_services.get(name), override_services.get(name))
        services = names
        for dependency in _depends_on(service):
            if dependency not in services:
                where = ("services", name, "depends_on", dependency)
                known = ", ".join(sorted(services))
                message = (
                    f"waits for {dependency!r}, which this stack has no service named ({known})"
                )
                failures.append((where, message, DEPENDS_ON))
        if ENV_FILE in _env_files(service):
            told = _Told(_environment(service), env_file)
            for address in addresses:
                failures += _address_failures(name, address, told, listening)
        elif stores and name not in stores:
            # A service given exactly its variables: each one that holds an address (a URL, a
            # JDBC URL, a host:port list) under whatever name the service reads it.
            failures += _endpoint_failures(name, _environment(service), listening, addresses)
    return failures


# An address in a value: scheme://[user@]host[:port], or a whole value of host:port[,host:port].
_URL_ADDRESS = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^/@\s]*@)?(\[[^\]]+\]|[^:/?#,\s]+)(?::(\d+))?"
)
_SERVER_LIST = re.compile(r"[A-Za-z0-9.-]+:\d+(?:,[A-Za-z0-9.-]+:\d+)*")


def _endpoints(value: str) -> list[tuple[str, str]]:
    if "://" in value:
        return [(m.group(1), m.group(2) or "") for m in _URL_ADDRESS.finditer(value)]
    if _SERVER_LIST.fullmatch(value):
        return [tuple(server.rsplit(":", 1)) for server in value.split(",")]  # type: ignore[misc]
    return []


def _endpoint_failures(
    name: str,
    environment: Mapping[str, str],
    listening: Mapping[str, set[int]],
    addresses: Sequence[Address],
) -> Iterator[Failure]:
    for variable, value in environment.items():
        if "${" in value:
            continue  # a secret compose interpolates: no address is written here
        for host, port in _endpoints(value):
            where = ("services", name, "environment", variable)
            if is_loopback(host):
                # the store the host reaches on that port, when only one does
                stores = {a.store.address for a in addresses if str(a.store.host_listener) == port}
                instead = (
                    f"{stores.pop()} (the compose service)"
                    if len(stores) == 1
                    else "the store's compose service"
                )
                yield (
                    where,
                    f"{variable}: the container is told {host!r}, which inside a container is "
                    f"the container itself; give it {instead}",
                    LOOPBACK,
                )
            elif host in listening and port.isdigit() and int(port) not in listening[host]:
                ports = ", ".join(map(str, sorted(listening[host])))
                yield (
                    where,
                    f"{variable}: the container is told {host}:{port}, but {host} listens on "
                    f"{ports} on the compose network",
                    PORT,
                )


class _Told:
    """What a container is told: its own environment over the env_file's (not merged into one
    dict: the .env of a large project has tens of thousands of variables, for every service)."""

    def __init__(self, own: Mapping[str, str], env_file: Mapping[str, str]) -> None:
        self.own, self.env_file = own, env_file

    def __contains__(self, name: str) -> bool:
        return name in self.own or name in self.env_file

    def __getitem__(self, name: str) -> str:
        return self.own[name] if name in self.own else self.env_file[name]

    def get(self, name: str, default: str) -> str:
        if name in self:
            return self[name]
        return default


def _address_failures(
    name: str, address: Address, environment: _Told, listening: Mapping[str, set[int]]
) -> Iterator[Failure]:
    if address.host not in environment:
        return

    def where(variable: str) -> KeyPath:
        """The line that gave the variable: its own in the service, or the env_file's."""
        if variable in environment.own:
            return ("services", name, "environment", variable)
        return ("services", name, "env_file")

    if address.port is None:
        pairs = [server.rpartition(":")[::2] for server in environment[address.host].split(",")]
    else:
        pairs = [(environment[address.host], environment.get(address.port, ""))]
    for host, port in pairs:
        if is_loopback(host):
            yield (
                where(address.host),
                f"{address.host}: the container is told {host!r}, which inside a container is "
                f"the container itself; give it {address.store.address} (the compose service)",
                LOOPBACK,
            )
        elif host in listening and port.isdigit() and int(port) not in listening[host]:
            ports = ", ".join(map(str, sorted(listening[host])))
            variable = address.port or address.host
            yield (
                where(variable),
                f"{variable}: the container is told {host}:{port}, but {host} listens on "
                f"{ports} on the compose network",
                PORT,
            )


def _merged(base: Mapping[str, Any] | None, override: Mapping[str, Any] | None) -> dict[str, Any]:
    """One service of base and override together: environment and depends_on merged, the
    override winning, as docker compose merges them."""
    merged: dict[str, Any] = {"environment": {}, "depends_on": [], "env_file": []}
    for service in (_mapping(base), _mapping(override)):
        merged["environment"].update(_environment(service))
        merged["depends_on"] += _depends_on(service)
        merged["env_file"] += _env_files(service)
    return merged


def _listening_ports(
    override: Mapping[str, Any], addresses: Sequence[Address]
) -> dict[str, set[int]]:
    """The ports each service listens on for the other containers: a store's from the table,
    a MANTIS service's from its published targets."""
    ports = {address.store.service: {address.store.port} for address in addresses}
    for name, service in _mapping(override.get("services")).items():
        if name not in ports and isinstance(service, Mapping):
            targets = {
                p["target"] for p in (service or {}).get("ports") or [] if isinstance(p, dict)
            }
            if targets:
                ports[name] = {int(t) for t in targets}
    return ports


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping; anything else counts as empty (the compose specification
    check reports the override's shape; the base file is the project's own to fix)."""
    return value if isinstance(value, Mapping) else {}


def _environment(service: Mapping[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):  # ["NAME=value", ...]
        return dict(str(item).partition("=")[::2] for item in environment)
    if isinstance(environment, Mapping):
        return {str(key): str(value) for key, value in environment.items()}
    return {}


def _depends_on(service: Mapping[str, Any]) -> list[str]:
    depends_on = service.get("depends_on") or []
    return [str(name) for name in depends_on] if isinstance(depends_on, list | dict) else []


def _env_files(service: Mapping[str, Any]) -> list[str]:
    env_file = service.get("env_file") or []
    files = [env_file] if isinstance(env_file, str | dict) else env_file
    if not isinstance(files, list):
        return []
    paths = [str(item.get("path")) if isinstance(item, dict) else str(item) for item in files]
    return [_DEFAULTED.sub(lambda match: match.group(1), path) for path in paths]
