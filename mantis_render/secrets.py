"""Secret references in profiles, and the resolvers that fetch their values (Vault, env, file).

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

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from .errors import closest

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


class StoreNotConfigured(Exception):
    """Nothing says how to reach the store here (VAULT_ADDR unset, no AWS credentials...), so
    its references are left unresolved: the committable output needs no secret value."""


VaultNotConfigured = StoreNotConfigured


class VaultSettings(NamedTuple):
    """How to reach Vault, from the standard variables (VAULT_ADDR, VAULT_TOKEN, ...)."""

    address: str
    mount: str
    token: str | None = None
    role_id: str | None = None
    secret_id: str | None = None
    verify: bool | str = True

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], mount: str) -> VaultSettings:
        address = environ.get("VAULT_ADDR", "")
        if not address:
            raise StoreNotConfigured(f"its Vault references need Vault ({VAULT_HELP})")
        token = environ.get("VAULT_TOKEN") or _token_file(environ)
        verify: bool | str = True
        if environ.get("VAULT_CACERT"):
            verify = environ["VAULT_CACERT"]
        elif environ.get("VAULT_SKIP_VERIFY", "").lower() in ("1", "true"):
            verify = False
        return cls(
            address=address,
            mount=mount,
            token=token,
            role_id=environ.get("VAULT_ROLE_ID"),
            secret_id=environ.get("VAULT_SECRET_ID"),
            verify=verify,
        )


def _token_file(environ: Mapping[str, str]) -> str | None:
    """The token the vault CLI saved at login (~/.vault-token), or VAULT_TOKEN_FILE's."""
    if environ.get("VAULT_TOKEN_FILE"):
        path = Path(environ["VAULT_TOKEN_FILE"])
    elif environ.get("HOME"):
        path = Path(environ["HOME"]) / ".vault-token"
    else:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


