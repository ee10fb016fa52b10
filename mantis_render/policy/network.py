"""Hosts and ports: names that resolve, and no two services on one host port."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .. import stack
from ..errors import quoted
from . import Context, Finding, rule

# The stores written as host and port (Kafka is a list of bootstrap servers).
STORES = [store.section for store in stack.STORES if store is not stack.KAFKA]
LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _hosts(context: Context) -> Iterator[tuple[tuple[Any, ...], str]]:
    for store in STORES:
        yield (store, "host"), context.environment.value((store, "host"))
    for index, server in enumerate(context.environment.value(("kafka", "bootstrap_servers"))):
        yield ("kafka", "bootstrap_servers", index), server.rpartition(":")[0]


@rule("well-formed-hosts", "Every host is an IP address or a valid DNS name (RFC 1123)")
def well_formed_hosts(context: Context) -> Iterator[Finding]:
    for path, host in _hosts(context):
        problem = _host_problem(host)
        if problem:
            yield Finding(path, f"{quoted(host)} is not a valid host name: {problem}")


def _host_problem(host: str) -> str | None:
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if len(host) > 253:
        return "longer than 253 characters"
    for label in host.split("."):
        if not LABEL.fullmatch(label):
            return (
                f"the label {quoted(label)} must be 1 to 63 letters, digits or '-', "
                "not starting or ending with '-'"
            )
    if host.rsplit(".", 1)[-1].isdigit():
        return "the last label must not be all digits"
    return None


@rule(
    "no-localhost-outside-development",
    "Staging and production hosts are reachable from other machines",
    ["staging", "production"],
)
def no_localhost(context: Context) -> Iterator[Finding]:
    for path, host in _hosts(context):
        if stack.is_loopback(host):
            yield Finding(
                path,
                f"{host} is this machine only; {context.environment.tier} needs a reachable host",
            )


@rule("unique-host-ports", "No two services of one environment publish the same host port")
def unique_host_ports(context: Context) -> Iterator[Finding]:
    """The ports the compose override publishes: each store's; each service's if it runs once."""
    environment = context.environment
    published: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for store in STORES:
        published[environment.value((store, "port"))].append((store, "port"))
    first_broker = environment.value(("kafka", "bootstrap_servers"))[0]
    published[int(first_broker.rpartition(":")[2])].append(("kafka", "bootstrap_servers", 0))
    if environment.value(("resources", "replicas")) == 1:
        for service in environment.value(("services",)):
            published[environment.value(("services", service, "port"))].append(
                ("services", service, "port")
            )
    for port, paths in published.items():
        for path in paths:
            others = ", ".join(".".join(map(str, other)) for other in paths if other != path)
            if others:
                yield Finding(path, f"host port {port} is also published by {others}")
