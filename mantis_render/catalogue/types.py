"""The types a catalogue entry may name, each compiled to the cerberus rules that check it.

A catalogue entry is ``{type: port, variable: DATABASE_PORT, description: ...}`` plus the options
its type takes (bounds, a pattern, allowed values, a secret's kind). Each type here says what it
is, which options it takes, and how it becomes rules; the tool knows these types and no others.
docs/catalogue.md lists them (``mantis-render docs``), generated from this table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

HOST_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?"
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
GO_DURATION = r"(?:[0-9]+(?:ns|us|ms|s|m|h))+"
URL_PATTERN = r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+(?:[/?#]\S*)?"

# Upper bounds, each the largest value every consumer of the setting accepts:
# a count is a 32-bit signed integer for Kafka (partitions) and Kubernetes (replicas);
MAX_COUNT = 2**31 - 1
# compose reads `cpus` as a 32-bit float, exact for whole numbers up to 2^24, and the engine counts
# nano-CPUs in 64 bits; compose turns `memory` into bytes, a 64-bit signed integer.
MAX_CPUS = 2**24
MAX_MEMORY_MB = (2**63 - 1) // 2**20

# Secret kinds, named after the guide's rotation rules (mantis_render.policy).
SECRET_KINDS = ("database-password", "api-key", "jwt-secret", "admin-password")
# Secrets that are files: a certificate is renewed before it expires, not rotated on a period.
SECRET_FILE_KINDS = ("certificate", "private-key")
# What the store that takes a secret accepts (mantis_render.outputs.limits), checked once resolved.
ACCEPTS_KEYS = ("consumer", "min_length", "single_line", "why")

# The keys every entry may have, beside those of its type.
COMMON_KEYS = {
    "type": "the entry's type (this table)",
    "description": "what it is, for docs/variables.md and explain (required)",
    "variable": "the environment variable it becomes; without one, a setting only the tool reads",
    "required": "true (the default), false, or per tier: {development: false, production: true}",
    "hint": "what a good value looks like, said when a value does not match",
}


class Option(NamedTuple):
    """An option of a type: its key, what it takes, and what it means."""

    key: str
    takes: str
    meaning: str


class SettingType(NamedTuple):
    """A type of the library: its summary, its options, and how an entry becomes rules."""

    name: str
    summary: str
    options: tuple[Option, ...]
    rules: Callable[[Mapping[str, Any]], dict[str, Any]]
    variable: bool = True  # whether it may have a variable
    required_options: tuple[str, ...] = ()
    hint: str = ""  # said when a value does not match, unless the entry gives its own


def _text(entry: Mapping[str, Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {"empty": entry.get("min_length") == 0}  # min_length 0: may be empty
    if "pattern" in entry:
        rules["regex"] = entry["pattern"]
    if "min_length" in entry:
        rules["minlength"] = entry["min_length"]
    return {"type": "string", **rules}


def _bounded(kind: str, low: Any = None, high: Any = None) -> Callable[..., dict[str, Any]]:
    def rules(entry: Mapping[str, Any]) -> dict[str, Any]:
        compiled: dict[str, Any] = {"type": kind}
        for key, default in (("min", low), ("max", high)):
            value = entry.get(key, default)
            if value is not None:
                compiled[key] = value
        return compiled

    return rules


def _list(entry: Mapping[str, Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {"type": "list"}
    if "min_length" in entry:
        rules["minlength"] = entry["min_length"]
    if "values" in entry:
        rules["allowed"] = list(entry["values"])
    return rules


def _servers(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "list",
        "minlength": entry.get("min_length", 1),
        "schema": {
            "type": "string",
            "regex": rf"{HOST_PATTERN}:[0-9]{{1,5}}",
            "meta": {"hint": "host:port, like kafka-0.example.com:9092"},
        },
    }


def _secret(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": ["string", "dict"], "empty": False, "check_with": "secret"}


def _limits(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "dict",
        "schema": {
            "cpus": {
                "type": "number",
                "required": True,
                "min": 0.01,
                "max": MAX_CPUS,
                "meta": {"description": "CPU cores the container may use"},
            },
            "memory_mb": {
                "type": "integer",
                "required": True,
                "min": 4,
                "max": MAX_MEMORY_MB,
                "meta": {"description": "Memory limit in MiB"},
            },
        },
    }


_BOUNDS = (
    Option("min", "a number", "the smallest value allowed"),
    Option("max", "a number", "the largest value allowed"),
)
_SECRET_KIND = Option("kind", " / ".join(SECRET_KINDS), "the secret's kind: its rotation period")
_ACCEPTS = Option(
    "accepts",
    "{consumer, why, min_length | single_line}",
    "what the server that takes it accepts, checked once the secret is resolved",
)
SECTION_OPTIONS = (
    Option("settings", "a mapping of entries", "the section's settings, in output order"),
    Option(
        "compose",
        "{service, port[, host_listener, protocol, for_services, wait]}",
        "a store the compose stack runs: its service, the port it listens on for the other "
        "containers, the port of its host listener (if another), the protocol doctor logs in "
        "with (postgresql, redis), for_services: false for one that serves people only, and "
        "wait: false for one the services do not wait for (it has no healthcheck)",
    ),
)

TYPES: dict[str, SettingType] = {
    t.name: t
    for t in (
        SettingType(
            "text",
            "any non-empty text",
            (
                Option("pattern", "a regular expression", "the whole text must match it"),
                Option(
                    "min_length", "a count", "the fewest characters allowed (0: it may be empty)"
                ),
            ),
            _text,
        ),
        SettingType(
            "name",
            "a name: letters, digits, '.', '_', '-', starting with a letter or digit",
            (),
            lambda entry: {"type": "string", "empty": False, "regex": NAME_PATTERN},
        ),
        SettingType(
            "host",
            "a host name or IP address",
            (),
            lambda entry: {"type": "string", "empty": False, "regex": HOST_PATTERN},
            hint="a host name like db.example.com",
        ),
        SettingType("port", "a TCP port, 1 to 65535", (), _bounded("integer", 1, 65535)),
        SettingType(
            "url",
            "a URL: scheme://host[:port][/path]",
            (),
            lambda entry: {"type": "string", "empty": False, "regex": URL_PATTERN},
            hint="a URL like tcp://broker.example.com:1883",
        ),
        SettingType("integer", "a whole number", _BOUNDS, _bounded("integer")),
        SettingType(
            "count", f"a whole number, 1 to {MAX_COUNT}", (), _bounded("integer", 1, MAX_COUNT)
        ),
        SettingType("number", "a finite number", _BOUNDS, _bounded("number")),
        SettingType("flag", "true or false", (), lambda entry: {"type": "boolean"}),
        SettingType(
            "enumeration",
            "one of the listed values",
            (Option("values", "a list of texts", "the values allowed (required)"),),
            lambda entry: {"type": "string", "empty": False, "allowed": list(entry["values"])},
            required_options=("values",),
        ),
        SettingType(
            "list",
            "a list, written comma-separated",
            (
                Option("values", "a list of texts", "the only items allowed"),
                Option("min_length", "a count", "the fewest items allowed"),
            ),
            _list,
        ),
        SettingType(
            "servers",
            "a list of host:port, written comma-separated",
            (Option("min_length", "a count", "the fewest servers allowed (default 1)"),),
            _servers,
        ),
        SettingType(
            "duration",
            "a Go duration, like 1h or 90s",
            (),
            lambda entry: {"type": "string", "regex": GO_DURATION},
        ),
        SettingType(
            "secret",
            "a literal (development only) or a secret reference",
            (_SECRET_KIND, _ACCEPTS),
            _secret,
            required_options=("kind",),
        ),
        SettingType(
            "secret-file",
            "a secret written as a file, never as a variable: a literal or a reference",
            (
                Option("kind", " / ".join(SECRET_FILE_KINDS), "what the file holds"),
                Option("file", "a file name", "the file's name in every output, like tls.crt"),
            ),
            _secret,
            variable=False,
            required_options=("kind", "file"),
        ),
        SettingType(
            "limits",
            "container limits in the compose override: cpus and memory_mb",
            (),
            _limits,
            variable=False,
        ),
        SettingType("section", "a group of settings", SECTION_OPTIONS, dict, variable=False),
        SettingType(
            "services",
            "the project's services, by name: each with its port, limits and variables",
            (
                Option(
                    "replicas",
                    "a setting, like resources.replicas",
                    "the count setting that says how many times each service runs",
                ),
                Option(
                    "services",
                    "{NAME: {description, uses, variables}}",
                    "the services, each with exactly what it reads: `uses` lists settings, "
                    "sections or variables it is given under their own names; `variables` gives "
                    "one under the name it reads ({from: SETTING}, {from: port}, {from: VARIABLE}) "
                    "or declares its own value ({type, description}, never a secret), set per "
                    "profile in services.NAME.variables. Without it, every service is given every "
                    "variable, and its own as <SERVICE>_<KEY>",
                ),
            ),
            dict,
            variable=False,
        ),
        SettingType(
            "composed",
            "variables composed from settings and secrets, by name (connection URLs)",
            (),
            dict,
            variable=False,
        ),
    )
}
# Types that are whole sections of a profile, each at most once, under its own name.
BUILT_IN_SECTIONS = ("services", "composed")


def valid_pattern(pattern: str) -> str | None:
    """Why ``pattern`` is not a regular expression, or None."""
    try:
        re.compile(pattern)
    except re.error as error:
        return str(error)
    return None
