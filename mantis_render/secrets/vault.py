"""HashiCorp Vault (or OpenBao), KV version 2, through hvac: read a secret's field, its last
change, and create what is missing with check-and-set.

How to reach it comes from the standard variables (VAULT_ADDR, VAULT_TOKEN or ~/.vault-token,
VAULT_ROLE_ID and VAULT_SECRET_ID, VAULT_CACERT, VAULT_SKIP_VERIFY), checked when the store is
opened: a malformed one is one problem naming it, before any request. A Vault that does not
answer is waited on once (MANTIS_STORE_TIMEOUT): after one request has timed out, the others
fail at once.

No message here ever includes a secret value, or the token.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from ..errors import quoted
from .references import (
    VAULT_HELP,
    MissingSecret,
    SecretUnavailable,
    StoreNotConfigured,
    StoreReference,
    StoreUnusable,
    connection_failure,
    field_of,
    store_timeout,
    timed_out,
)

PRODUCT = "HashiCorp Vault"
# What a token is made of (hvs.…, s.…, b.…): printable ASCII, no space. A token pasted from a
# document with typographic quotes cannot even be sent (HTTP headers are Latin-1).
_TOKEN = re.compile(r"[!-~]+")


class VaultSettings(NamedTuple):
    """How to reach Vault, from the standard variables (VAULT_ADDR, VAULT_TOKEN, ...)."""

    address: str
    mount: str
    token: str | None = None
    role_id: str | None = None
    secret_id: str | None = None
    verify: bool | str = True
    timeout: float = 3.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], mount: str) -> VaultSettings:
        """The settings, or StoreNotConfigured (no VAULT_ADDR), or StoreUnusable naming the
        variable that is set to something unusable."""
        address = environ.get("VAULT_ADDR", "")
        if not address:
            raise StoreNotConfigured(f"its Vault references need Vault ({VAULT_HELP})")
        _check_address(address)
        token, source = environ.get("VAULT_TOKEN"), "VAULT_TOKEN"
        if not token:
            token, source = _token_file(environ)
        if token is not None and not _TOKEN.fullmatch(token):
            raise StoreUnusable(
                f"{source} holds characters no Vault token has (a space, or typographic quotes "
                "pasted from a document): set it again, as plain text"
            )
        verify: bool | str = True
        if environ.get("VAULT_CACERT"):
            verify = environ["VAULT_CACERT"]
            if not os.path.exists(verify):
                raise StoreUnusable(
                    f"VAULT_CACERT names {verify}, which does not exist: point it at the CA "
                    "certificate (PEM) that signed Vault's, or unset it"
                )
        elif environ.get("VAULT_SKIP_VERIFY", "").lower() in ("1", "true"):
            verify = False
        return cls(
            address=address,
            mount=mount,
            token=token or None,
            role_id=environ.get("VAULT_ROLE_ID"),
            secret_id=environ.get("VAULT_SECRET_ID"),
            verify=verify,
            timeout=store_timeout(environ),
        )


def _check_address(address: str) -> None:
    problem = None
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError as error:
        problem = str(error)
    else:
        if parts.scheme not in ("http", "https"):
            problem = "it is not an http:// or https:// address"
        elif not parts.hostname:
            problem = "it names no host"
    if problem:
        raise StoreUnusable(
            f"VAULT_ADDR={quoted(address)} is not a Vault address ({problem}); set it like "
            "https://vault.example.com:8200"
        )


def _token_file(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The token the vault CLI saved at login (~/.vault-token), or VAULT_TOKEN_FILE's, and
    where it was read (for a message)."""
    if environ.get("VAULT_TOKEN_FILE"):
        path, shown = Path(environ["VAULT_TOKEN_FILE"]), "VAULT_TOKEN_FILE"
    elif environ.get("HOME"):
        path, shown = Path(environ["HOME"]) / ".vault-token", "~/.vault-token"
    else:
        return None, ""
    try:
        return path.read_text(encoding="utf-8").strip() or None, shown
    except (OSError, UnicodeDecodeError):
        return None, shown


