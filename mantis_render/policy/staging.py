"""The guide's staging checklist: TLS on, strong passwords."""

from __future__ import annotations

from collections.abc import Iterator

from .rule import Context, Finding, rule
from .secrets import PLACEHOLDER

MIN_LENGTH = 16
MIN_CLASSES = 3  # of: lowercase, uppercase, digits, other characters


@rule("staging-tls", "TLS on in staging", ["staging"], reads=[("security", "tls")])
def tls(context: Context) -> Iterator[Finding]:
    if context.environment.value(("security", "tls")) is not True:
        yield Finding(("security", "tls"), "must be true in staging")


@rule(
    "strong-secrets",
    f"Secrets have at least {MIN_LENGTH} characters of {MIN_CLASSES} kinds (literal or resolved)",
    ["staging", "production"],
)
def strong_secrets(context: Context) -> Iterator[Finding]:
    for variable in context.environment.variables:
        if not variable.secret or variable.value is None or variable.path is None:
            continue  # an unresolved reference: nothing to judge yet
        if variable.source == "composed":
            continue  # a URL made of parts: the secret parts are judged, not the whole
        value = variable.value
        if PLACEHOLDER.search(value):
            continue  # reported as a placeholder
        classes = sum(
            any(test(character) for character in value)
            for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
        )
        if len(value) < MIN_LENGTH or classes < MIN_CLASSES:
            yield Finding(
                variable.path,
                f"{variable.name} is weak: {len(value)} characters of {classes} kinds "
                f"(needs {MIN_LENGTH} of {MIN_CLASSES}: lowercase, uppercase, digits, symbols)",
            )
