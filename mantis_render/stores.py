"""The secret stores of one run, each opened once, on first use, from the process environment."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from .profiles import Profile
from .secrets import (
    KUBERNETES_ONLY,
    STORE_KINDS,
    StoreNotConfigured,
    StoreReference,
    VaultReader,
    VaultSettings,
)


class Store(Protocol):
    """What mantis-render does with a store: never list it, never overwrite a value."""

    def read(self, reference: StoreReference) -> str: ...

    def last_changed(self, reference: StoreReference) -> datetime: ...

    def exists(self, reference: StoreReference) -> bool: ...

    def create(self, reference: StoreReference, value: str) -> bool: ...

    def check_access(self) -> None: ...


def kubernetes_only(kind: str) -> str:
    product = STORE_KINDS[kind].product
    return (
        f"its {product} references are read by External Secrets in Kubernetes only "
        "(for a local .env, give an env or file reference)"
    )


class Stores:
    """Opens each store an environment's references need, once; remembers why one cannot be."""

    def __init__(self, profile: Profile, environ: Mapping[str, str]) -> None:
        self._configured = profile.data["secrets"]["stores"]
        self._environ = environ
        self._open: dict[str, Store | StoreNotConfigured] = {}

    def get(self, kind: str) -> Store:
        """The store of ``kind``; StoreNotConfigured says what would make it reachable."""
        if kind not in self._open:
            try:
                self._open[kind] = self._connect(kind)
            except StoreNotConfigured as error:
                self._open[kind] = error
        store = self._open[kind]
        if isinstance(store, StoreNotConfigured):
            raise store
        return store

    def _connect(self, kind: str) -> Store:
        if kind == "vault":
            mount = self._configured["vault"]["mount"]
            return VaultReader(VaultSettings.from_environment(self._environ, mount))
        if kind == "aws":
            from .aws_secrets import AwsSecrets

            return AwsSecrets(self._environ)
        assert kind in KUBERNETES_ONLY, kind
        raise StoreNotConfigured(kubernetes_only(kind))
