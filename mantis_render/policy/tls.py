"""TLS: production references its certificate, and the certificate covers the environment's
host names (checked once the certificate is resolved)."""

from __future__ import annotations

from collections.abc import Iterator

from ..certificates import CERTIFICATE, covers, public_hosts
from . import Context, Finding, rule


@rule(
    "production-tls-certificate",
    "Production with TLS on references its certificate (tls.certificate, tls.private_key)",
    ["production"],
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
    if certificate is None:
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
            CERTIFICATE,
            f"the certificate ({certificate.subject}; names: {names}) does not cover "
            f"{', '.join(missing)}",
        )
