"""Hosts and ports: names that resolve, and no two services on one host port."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ..errors import quoted
from ..outputs import stack
from ..secrets.certificates import host_settings
from .rule import Context, Finding, rule

LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _hosts(context: Context) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every host setting, and the host of each server of every list of servers."""
    yield from host_settings(context.environment.profile)


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
    catalogue = environment.profile.catalogue
    published: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for store in catalogue.stores:
        if store.port_setting is not None:
            published[environment.value(store.port_setting)].append(store.port_setting)
    for store in catalogue.stores:
        if store.servers is not None:  # the first server's port: its host listener
            first = environment.value(store.servers)[0]
            published[int(first.rpartition(":")[2])].append((*store.servers, 0))
    section = catalogue.services_section
    if section is not None and catalogue.runs_once(environment.profile.data):
        for service in environment.value((section,)):
            published[environment.value((section, service, "port"))].append(
                (section, service, "port")
            )
    for port, paths in published.items():
        for path in paths:
            others = ", ".join(".".join(map(str, other)) for other in paths if other != path)
            if others:
                yield Finding(path, f"host port {port} is also published by {others}")
