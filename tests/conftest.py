from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mantis_render.cli import main

from .aws_server import LocalAws, start_local_aws
from .certificates import tls_pair
from .vault_server import DevVault, start_dev_vault

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _template_cache_of_the_test_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled templates go to a folder of this test run, not to the user's ~/.cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """mantis-render's cache (compiled templates) in a temporary folder: tests give HOME values
    such as /nonexistent, and as root a cache under ~/.cache would be made there."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of this repository's profiles, templates and example compose file."""
    root = tmp_path / "project"
    for folder in ("profiles", "templates", "compose"):
        shutil.copytree(REPO / folder, root / folder)
    return root


CliRun = Callable[..., Result]
VAULT_VARIABLES = (
    "VAULT_ADDR",
    "VAULT_TOKEN",
    "VAULT_TOKEN_FILE",
    "VAULT_ROLE_ID",
    "VAULT_SECRET_ID",
)
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
)
# No credentials file, config file or instance metadata of the machine running the tests.
AWS_HERMETIC = {
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def cli(project: Path) -> CliRun:
    """Run mantis-render in ``project`` through click's runner; stderr is kept apart."""

    def run(*arguments: str, env: dict[str, str] | None = None) -> Result:
        # Hermetic: no Vault from the developer's shell unless the test gives one.
        environment: dict[str, str | None] = dict.fromkeys(VAULT_VARIABLES + AWS_VARIABLES)
        environment.update(AWS_HERMETIC)
        environment.update(env or {})
        return CliRunner().invoke(
            main, ["--root", str(project), *arguments], env=environment, catch_exceptions=False
        )

    return run


def run_process(
    project: Path, *arguments: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """mantis-render as its own process, hermetic like ``cli``: (status, stdout, stderr). For
    exec, which replaces its process with the program: through click's runner, that would be
    the test run itself."""
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k not in VAULT_VARIABLES + AWS_VARIABLES}
    environment |= AWS_HERMETIC | (env or {})
    command = [sys.executable, "-m", "mantis_render", "--root", str(project), *arguments]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line of ``text`` containing ``needle``."""
    lines = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]


# Secret values the dev Vault holds for staging and production: each different, several with
# characters that quoting gets wrong, so the .env round trip is tested on real resolved values.
VAULT_SECRETS = {
    "postgres": {"password": "Pg-{env}-p@ss w0rd#1"},
    "timescaledb": {"password": 'Ts-{env}-"quoted" \\ back 42'},
    "redis": {"password": "Redis-{env}-it's-fine! 7"},
    "minio": {"secret_key": "Minio-{env}-$ecret-é-99"},
    "influxdb": {"token": "Influx-{env}-t0ken==/+", "admin_password": "Influx-{env}-adm!n `tick`"},
    "mqtt": {"password": "Mqtt-{env}-p&ss;|pipe"},
    "grafana": {"admin_password": "Grafana-{env}-line1\nline2"},
    "jwt": {"secret": "Jwt-{env}-0123-signing-key"},
}


# The certificate each environment's hosts are served with: one wildcard name covers them all.
TLS_HOSTS = {"staging": "*.staging.mantis.internal", "production": "*.prod.mantis.internal"}
TLS_PAIRS = {environment: tls_pair([host]) for environment, host in TLS_HOSTS.items()}


def vault_secret_values(environment: str) -> dict[str, str]:
    """Variable name -> the value the dev Vault holds for it."""
    names = {
        ("postgres", "password"): "POSTGRES_PASSWORD",
        ("timescaledb", "password"): "TIMESCALEDB_PASSWORD",
        ("redis", "password"): "REDIS_PASSWORD",
        ("minio", "secret_key"): "MINIO_SECRET_KEY",
        ("influxdb", "token"): "INFLUXDB_TOKEN",
        ("influxdb", "admin_password"): "INFLUXDB_ADMIN_PASSWORD",
        ("mqtt", "password"): "MQTT_PASSWORD",
        ("grafana", "admin_password"): "GRAFANA_ADMIN_PASSWORD",
        ("jwt", "secret"): "JWT_SECRET",
    }
    return {
        names[(path, key)]: value.format(env=environment)
        for path, data in VAULT_SECRETS.items()
        for key, value in data.items()
    }


@pytest.fixture(scope="session")
def dev_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevVault]:
    """A real OpenBao dev server on a free loopback port, seeded with staging and production secrets."""
    vault = start_dev_vault(tmp_path_factory.mktemp("vault") / "bao.log")
    try:
        for environment in ("staging", "production"):
            for path, data in VAULT_SECRETS.items():
                vault.put(
                    f"mantis/{environment}/{path}",
                    **{k: v.format(env=environment) for k, v in data.items()},
                )
            vault.put(f"mantis/{environment}/tls", **TLS_PAIRS[environment])
        yield vault
    finally:
        vault.stop()


@pytest.fixture(scope="session")
def local_aws_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    aws = start_local_aws(tmp_path_factory.mktemp("aws") / "moto.log")
    try:
        yield aws
    finally:
        aws.stop()


@pytest.fixture
def local_aws(local_aws_server: LocalAws) -> LocalAws:
    """The local AWS endpoint, emptied for each test."""
    local_aws_server.reset()
    return local_aws_server
