"""The environment's TLS certificate: its files, what it says (subject, host names, expiry), that
its key matches, and which host names it must cover.

A certificate is public, but its private key is a secret: no message here ever includes either.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from .errors import Problem
from .profiles import Profile
from .schema import HOST_PATTERN, SECRET_FILES, settings
from .secrets import parse_reference
from .variables import Variable, as_text, value_at
from .yaml_source import format_key_path

CERTIFICATE, PRIVATE_KEY = ("tls", "certificate"), ("tls", "private_key")
DEFAULT_RENEW_BEFORE_DAYS = 30


def tls_files(profile: Profile) -> list[Variable]:
    """The certificate and its key as secrets named after their files (tls.crt, tls.key);
    none when the profile has no tls section."""
    if "tls" not in profile.data:
        return []
    files = []
    for path, name in SECRET_FILES.items():
        value = value_at(profile.data, path)
        reference = parse_reference(value) if isinstance(value, dict) else None
        text = None if reference else as_text(value)
        kind = "certificate" if path == CERTIFICATE else "private-key"
        files.append(Variable(name, text, kind, path, reference))
    return files


def renew_before_days(profile: Profile) -> int:
    return int(profile.data.get("tls", {}).get("renew_before_days", DEFAULT_RENEW_BEFORE_DAYS))


class Certificate(NamedTuple):
    subject: str
    hosts: list[str]  # the DNS names of its subjectAltName
    not_after: datetime
    public_key: Any


# A private key in the certificate's text would be written to tls.crt, which is not kept as
# closely as tls.key (External Secrets copies it into the Secret's public half).
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_SUPPORTED = "RSA, ECDSA, Ed25519 or Ed448"


def read_certificate(pem: str) -> Certificate:
    """The first certificate of a PEM text (the server's; its chain follows). ValueError when
    there is none, or it cannot be used, with a message that quotes nothing of the text."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm

    if _PRIVATE_KEY.search(pem):
        raise ValueError(
            "holds a private key beside the certificate: the key must never land in tls.crt; "
            "store the certificate (and its chain) alone, and the key as tls.private_key"
        )
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except ValueError:
        raise ValueError("is not a PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    try:
        public_key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        raise ValueError(
            "has a public key of an algorithm that cannot be read here; a TLS certificate's "
            f"key is {_SUPPORTED}"
        ) from None
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        hosts = names.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        hosts = []
    except ValueError as error:  # a malformed or duplicate extension
        raise ValueError(f"has extensions that cannot be read ({error})") from None
    return Certificate(
        certificate.subject.rfc4514_string(),
        list(hosts),
        certificate.not_valid_after_utc,
        public_key,
    )


def key_matches(certificate: Certificate, key_pem: str) -> bool:
    """Whether the private key is the certificate's: their public keys are equal.
    ValueError when the text is no PEM private key (or one with a passphrase)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(key_pem.encode("utf-8"), password=None)
    except UnsupportedAlgorithm:
        raise ValueError(
            f"is a private key of an algorithm that cannot be read here; use {_SUPPORTED}"
        ) from None
    except (ValueError, TypeError):
        raise ValueError(
            "is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)"
        ) from None
    encoding, public_format = (
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return bool(
        key.public_key().public_bytes(encoding, public_format)
        == certificate.public_key.public_bytes(encoding, public_format)
    )


def covers(names: list[str], host: str) -> bool:
    """Whether a certificate for ``names`` is valid for ``host`` (RFC 6125: a wildcard is the
    whole leftmost label and stands for exactly one label)."""
    host = host.lower().rstrip(".")
    for name in (name.lower().rstrip(".") for name in names):
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            label, rest = host.split(".", 1)
            if label and rest == name[2:]:
                return True
    return False


def public_hosts(profile: Profile) -> list[tuple[tuple[Any, ...], str]]:
    """(setting, host name) for every host the environment's clients connect to over TLS: each
    host setting and each Kafka bootstrap server. IP addresses and loopback names are left out."""
    host_name = re.compile(HOST_PATTERN)
    found = []
    for setting in settings():
        if setting.env.endswith("_HOST"):
            found.append((setting.path, str(value_at(profile.data, setting.path))))
    for index, server in enumerate(value_at(profile.data, ("kafka", "bootstrap_servers"))):
        found.append((("kafka", "bootstrap_servers", index), server.rpartition(":")[0]))
    return [
        (path, host)
        for path, host in found
        if host_name.fullmatch(host)
        and not host.replace(".", "").isdigit()
        and host.lower() not in ("localhost", "localhost.localdomain")
    ]


def certificate_problems(
    profile: Profile, files: list[Variable]
) -> tuple[Certificate | None, list[Problem]]:
    """The resolved certificate, and why it cannot be used (unreadable, or not its key's)."""
    values = {file.path: file.value for file in files}
    certificate_pem, key_pem = values.get(CERTIFICATE), values.get(PRIVATE_KEY)
    if certificate_pem is None:
        return None, []
    problems = []
    try:
        certificate = read_certificate(certificate_pem)
    except ValueError as error:
        return None, [_problem(profile, CERTIFICATE, f"tls.crt {error}")]
    if key_pem is not None:
        try:
            if not key_matches(certificate, key_pem):
                problems.append(
                    _problem(
                        profile,
                        PRIVATE_KEY,
                        "tls.key is not the key of the certificate (tls.certificate): "
                        "their public keys differ",
                    )
                )
        except ValueError as error:
            problems.append(_problem(profile, PRIVATE_KEY, f"tls.key {error}"))
    return certificate, problems


def _problem(profile: Profile, path: tuple[str, ...], message: str) -> Problem:
    location = profile.locations[path]
    return Problem(location.file, location.line, format_key_path(path), message)
