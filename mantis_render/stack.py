"""The compose stack as its containers see it: each store's service and port, from the schema.

A developer's shell on the host reaches the stores at the profile's addresses (``localhost:5433``
for TimescaleDB in development). A container does not: ``localhost`` there is the container
itself. On the compose network a store is its service name and the port it listens on
(``timescaledb:5432``). Both come from the one profile: the host side as written, the container
side from the store table the schema holds (``meta.compose`` of each store's section).
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from .schema import PROFILE_SCHEMA, settings


class Store(NamedTuple):
    """A store the compose stack runs for the MANTIS services."""

    section: str  # of the profile
    service: str  # on the compose network
    port: int  # where it listens for the other containers
    host_listener: int  # the container port its published host port maps to
    protocol: str = ""  # what doctor logs in with to check its credentials (mantis_render.probes)

    @property
    def address(self) -> str:
        return f"{self.service}:{self.port}"


def _stores() -> list[Store]:
    stores = []
    for section, rules in PROFILE_SCHEMA.items():
        compose = rules.get("meta", {}).get("compose")
        if compose:
            port = int(compose["port"])
            listener = int(compose.get("host_listener", port))
            protocol = str(compose.get("protocol", ""))
            stores.append(Store(section, str(compose["service"]), port, listener, protocol))
    return stores


STORES: list[Store] = _stores()
KAFKA = next(store for store in STORES if store.section == "kafka")
# The stores an application service reaches (Grafana serves people, not the services).
USED_BY_SERVICES: list[Store] = [store for store in STORES if store.section != "grafana"]

_ENV_OF: dict[tuple[Any, ...], str] = {setting.path: setting.env for setting in settings()}


class Address(NamedTuple):
    """The variables that tell a service where a store is: host and port, or (Kafka) a list."""

    store: Store
    host: str  # the variable's name; for Kafka, the bootstrap list
    port: str | None


ADDRESSES: list[Address] = [
    Address(store, _ENV_OF[(store.section, "bootstrap_servers")], None)
    if store is KAFKA
    else Address(store, _ENV_OF[(store.section, "host")], _ENV_OF[(store.section, "port")])
    for store in STORES
]


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


def container_values(data: Mapping[str, Any]) -> list[ContainerValue]:
    """The variables whose value differs inside a container: each store address that is only
    meaningful on the host (a loopback host) becomes the store's service and port. External
    names (staging, production) are the same on both sides."""
    changed: list[ContainerValue] = []
    for store in STORES:
        section = data[store.section]
        if store is KAFKA:
            changed += _kafka_values(section["bootstrap_servers"])
            continue
        host, port = str(section["host"]), str(section["port"])
        if not is_loopback(host):
            continue
        why = (
            f"{host} inside a container is the container itself; {store.section} is the "
            f"compose service {store.service}"
        )
        changed.append(ContainerValue(_ENV_OF[(store.section, "host")], store.service, host, why))
        if port != str(store.port):
            reason = (
                f"the host publishes {port}; the container {store.service} listens on {store.port}"
            )
            changed.append(
                ContainerValue(_ENV_OF[(store.section, "port")], str(store.port), port, reason)
            )
    return changed


def _kafka_values(servers: list[str]) -> Iterator[ContainerValue]:
    inside = [KAFKA.address if is_loopback(s.rpartition(":")[0]) else s for s in servers]
    if inside != servers:
        why = (
            "a loopback bootstrap server inside a container is the container itself; Kafka "
            f"advertises its in-network listener {KAFKA.address} to containers"
        )
        name = _ENV_OF[("kafka", "bootstrap_servers")]
        yield ContainerValue(name, ",".join(inside), ",".join(servers), why)


def container_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The profile's data as a container sees it: each loopback store address replaced by the
    store's service and port, as container_values says (the rest is shared, not copied)."""
    seen = dict(data)
    for store in STORES:
        section = data[store.section]
        if store is KAFKA:
            servers = section["bootstrap_servers"]
            inside = [KAFKA.address if is_loopback(s.rpartition(":")[0]) else s for s in servers]
            if inside != servers:
                seen[store.section] = {**section, "bootstrap_servers": inside}
        elif is_loopback(str(section["host"])):
            seen[store.section] = {**section, "host": store.service, "port": store.port}
    return seen