class VaultReader:
    """Reads KV v2 secrets, one request per secret path (cached), with readable failures. Safe
    to use from several threads at once: a render fetches its paths together."""

    def __init__(self, settings: VaultSettings) -> None:
        import hvac  # imported here: only commands that resolve secrets pay for it

        self.settings = settings
        self._client = hvac.Client(
            url=settings.address,
            token=settings.token,
            verify=settings.verify,
            timeout=settings.timeout,
        )
        self._cache: dict[str, dict[str, Any] | SecretUnavailable] = {}
        self._failure: SecretUnavailable | None = None  # the login failed, or Vault hangs
        self._mount_checked = False
        self._lock = threading.Lock()
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
            version, data = self._current(reference.path)
            if reference.key in data:
                return False
            data[reference.key] = value
            try:
                write = functools.partial(
                    self._client.secrets.kv.v2.create_or_update_secret,
                    path=reference.path,
                    secret=data,
                    cas=version,
                    mount_point=self.settings.mount,
                )
                self._call(write, reference.path, "writing")
                return True
            except SecretUnavailable as error:
                if "check-and-set" not in str(error):
                    raise
        raise SecretUnavailable(
            f"{self.settings.mount}/{reference.path} kept changing while it was written; run again"
        )

    def _current(self, path: str) -> tuple[int, dict[str, Any]]:
        """The version a write must name for check-and-set, and the data to keep beside the new
        key: none for a new secret, or one whose latest version is destroyed."""
        try:
            metadata = self.metadata(path)
        except MissingSecret:
            return 0, {}
        version = int(metadata["current_version"])
        state = metadata["versions"].get(str(version), {})
        if state.get("destroyed"):
            return version, {}
        return version, dict(self._secret(path))  # a deleted version: _secret says what to do

    def check_access(self) -> None:
        """Raise SecretUnavailable unless the token is valid (no secret is read)."""
        import hvac.exceptions

        if not self.settings.token and not self._client.token and not self._failure:
            raise SecretUnavailable(f"no Vault token: {VAULT_HELP}")
        try:
            self._call(self._client.auth.token.lookup_self, "", "the token")
        except SecretUnavailable as error:
            if isinstance(error.__cause__, hvac.exceptions.Forbidden):
                raise SecretUnavailable(
                    "Vault refused the token (permission denied): vault login, or set VAULT_TOKEN"
                ) from None
            raise

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
                self._cache[path] = self._read_latest(path)
            except SecretUnavailable as error:
                self._cache[path] = error
        cached = self._cache[path]
        if isinstance(cached, SecretUnavailable):
            raise cached
        return cached

    def _read_latest(self, path: str) -> dict[str, Any]:
        response = self._call(
            lambda: self._client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=self.settings.mount, raise_on_deleted_version=False
            ),
            path,
        )
        data = response["data"]
        if data.get("data") is not None:
            return dict(data["data"])
        # The latest version holds nothing: deleted (it can be undeleted) or destroyed.
        metadata = data.get("metadata") or {}
        version = metadata.get("version", "?")
        where = f"-mount={self.settings.mount} -versions={version} {path}"
        if metadata.get("destroyed"):
            raise MissingSecret(
                f"the latest version ({version}) of {self.settings.mount}/{path} is destroyed: "
                "write a new one (mantis-render secrets init creates it)"
            )
        raise SecretUnavailable(
            f"the latest version ({version}) of {self.settings.mount}/{path} is deleted: "
            f"undelete it (vault kv undelete {where}), or destroy it (vault kv destroy {where}) "
            "for secrets init to write a new one"
        )

    def _call(
        self,
        request: Callable[[], Any],
        path: str,
        action: str = "reading",
        login: bool = False,
    ) -> Any:
        """One request, its failures as SecretUnavailable (the hvac or requests error kept as
        its cause); once Vault has timed out, none is sent."""
        if self._failure:
            raise self._failure
        if not login and not self.settings.token and not self._client.token:
            raise SecretUnavailable(
                "no Vault token: set VAULT_TOKEN, write ~/.vault-token, "
                "or set VAULT_ROLE_ID and VAULT_SECRET_ID"
            )
        if path and not self._mount_checked:
            self._check_mount()
        try:
            return request()
        except Exception as error:
            raise self._failure_of(error, path, action) from error

    def _failure_of(self, error: Exception, path: str, action: str) -> SecretUnavailable:
        import hvac.exceptions
        import requests

        where = f"{self.settings.mount}/{path}"
        if isinstance(error, hvac.exceptions.InvalidPath):
            return MissingSecret(f"no secret at {where} in Vault")
        if isinstance(error, hvac.exceptions.Forbidden):
            return SecretUnavailable(
                f"permission denied {action} {where} (check the token and its policy)"
            )
        if isinstance(error, hvac.exceptions.VaultError):
            what = f"{action} {where}" if path else action
            return SecretUnavailable(f"Vault refused {what}: {_first_line(error)}")
        if isinstance(error, requests.exceptions.Timeout):
            with self._lock:
                self._failure = timed_out(PRODUCT, self.settings.address, self.settings.timeout)
            return self._failure
        if isinstance(error, requests.exceptions.RequestException | OSError):
            # OSError: what requests raises for a VAULT_CACERT it cannot use.
            return SecretUnavailable(
                f"Vault at {self.settings.address} is unreachable ({connection_failure(error)})"
            )
        raise error  # not a failure of the store: a bug, and loud

    def _check_mount(self) -> None:
        """Refuse a KV version 1 mount: a v2 request there reads and writes other paths
        (mount/data/...). Said once, for every secret; a token that may not look is trusted."""
        with self._lock:
            if not self._mount_checked:
                self._detect_mount_version()
        if self._failure:
            raise self._failure

    def _detect_mount_version(self) -> None:
        """The mount's KV version, asked once (with the lock held); a timeout here is the
        store's, said for every secret."""
        import requests

        mount = self.settings.mount
        version = "2"
        try:
            answer = self._client.adapter.get(f"/v1/sys/internal/ui/mounts/{mount}")
            options = (answer.get("data") or {}).get("options") or {}
            version = str(options.get("version", "1"))
        except requests.exceptions.Timeout:
            self._failure = timed_out(PRODUCT, self.settings.address, self.settings.timeout)
        except Exception:  # not told: the request itself will say why, if anything is wrong
            pass
        self._mount_checked = True
        if version != "2":
            self._failure = StoreUnusable(
                f"the Vault mount {mount}/ is a KV version {version} engine; mantis-render and its "
                f"External Secrets store read KV version 2: upgrade it (vault kv enable-versioning "
                f"{mount}/), or name a KV v2 mount in secrets.stores.vault.mount"
            )

    def _login(self) -> None:
        try:
            self._call(
                lambda: self._client.auth.approle.login(
                    role_id=self.settings.role_id, secret_id=self.settings.secret_id
                ),
                "",
                "the AppRole login",
                login=True,
            )
        except SecretUnavailable as error:
            message = str(error).replace("Vault refused the AppRole login", "AppRole login failed")
            self._failure = error if error is self._failure else SecretUnavailable(message)


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