class VaultReader:
    """Reads KV v2 secrets, one request per secret path, with readable failures."""

    def __init__(self, settings: VaultSettings, timeout: float = 5.0) -> None:
        import hvac  # imported here: only commands that resolve secrets pay for it

        self.settings = settings
        self._client = hvac.Client(
            url=settings.address, token=settings.token, verify=settings.verify, timeout=timeout
        )
        self._cache: dict[str, dict[str, Any] | SecretUnavailable] = {}
        self._login_failure: SecretUnavailable | None = None
        if not settings.token and settings.role_id and settings.secret_id:
            self._login()

    def read(self, reference: StoreReference) -> str:
        assert reference.key is not None  # Vault references always name their key
        return field_of(self._secret(reference.path), reference.key)

    def last_changed(self, reference: StoreReference) -> datetime:
        """When the current version of the secret was written."""
        metadata = self.metadata(reference.path)
        created = metadata["versions"][str(metadata["current_version"])]["created_time"]
        # Vault gives nanoseconds; Python takes microseconds.
        trimmed = re.sub(r"(\.\d{6})\d+", r"\1", created).replace("Z", "+00:00")
        return datetime.fromisoformat(trimmed)

    def exists(self, reference: StoreReference) -> bool:
        """Whether the secret and its key are there, read afresh."""
        self._cache.pop(reference.path, None)
        try:
            self.read(reference)
        except MissingSecret:
            return False
        return True

    def create(self, reference: StoreReference, value: str) -> bool:
        """Write ``value`` under its key where nothing is, with KV v2's check-and-set: a secret
        written meanwhile is never overwritten. False when the key appeared meanwhile."""

        assert reference.key is not None  # Vault references always name their key
        for _attempt in range(5):
            self._cache.pop(reference.path, None)
            try:
                metadata = self.metadata(reference.path)
                version = int(metadata["current_version"])
                data = dict(self._secret(reference.path))
            except MissingSecret:
                version, data = 0, {}
            if reference.key in data:
                return False
            data[reference.key] = value
            try:
                self._call(
                    lambda data=data, version=version: (
                        self._client.secrets.kv.v2.create_or_update_secret(
                            path=reference.path,
                            secret=data,
                            cas=version,
                            mount_point=self.settings.mount,
                        )
                    ),
                    reference.path,
                    "writing",
                )
                return True
            except SecretUnavailable as error:
                if "check-and-set" not in str(error):
                    raise
        raise SecretUnavailable(
            f"{self.settings.mount}/{reference.path} kept changing while it was written; run again"
        )

    def check_access(self) -> None:
        """Raise SecretUnavailable unless the token is valid (no secret is read)."""
        import hvac.exceptions
        import requests

        if self._login_failure:
            raise self._login_failure
        if not self._client.token:
            raise SecretUnavailable(f"no Vault token: {VAULT_HELP}")
        try:
            self._client.auth.token.lookup_self()
        except hvac.exceptions.Forbidden:
            raise SecretUnavailable(
                "Vault refused the token (permission denied): vault login, or set VAULT_TOKEN"
            ) from None
        except hvac.exceptions.VaultError as error:
            raise SecretUnavailable(f"Vault refused the token: {_first_line(error)}") from None
        except requests.exceptions.RequestException as error:
            raise SecretUnavailable(
                f"Vault at {self.settings.address} is unreachable ({_reason(error)})"
            ) from None

    def metadata(self, path: str) -> dict[str, Any]:
        """KV v2 metadata of a secret (versions and their times)."""
        response = self._call(
            lambda: self._client.secrets.kv.v2.read_secret_metadata(
                path=path, mount_point=self.settings.mount
            ),
            path,
        )
        return dict(response["data"])

    def _secret(self, path: str) -> dict[str, Any]:
        if path not in self._cache:
            try:
                response = self._call(
                    lambda: self._client.secrets.kv.v2.read_secret_version(
                        path=path, mount_point=self.settings.mount, raise_on_deleted_version=True
                    ),
                    path,
                )
                self._cache[path] = dict(response["data"]["data"] or {})
            except SecretUnavailable as error:
                self._cache[path] = error
        cached = self._cache[path]
        if isinstance(cached, SecretUnavailable):
            raise cached
        return cached

    def _call(self, request: Any, path: str, action: str = "reading") -> Any:
        import hvac.exceptions
        import requests

        if self._login_failure:
            raise self._login_failure
        if not self.settings.token and not self._client.token:
            raise SecretUnavailable(
                "no Vault token: set VAULT_TOKEN, write ~/.vault-token, "
                "or set VAULT_ROLE_ID and VAULT_SECRET_ID"
            )
        where = f"{self.settings.mount}/{path}"
        try:
            return request()
        except hvac.exceptions.InvalidPath:
            raise MissingSecret(f"no secret at {where} in Vault") from None
        except hvac.exceptions.Forbidden:
            raise SecretUnavailable(
                f"permission denied {action} {where} (check the token and its policy)"
            ) from None
        except hvac.exceptions.VaultError as error:
            raise SecretUnavailable(
                f"Vault refused {action} {where}: {_first_line(error)}"
            ) from None
        except requests.exceptions.RequestException as error:
            raise SecretUnavailable(
                f"Vault at {self.settings.address} is unreachable ({_reason(error)})"
            ) from None

    def _login(self) -> None:
        import hvac.exceptions
        import requests

        try:
            self._client.auth.approle.login(
                role_id=self.settings.role_id, secret_id=self.settings.secret_id
            )
        except hvac.exceptions.VaultError as error:
            self._login_failure = SecretUnavailable(f"AppRole login failed: {_first_line(error)}")
        except requests.exceptions.RequestException as error:
            self._login_failure = SecretUnavailable(
                f"Vault at {self.settings.address} is unreachable ({_reason(error)})"
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


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _reason(error: Exception) -> str:
    text = str(error)
    for known in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "No route to host",
    ):
        if known.lower() in text.lower():
            return known.lower()
    return type(error).__name__
