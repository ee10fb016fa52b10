"""Real certificates for the tests, made with cryptography: self-signed, for given host names,
expiring when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def certificate_pem(
    hosts: list[str],
    key: ec.EllipticCurvePrivateKey,
    expires_in_days: float = 365,
    common_name: str | None = None,
) -> str:
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or hosts[0])])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now + timedelta(days=expires_in_days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def tls_pair(hosts: list[str], expires_in_days: float = 365) -> dict[str, str]:
    """{certificate, private_key} as the profiles' Vault secret mantis/<env>/tls holds them."""
    key = new_key()
    return {
        "certificate": certificate_pem(hosts, key, expires_in_days),
        "private_key": key_pem(key),
    }
