"""Secret references in profiles, the errors of the stores that hold them, and the env and file
readers (each store has its module: vault, aws_secrets).

A secret setting holds a literal (development only) or a reference:

    password: {vault: mantis/staging/postgres, key: password}   # Vault KV v2, under the mount
    password: {aws: mantis/staging/postgres, key: password}     # AWS Secrets Manager (JSON field)
    password: {azure: mantis-staging-postgres}                  # Azure Key Vault (Kubernetes only)
    password: {kubernetes: mantis-postgres, key: password}      # a Kubernetes Secret (idem)
    password: {env: MANTIS_POSTGRES_PASSWORD}                    # an environment variable
    password: {file: secrets/postgres-password}                  # a file (relative to the project)

No error message here ever includes a secret value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import closest, quoted

VAULT_PATH = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*")
VAULT_KEY = re.compile(r"[A-Za-z0-9_.-]+")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class StoreKind(NamedTuple):
    """How a reference to one kind of secret store is written, and what it may name."""

    kind: str
    product: str
    form: str
    example: str
    name: re.Pattern[str]
    name_hint: str
    # "required", "optional" (AWS: a JSON field, or the whole secret string) or "none".
    key: str
    key_pattern: re.Pattern[str] = VAULT_KEY
    key_hint: str = "a field name, like password"


# The stores External Secrets reads from that the guide names, in the order the outputs list them.
STORE_KINDS: dict[str, StoreKind] = {
    store.kind: store
    for store in (
        StoreKind(
            "vault",
            "HashiCorp Vault",
            "{vault: PATH, key: KEY}",
            "{vault: mantis/staging/postgres, key: password}",
            VAULT_PATH,
            "a path inside the KV mount, like mantis/staging/postgres",
            "required",
        ),
        StoreKind(
            "aws",
            "AWS Secrets Manager",
            "{aws: NAME[, key: FIELD]}",
            "{aws: mantis/staging/postgres, key: password}",
            # Secret names: letters, digits and /_+=.@- (AWS); at most 512 characters.
            re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}"),
            "a secret name, like mantis/staging/postgres",
            "optional",
            # External Secrets reads a field through a gjson path, where '.' nests: none here.
            re.compile(r"[A-Za-z0-9_-]+"),
            "a JSON field name of letters, digits, _ and -, like password",
        ),
        StoreKind(
            "azure",
            "Azure Key Vault",
            "{azure: NAME}",
            "{azure: mantis-staging-postgres-password}",
            # Key Vault secret names: letters, digits and dashes, at most 127 characters.
            re.compile(r"[0-9A-Za-z-]{1,127}"),
            "a Key Vault secret name of letters, digits and dashes",
            "none",
        ),
        StoreKind(
            "kubernetes",
            "Kubernetes Secrets",
            "{kubernetes: NAME, key: KEY}",
            "{kubernetes: mantis-postgres, key: password}",
            re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?"),
            "a Secret name, like mantis-postgres",
            "required",
            re.compile(r"[-._a-zA-Z0-9]{1,253}"),
            "a key of the Secret, like password",
        ),
    )
}
LOCAL_KINDS = ("env", "file")
# Stores only External Secrets reads, in the cluster: never resolved for a local .env.
KUBERNETES_ONLY = ("azure", "kubernetes")
REFERENCE_FORMS = (
    ", ".join(store.form for store in STORE_KINDS.values()) + ", {env: NAME} or {file: PATH}"
)
REFERENCE_KEYS = (*STORE_KINDS, "key", *LOCAL_KINDS)


class StoreReference(NamedTuple):
    """A secret in a store: a Vault path, an AWS secret name, ...; ``key`` the field in it."""

    store: str
    path: str
    key: str | None = None

    def __str__(self) -> str:
        return f"{self.store}:{self.path}" + (f"#{self.key}" if self.key else "")


@dataclass(frozen=True)
class EnvReference:
    name: str

    def __str__(self) -> str:
        return f"env:{self.name}"


@dataclass(frozen=True)
class FileReference:
    path: str

    def __str__(self) -> str:
        return f"file:{self.path}"


SecretReference = StoreReference | EnvReference | FileReference


def reference_problem(value: Mapping[str, Any]) -> str | None:
    """Why ``value`` is not a well-formed reference, or None when it is one."""
    unknown = [key for key in value if key not in REFERENCE_KEYS]
    if unknown:
        close = closest(str(unknown[0]), REFERENCE_KEYS)
        hint = f"; did you mean '{close}'?" if close else f"; a reference is {REFERENCE_FORMS}"
        return f"unknown key '{unknown[0]}' in a secret reference{hint}"
    kinds = [kind for kind in (*STORE_KINDS, *LOCAL_KINDS) if kind in value]
    if len(kinds) != 1:
        return f"a secret reference is exactly one of {REFERENCE_FORMS}"
    kind = kinds[0]
    target = value[kind]
    if not isinstance(target, str) or not target:
        return f"'{kind}' must be a non-empty text"
    store = STORE_KINDS.get(kind)
    if store is None:
        if "key" in value:
            return f"'key' belongs to store references, not to {kind} references"
        if kind == "env" and not ENV_NAME.fullmatch(target):
            return "'env' must be an environment variable name, like MANTIS_POSTGRES_PASSWORD"
        return None
    if not store.name.fullmatch(target) or ".." in target.split("/"):
        return f"'{kind}' must be {store.name_hint}"
    key = value.get("key")
    if key is None:
        if store.key == "required":
            return f"a {kind} reference needs 'key': the field of the secret to read"
        return None
    if store.key == "none":
        return f"a {kind} reference has no 'key': it names the secret, like {store.example}"
    if not isinstance(key, str) or not store.key_pattern.fullmatch(key):
        return f"'key' must be {store.key_hint}"
    return None


def parse_reference(value: Mapping[str, Any]) -> SecretReference:
    """The reference a validated mapping describes."""
    for kind in STORE_KINDS:
        if kind in value:
            return StoreReference(kind, value[kind], value.get("key"))
    if "env" in value:
        return EnvReference(value["env"])
    return FileReference(value["file"])


VAULT_HELP = "set VAULT_ADDR, and VAULT_TOKEN, ~/.vault-token or VAULT_ROLE_ID and VAULT_SECRET_ID"


class SecretUnavailable(Exception):
    """One reference could not be resolved; the message names no secret value."""


class MissingSecret(SecretUnavailable):
    """The secret, or its key, is not in the store (as opposed to unreadable)."""


class StoreUnusable(SecretUnavailable):
    """The store is configured on this machine but cannot be used as it is (a malformed address,
    an unknown profile, a CA file that is not there): one problem for the store, said once, and
    naming the setting to fix. Never holds a secret value."""


class StoreNotConfigured(Exception):
    """Nothing says how to reach the store here (VAULT_ADDR unset, no AWS credentials...), so
    its references are left unresolved: the committable output needs no secret value."""


VaultNotConfigured = StoreNotConfigured

# How long a run waits for a store that does not answer, in seconds: each request's timeout,
# and once one has timed out, the store's later requests fail at once (the paths a render needs
# are fetched together, so a run waits about this long in all).
STORE_TIMEOUT_VARIABLE = "MANTIS_STORE_TIMEOUT"
DEFAULT_STORE_TIMEOUT = 3.0


def store_timeout(environ: Mapping[str, str]) -> float:
    """The wait for one store's answers (MANTIS_STORE_TIMEOUT, seconds); StoreUnusable when it
    is set to something else than a positive number."""
    text = environ.get(STORE_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_STORE_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= 3600):
        raise StoreUnusable(
            f"{STORE_TIMEOUT_VARIABLE}={quoted(text)} is not a number of seconds from 0 to 3600 "
            f"(like 5); unset it for the default {DEFAULT_STORE_TIMEOUT:g}"
        )
    return seconds


def timed_out(product: str, where: str, seconds: float) -> SecretUnavailable:
    """What a store that did not answer in time is reported as, for each of its secrets."""
    return SecretUnavailable(
        f"{product} at {where} did not answer within {seconds:g} s (timed out); check the "
        f"address, or wait longer with {STORE_TIMEOUT_VARIABLE}=SECONDS"
    )


def connection_failure(error: BaseException) -> str:
    """Why a store's client could not talk to it, in a few words (the exception chain's text
    says it in many: "Max retries exceeded with url ... [Errno 111] Connection refused"), or
    the exception's name."""
    texts: list[str] = []
    link: BaseException | None = error
    while link is not None and len(texts) < 10:
        texts.append(f"{link} {getattr(link, 'kwargs', '')}".lower())
        link = link.__cause__ or link.__context__
    text = " ".join(texts)
    for known, said in _CONNECTION_FAILURES:
        if known in text:
            return said
    return type(error).__name__


