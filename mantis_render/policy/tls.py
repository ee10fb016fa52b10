"""TLS: production references its certificate, and the certificate covers the environment's
host names and is not due for renewal (both checked once the certificate is resolved)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from ..secrets.certificates import certificate_path, covers, public_hosts, renew_before_days
from .rule import Context, Finding, rule


@rule(
    "production-tls-certificate",
    "Production with TLS on references its certificate (tls.certificate, tls.private_key)",
    ["production"],
    reads=[("security", "tls"), ("tls", "certificate"), ("tls", "private_key")],
)
def production_certificate(context: Context) -> Iterator[Finding]:
    environment = context.environment
    if environment.value(("security", "tls")) is True and "tls" not in environment.profile.data:
        yield Finding(
            ("security", "tls"),
            "TLS is on but no certificate is given: add tls.certificate and tls.private_key "
            "(references)",
        )


@rule(
    "tls-certificate-hosts",
    "The certificate covers every host name of the environment (when it is resolved)",
    ["staging", "production"],
    severity={"staging": "warning", "production": "error"},
)
def certificate_hosts(context: Context) -> Iterator[Finding]:
    environment = context.environment
    certificate = environment.certificate
    where = certificate_path(environment.profile)
    if certificate is None or where is None:
        return  # not resolved here: nothing to judge
    missing = sorted(
        {
            host
            for _, host in public_hosts(environment.profile)
            if not covers(certificate.hosts, host)
        }
    )
    if missing:
        names = ", ".join(certificate.hosts) or "none"
        yield Finding(
            where,
            f"the certificate ({certificate.subject}; names: {names}) does not cover "
            f"{', '.join(missing)}",
        )


@rule(
    "tls-certificate-expiry",
    "The certificate is not expired, nor due for renewal (tls.renew_before_days), when resolved",
    ["staging", "production"],
    severity={"staging": "warning", "production": "error"},
)
def certificate_expiry(context: Context) -> Iterator[Finding]:
    environment = context.environment
    certificate = environment.certificate
    where = certificate_path(environment.profile)
    if certificate is None or where is None:
        return  # not resolved here: secrets audit reads it from its store
    now = datetime.now(UTC)
    expires = certificate.not_after.date().isoformat()
    renew = renew_before_days(environment.profile)
    days_left = (certificate.not_after - now).days
    if certificate.not_after <= now:
        yield Finding(
            where,
            f"the certificate ({certificate.subject}) expired on {expires}: renew it, and store "
            "the new one at this reference",
        )
    elif days_left < renew:
        yield Finding(
            where,
            f"the certificate ({certificate.subject}) expires on {expires}, in {days_left} days: "
            f"within renew_before_days ({renew}); renew it",
        )
