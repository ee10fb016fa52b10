"""Secret references in profiles, and the resolvers that fetch their values (Vault, env, file).

A secret setting holds a literal (development only) or a reference:

    password: {vault: mantis/staging/postgres, key: password}   # Vault KV v2, under the mount
    password: {env: MANTIS_POSTGRES_PASSWORD}                    # an environment variable
    password: {file: secrets/postgres-password}                  # a file (relative to the project)

No error message here ever includes a secret value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VAULT_PATH = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*")
VAULT_KEY = re.compile(r"[A-Za-z0-9_.-]+")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REFERENCE_FORMS = "{vault: PATH, key: KEY}, {env: NAME} or {file: PATH}"
REFERENCE_KEYS = ("vault", "key", "env", "file")


@dataclass(frozen=True)
class VaultReference:
    path: str
    key: str

    def __str__(self) -> str:
        return f"vault:{self.path}#{self.key}"


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


SecretReference = VaultReference | EnvReference | FileReference


def reference_problem(value: Mapping[str, Any]) -> str | None:
    """Why ``value`` is not a well-formed reference, or None when it is one."""
    unknown = [key for key in value if key not in REFERENCE_KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), REFERENCE_KEYS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; a reference is {REFERENCE_FORMS}"
        return f"unknown key '{unknown[0]}' in a secret reference{hint}"
    kinds = [kind for kind in ("vault", "env", "file") if kind in value]
    if len(kinds) != 1:
        return f"a secret reference is exactly one of {REFERENCE_FORMS}"
    kind = kinds[0]
    target = value[kind]
    if not isinstance(target, str) or not target:
        return f"'{kind}' must be a non-empty text"
    if kind == "vault":
        if not VAULT_PATH.fullmatch(target) or ".." in target.split("/"):
            return "'vault' must be a path inside the KV mount, like mantis/staging/postgres"
        key = value.get("key")
        if key is None:
            return "a vault reference needs 'key': the field of the secret to read"
        if not isinstance(key, str) or not VAULT_KEY.fullmatch(key):
            return "'key' must be a field name, like password"
        return None
    if "key" in value:
        return f"'key' belongs to vault references, not to {kind} references"
    if kind == "env" and not ENV_NAME.fullmatch(target):
        return "'env' must be an environment variable name, like MANTIS_POSTGRES_PASSWORD"
    return None


def parse_reference(value: Mapping[str, Any]) -> SecretReference:
    """The reference a validated mapping describes."""
    if "vault" in value:
        return VaultReference(value["vault"], value["key"])
    if "env" in value:
        return EnvReference(value["env"])
    return FileReference(value["file"])


class SecretUnavailable(Exception):
    """One reference could not be resolved; the message names no secret value."""


class VaultNotConfigured(Exception):
    """VAULT_ADDR is not set, so no Vault reference can be resolved here."""


@dataclass(frozen=True)
class VaultSettings:
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
            raise VaultNotConfigured("VAULT_ADDR is not set")
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

    def read(self, reference: VaultReference) -> str:
        data = self._secret(reference.path)
        if reference.key not in data:
            keys = ", ".join(sorted(data)) or "none"
            raise SecretUnavailable(f"the secret has no key '{reference.key}' (its keys: {keys})")
        value = data[reference.key]
        if not isinstance(value, str):
            raise SecretUnavailable(f"the value of key '{reference.key}' is not text")
        return value

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

    def _call(self, request: Any, path: str) -> Any:
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
            raise SecretUnavailable(f"no secret at {where} in Vault") from None
        except hvac.exceptions.Forbidden:
            raise SecretUnavailable(
                f"permission denied reading {where} (check the token and its policy)"
            ) from None
        except hvac.exceptions.VaultError as error:
            raise SecretUnavailable(
                f"Vault refused reading {where}: {_first_line(error)}"
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
