"""The secret stores of one run, each opened once, on first use, from the process environment.

One ``Stores`` serves a whole command: the builds of an environment (shared and .local), its
access check and its audit use the same clients, so that a store that does not answer is waited
on once, and a secret read once.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from ..profiles import Profile
from .references import (
    KUBERNETES_ONLY,
    STORE_KINDS,
    SecretUnavailable,
    StoreNotConfigured,
    StoreReference,
)

# Paths fetched at once from one store: what a render needs arrives in one round trip's time.
CONCURRENT_REQUESTS = 16


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
    """Opens each store a run's references need, once; remembers why one cannot be opened
    (StoreNotConfigured: nothing says how to reach it here; StoreUnusable: a setting is wrong)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self._open: dict[tuple[str, str], Store | StoreNotConfigured | SecretUnavailable] = {}

    def get(self, profile: Profile, kind: str) -> Store:
        """The store of ``kind`` as ``profile`` configures it."""
        configured = profile.data["secrets"]["stores"].get(kind)
        key = (kind, json.dumps(configured, sort_keys=True))
        if key not in self._open:
            try:
                self._open[key] = self._connect(kind, configured)
            except (StoreNotConfigured, SecretUnavailable) as error:
                self._open[key] = error
        store = self._open[key]
        if isinstance(store, StoreNotConfigured | SecretUnavailable):
            raise store
        return store

    def prefetch(self, profile: Profile, references: Iterable[StoreReference]) -> None:
        """Read one reference of each path at once, so that the reads that follow come from the
        stores' caches: a render waits for its slowest secret, not for the sum of them. Failures
        are left for those reads to report."""
        first: dict[tuple[str, str], StoreReference] = {}
        for reference in references:
            first.setdefault((reference.store, reference.path), reference)
        readers = []
        for reference in first.values():
            try:
                readers.append((self.get(profile, reference.store), reference))
            except (StoreNotConfigured, SecretUnavailable):
                continue
        if len(readers) < 2:
            return

        def read(pair: tuple[Store, StoreReference]) -> None:
            store, reference = pair
            with contextlib.suppress(SecretUnavailable):  # kept by the store, for the next read
                store.read(reference)

        import concurrent.futures  # here: with logging, a few ms a run that reads no store

        workers = min(CONCURRENT_REQUESTS, len(readers))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(read, readers))

    def _connect(self, kind: str, configured: Any) -> Store:
        if kind == "vault":
            from .vault import VaultReader, VaultSettings

            return VaultReader(VaultSettings.from_environment(self.environ, configured["mount"]))
        if kind == "aws":
            from .aws import AwsSecrets

            return AwsSecrets(self.environ)
        assert kind in KUBERNETES_ONLY, kind
        raise StoreNotConfigured(kubernetes_only(kind))
