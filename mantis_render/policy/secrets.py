"""Where secrets come from, and that none is used twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..errors import quoted
from ..profiles.validation import value_at_path
from .rule import Context, Environment, Finding, rule

# `<CHANGE_ME_POSTGRES_PASSWORD>`, `<VAULT_SECRET>` and the like, left from a hand-kept template.
PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*(?::[^>]*)?>")


@rule(
    "no-placeholders",
    "No placeholder is left where a real value is needed",
    ["staging", "production"],
)
def no_placeholders(context: Context) -> Iterator[Finding]:
    environment = context.environment
    secret_paths = frozenset(environment.profile.catalogue.secret_paths)
    for path, value in _leaves(environment.profile.data, ()):
        if isinstance(value, str) and PLACEHOLDER.search(value):
            shown = (
                "holds a placeholder"
                if path in secret_paths
                else f"holds the placeholder {quoted(value)}"
            )
            yield Finding(
                path,
                f"{shown}; a {environment.tier} profile needs the real value "
                "(for a secret, a reference)",
            )


@rule(
    "secrets-are-references",
    "Outside development, secrets are references, not literals",
    ["staging", "production"],
)
def secrets_are_references(context: Context) -> Iterator[Finding]:
    for path in sorted(context.environment.profile.catalogue.secret_paths):
        value = value_at_path(context.environment.profile.data, path)
        if isinstance(value, str) and not PLACEHOLDER.search(
            value
        ):  # a placeholder is reported above
            yield Finding(
                path,
                "a literal secret is allowed in the development tier only; "
                "use a reference like {vault: mantis/<env>/<service>, key: password}",
            )


@rule(
    "no-shared-secrets", "No two secrets share a value, in one environment or across environments"
)
def no_shared_secrets(context: Context) -> Iterator[Finding]:
    """Equal literal or resolved values, or the same reference, count as the same secret."""
    mine = list(_secrets(context.environment))
    theirs = [
        (other, path, name, key) for other in context.others for path, name, key in _secrets(other)
    ]
    for index, (path, name, key) in enumerate(mine):
        for other_path, other_name, other_key in mine[:index] + mine[index + 1 :]:
            if key == other_key:
                where = context.environment.location(other_path)
                yield Finding(
                    path, f"{name} has the same value as {other_name} ({where.file}:{where.line})"
                )
        for other, other_path, other_name, other_key in theirs:
            if key == other_key:
                where = other.location(other_path)
                yield Finding(
                    path,
                    f"{name} has the same value as {other_name} of {other.name} "
                    f"({where.file}:{where.line})",
                )


def _secrets(environment: Environment) -> Iterator[tuple[Any, str, tuple[str, str]]]:
    """(path, variable, comparison key) of each secret whose value or reference is known."""
    for variable in environment.variables:
        if not variable.secret or variable.path is None or variable.source == "composed":
            continue  # a composed secret shares its parts' values by design
        if variable.value is not None and not PLACEHOLDER.search(variable.value):
            yield variable.path, variable.name, ("value", variable.value)
        elif variable.reference is not None:
            yield variable.path, variable.name, ("reference", str(variable.reference))


def _leaves(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value
