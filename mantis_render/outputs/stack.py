"""The compose stack as its containers see it: each store's service and port, from the catalogue.

A developer's shell on the host reaches the stores at the profile's addresses (``localhost:5433``
for TimescaleDB in development). A container does not: ``localhost`` there is the container
itself. On the compose network a store is its service name and the port it listens on
(``timescaledb:5432``). Both come from the one profile: the host side as written, the container
side from the stores the catalogue declares (``compose:`` of a section).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from ..catalogue import Catalogue, Store

__all__ = [
    "Address",
    "Store",
    "addresses",
    "container_data",
    "container_values",
    "in_containers_name",
    "is_loopback",
]


class Address(NamedTuple):
    """The variables that tell a service where a store is: host and port, or (Kafka) a list."""

    store: Store
    host: str  # the variable's name; for Kafka, the bootstrap list
    port: str | None


def addresses(catalogue: Catalogue) -> list[Address]:
    """Each store's address variables, in catalogue order."""
    env_of = catalogue.env_of
    found = []
    for store in catalogue.stores:
        if store.servers is not None:
            found.append(Address(store, env_of[store.servers], None))
        elif store.host is not None and store.port_setting is not None:
            found.append(Address(store, env_of[store.host], env_of[store.port_setting]))
    return found


def in_containers_name(catalogue: Catalogue, name: str) -> str:
    """The .env variable holding, for compose's interpolation, the form of the secret composed
    variable ``name`` that the containers read (it reads a store's compose address where .env's
    reads a loopback one): ``<PROJECT>_IN_CONTAINERS_<NAME>``."""
    return f"{catalogue.project.upper().replace('-', '_')}_IN_CONTAINERS_{name}"


def used_by_services(catalogue: Catalogue) -> list[Store]:
    """The stores an application service reaches (not those that serve people only)."""
    return [store for store in catalogue.stores if store.for_services]


@functools.lru_cache(maxsize=256)  # the same few hosts, for every service of a large project
def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    return False


class ContainerValue(NamedTuple):
    """What a container is told instead of the profile's host-side value, and why."""

    name: str
    value: str
    host_value: str
    reason: str


def container_values(catalogue: Catalogue, data: Mapping[str, Any]) -> list[ContainerValue]:
    """The variables whose value differs inside a container: each store address that is only
    meaningful on the host (a loopback host) becomes the store's service and port. External
    names (staging, production) are the same on both sides."""
    changed: list[ContainerValue] = []
    for address in addresses(catalogue):
        store = address.store
        if store.servers is not None:
            changed += _servers_values(store, address.host, value_at(data, store.servers))
            continue
        assert store.host is not None and store.port_setting is not None and address.port
        host, port = str(value_at(data, store.host)), str(value_at(data, store.port_setting))
        if not is_loopback(host):
            continue
        why = (
            f"{host} inside a container is the container itself; {store.section} is the "
            f"compose service {store.service}"
        )
        changed.append(ContainerValue(address.host, store.service, host, why))
        if port != str(store.port):
            reason = (
                f"the host publishes {port}; the container {store.service} listens on {store.port}"
            )
            changed.append(ContainerValue(address.port, str(store.port), port, reason))
    return changed


def _inside(store: Store, servers: list[str]) -> list[str]:
    return [store.address if is_loopback(s.rpartition(":")[0]) else s for s in servers]


def _servers_values(store: Store, name: str, servers: list[str]) -> Iterator[ContainerValue]:
    inside = _inside(store, servers)
    if inside != servers:
        why = (
            "a loopback bootstrap server inside a container is the container itself; "
            f"{store.service.capitalize()} advertises its in-network listener {store.address} "
            "to containers"
        )
        yield ContainerValue(name, ",".join(inside), ",".join(servers), why)


def container_data(catalogue: Catalogue, data: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's data as a container sees it: each loopback store address replaced by the
    store's service and port, as container_values says (the rest is shared, not copied)."""
    seen = dict(data)
    for store in catalogue.stores:
        section = data[store.section]
        if store.servers is not None:
            key = store.servers[-1]
            servers = section[key]
            inside = _inside(store, servers)
            if inside != servers:
                seen[store.section] = {**section, key: inside}
        elif store.host is not None and store.port_setting is not None:
            host_key, port_key = store.host[-1], store.port_setting[-1]
            if is_loopback(str(section[host_key])):
                seen[store.section] = {**section, host_key: store.service, port_key: store.port}
    return seen


def value_at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data