_CLOSED = "it closed the connection without an answer"
_CONNECTION_FAILURES = (
    ("connection refused", "connection refused"),
    ("name or service not known", "name or service not known"),
    ("temporary failure in name resolution", "name or service not known"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network is unreachable"),
    ("remotedisconnected", _CLOSED),
    ("connection reset", _CLOSED),
    ("connection aborted", _CLOSED),
    ("connection was closed", _CLOSED),
    ("certificate verify failed", "its TLS certificate is not trusted (see VAULT_CACERT)"),
    ("tls ca certificate bundle", "VAULT_CACERT cannot be read as CA certificates"),
)


def field_of(data: Mapping[str, Any], key: str) -> str:
    """One field of a secret that holds several (Vault's data, an AWS JSON secret)."""
    if key not in data:
        keys = ", ".join(sorted(data)) or "none"
        raise MissingSecret(f"the secret has no key '{key}' (its keys: {keys})")
    value = data[key]
    if not isinstance(value, str):
        raise SecretUnavailable(f"the value of key '{key}' is not text")
    return value


def read_env(reference: EnvReference, environ: Mapping[str, str]) -> str:
    if reference.name not in environ:
        raise SecretUnavailable(f"environment variable {reference.name} is not set")
    return environ[reference.name]


# A secret is a short text (a certificate chain is some kilobytes): a reference to a large file
# (or to /dev/zero) is a mistake, refused after reading this much.
MAX_SECRET_FILE_BYTES = 1 << 20


def read_file(reference: FileReference, root: Path) -> str:
    """The file's text, less one trailing newline (as `echo` and editors add).

    A relative path is relative to the project; an absolute one, or one starting with ``~/``,
    may point outside it: a developer's secrets kept out of the repository cannot be committed
    by accident.
    """
    path = root / Path(reference.path).expanduser()
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as error:
        raise SecretUnavailable(f"cannot read {reference.path}: {error.strerror}") from None
    if len(raw) > MAX_SECRET_FILE_BYTES:
        limit = MAX_SECRET_FILE_BYTES >> 20
        raise SecretUnavailable(f"{reference.path} is larger than {limit} MiB; a secret is short")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretUnavailable(f"{reference.path} is not UTF-8 text") from None
    return text[:-1] if text.endswith("\n") else text
