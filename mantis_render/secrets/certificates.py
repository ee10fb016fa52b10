"""The environment's TLS certificate: its files, what it says (subject, host names, expiry), that
its key matches, and which host names it must cover.

A certificate is public, but its private key is a secret: no message here ever includes either.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NamedTuple

from ..catalogue.types import HOST_PATTERN
from ..errors import Problem
from ..profiles import Profile
from ..profiles.variables import Variable, as_text, value_at
from ..yaml_source import format_key_path
from .references import parse_reference

DEFAULT_RENEW_BEFORE_DAYS = 30
# Beside the certificate in the catalogue: how many days before expiry it is due.
RENEW_BEFORE_DAYS = "renew_before_days"
CERTIFICATE_KIND, PRIVATE_KEY_KIND = "certificate", "private-key"


def tls_files(profile: Profile) -> list[Variable]:
    """The secret files the catalogue declares (a certificate and its key), as secrets named
    after their files (tls.crt, tls.key); those the profile sets."""
    files = []
    for path, name in profile.catalogue.secret_files.items():
        try:
            value = value_at(profile.data, path)
        except (KeyError, TypeError):
            continue  # an optional section (tls) left out
        reference = parse_reference(value) if isinstance(value, dict) else None
        text = None if reference else as_text(value)
        kind = profile.catalogue.rules_at(path)["meta"]["secret"]
        files.append(Variable(name, text, kind, path, reference))
    return files


def certificate_path(profile: Profile) -> tuple[Any, ...] | None:
    """The catalogue's certificate setting (a secret file of kind certificate), if any."""
    return profile.catalogue.secret_file_of_kind(CERTIFICATE_KIND)


def renew_before_days(profile: Profile) -> int:
    path = certificate_path(profile)
    if path is None:
        return DEFAULT_RENEW_BEFORE_DAYS
    try:
        return int(value_at(profile.data, (*path[:-1], RENEW_BEFORE_DAYS)))
    except (KeyError, TypeError):
        return DEFAULT_RENEW_BEFORE_DAYS


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


def host_settings(profile: Profile) -> list[tuple[tuple[Any, ...], str]]:
    """(setting, host name) of every host setting the profile sets, and of each server of
    every list of servers (host:port), in catalogue order."""
    found: list[tuple[tuple[Any, ...], str]] = []
    for path in profile.catalogue.of_type("host", "servers"):
        try:
            value = value_at(profile.data, path)
        except (KeyError, TypeError):
            continue
        if profile.catalogue.types[path] == "host":
            found.append((path, str(value)))
        else:
            for index, server in enumerate(value):
                found.append(((*path, index), str(server).rpartition(":")[0]))
    return found


def public_hosts(profile: Profile) -> list[tuple[tuple[Any, ...], str]]:
    """(setting, host name) for every host the environment's clients connect to over TLS: each
    host setting and each Kafka bootstrap server. IP addresses and loopback names are left out."""
    host_name = re.compile(HOST_PATTERN)
    found = host_settings(profile)
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
    by_kind = {file.secret_kind: file for file in files}
    certificate_file, key_file = by_kind.get(CERTIFICATE_KIND), by_kind.get(PRIVATE_KEY_KIND)
    if certificate_file is None or certificate_file.value is None:
        return None, []
    certificate_at, key_at = certificate_file.path, key_file.path if key_file else None
    assert certificate_at is not None
    key_pem = key_file.value if key_file else None
    problems = []
    try:
        certificate = read_certificate(certificate_file.value)
    except ValueError as error:
        return None, [_problem(profile, certificate_at, f"{certificate_file.name} {error}")]
    if key_file is not None and key_pem is not None and key_at is not None:
        try:
            if not key_matches(certificate, key_pem):
                problems.append(
                    _problem(
                        profile,
                        key_at,
                        f"{key_file.name} is not the key of the certificate "
                        f"({format_key_path(certificate_at)}): their public keys differ",
                    )
                )
        except ValueError as error:
            problems.append(_problem(profile, key_at, f"{key_file.name} {error}"))
    return certificate, problems


def _problem(profile: Profile, path: tuple[Any, ...], message: str) -> Problem:
    location = profile.locations[path]
    return Problem(location.file, location.line, format_key_path(path), message)
