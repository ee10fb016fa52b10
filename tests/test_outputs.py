"""The shipped profiles render to files that their real readers accept and read back exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from mantis_render.cli import main
from mantis_render.outputs.render import PRIVATE_OUTPUTS
from mantis_render.project import Project

from .conftest import REPO, VAULT_VARIABLES, vault_secret_values
from .readers import (
    compose_config,
    kustomize,
    read_with_bash,
    read_with_compose,
    read_with_python_dotenv,
)
from .vault_server import DevVault

ENVIRONMENTS = ["development", "staging", "production"]
# What the development containers are told instead of the profile's loopback addresses.
CONTAINER_ADDRESSES = {
    "POSTGRES_HOST": "postgres",
    "TIMESCALEDB_HOST": "timescaledb",
    "TIMESCALEDB_PORT": "5432",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
    "REDIS_HOST": "redis",
    "MINIO_HOST": "minio",
    "MLFLOW_HOST": "mlflow",
    "INFLUXDB_HOST": "influxdb",
    "MQTT_HOST": "mqtt",
    "OPCUA_HOST": "opcua",
    "GRAFANA_HOST": "grafana",
    "GRAFANA_PORT": "3000",
}
COMMITTABLE = {
    "development": [
        ".env.example",
        "docker-compose.override.yml",
        "k8s/kustomization.yaml",
        "k8s/secret.yaml",
    ],
    "staging": [
        ".env.example",
        "docker-compose.override.yml",
        "k8s/externalsecret.yaml",
        "k8s/kustomization.yaml",
        "k8s/tls-externalsecret.yaml",
    ],
}
COMMITTABLE["production"] = COMMITTABLE["staging"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, dev_vault: DevVault) -> Path:
    """The shipped profiles rendered once, with the dev Vault holding the staging/production secrets."""
    out = tmp_path_factory.mktemp("rendered")
    environment = dict.fromkeys(VAULT_VARIABLES) | dev_vault.env()
    result = CliRunner().invoke(
        main, ["--root", str(REPO), "render", "--all", "--out", str(out)], env=environment
    )
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return out


def expected_variables(environment: str) -> dict[str, str]:
    """Every variable's value: the profile's, for staging/production the dev Vault's secrets,
    and the composed ones made here from those (an oracle apart from mantis-render's)."""
    values = {v.name: v.value for v in Project(REPO).build(environment).variables}
    if environment != "development":
        values.update(vault_secret_values(environment))
    values.update(composed_values(values))  # type: ignore[arg-type]
    if environment == "development":  # the stores are loopback: .env holds the containers' forms
        inside = {
            **values,
            "POSTGRES_HOST": "postgres",
            "TIMESCALEDB_HOST": "timescaledb",
            "TIMESCALEDB_PORT": "5432",
            "REDIS_HOST": "redis",
        }
        secret = ("DATABASE_URL", "TIMESCALEDB_URL", "REDIS_URL", "MLFLOW_BACKEND_STORE_URI")
        made = composed_values(inside)  # type: ignore[arg-type]
        values.update((f"MANTIS_IN_CONTAINERS_{name}", made[name]) for name in secret)
    assert None not in values.values()
    return values  # type: ignore[return-value]


def composed_values(v: dict[str, str]) -> dict[str, str]:
    """The shipped composed variables, as their users expect them, from the others' values."""

    def q(text: str) -> str:
        return quote(text, safe="")

    database = (
        f"postgresql://{q(v['POSTGRES_USER'])}:{q(v['POSTGRES_PASSWORD'])}@"
        f"{v['POSTGRES_HOST']}:{v['POSTGRES_PORT']}/{v['POSTGRES_DB']}"
    )
    return {
        "DATABASE_URL": database,
        "TIMESCALEDB_URL": f"postgresql://{q(v['TIMESCALEDB_USER'])}:{q(v['TIMESCALEDB_PASSWORD'])}@"
        f"{v['TIMESCALEDB_HOST']}:{v['TIMESCALEDB_PORT']}/{v['TIMESCALEDB_DB']}",
        "REDIS_URL": f"redis://:{q(v['REDIS_PASSWORD'])}@{v['REDIS_HOST']}:{v['REDIS_PORT']}/{v['REDIS_DB']}",
        "MLFLOW_TRACKING_URI": f"http://{v['MLFLOW_HOST']}:{v['MLFLOW_PORT']}",
        "MLFLOW_BACKEND_STORE_URI": database,
        "MLFLOW_S3_ENDPOINT_URL": f"http://{v['MINIO_HOST']}:{v['MINIO_PORT']}",
        "MLFLOW_ARTIFACT_ROOT": f"s3://{v['MINIO_BUCKET']}/mlflow",
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_output_is_rendered(rendered: Path, environment: str) -> None:
    folder = rendered / environment
    files = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    private = [".env"] if environment == "development" else [".env", "tls/tls.crt", "tls/tls.key"]
    assert files == sorted([*private, *COMMITTABLE[environment]])


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_dotenv_reads_back_exactly_in_bash_python_dotenv_and_compose(
    rendered: Path, environment: str
) -> None:
    expected = expected_variables(environment)
    env_file = rendered / environment / ".env"
    assert read_with_bash(env_file, list(expected)) == expected
    assert read_with_python_dotenv(env_file) == expected
    assert read_with_compose(env_file) == expected


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_dotenv_example_has_every_key_and_no_secret(rendered: Path, environment: str) -> None:
    built = Project(REPO).build(environment)
    example = read_with_python_dotenv(rendered / environment / ".env.example")
    assert example == {v.name: ("" if v.secret else v.value) for v in built.variables}


LABELS = {
    "app.kubernetes.io/name": "mantis",
    "app.kubernetes.io/part-of": "mantis",
    "app.kubernetes.io/managed-by": "mantis-render",
}


def _named(rendered: Path, environment: str) -> dict[str, dict[str, Any]]:
    """The built objects by kind and name, a generated ConfigMap without its hash."""
    objects = {}
    for obj in kustomize(rendered / environment / "k8s"):
        name = obj["metadata"]["name"]
        if obj["kind"] == "ConfigMap":
            name = name.rsplit("-", 1)[0]
        objects[f"{obj['kind']}/{name}"] = obj
    return objects


# The secrets each MANTIS service reads, as built: the name it reads -> the environment's variable.
SPRING_DATABASE = {"SPRING_DATASOURCE_PASSWORD": "POSTGRES_PASSWORD"}
SECRETS_READ = {
    "ingestion-iiot": {"MQTT_PASSWORD": "MQTT_PASSWORD", **SPRING_DATABASE},
    "preprocessing": {"INFLUXDB_TOKEN": "INFLUXDB_TOKEN", **SPRING_DATABASE},
    "orchestrator": SPRING_DATABASE,
    "dashboard-api": {"JWT_SECRET": "JWT_SECRET", **SPRING_DATABASE},
}
SERVICES = (
    "ingestion-iiot",
    "preprocessing",
    "feature-extraction",
    "anomaly-detection",
    "rul-prediction",
    "orchestrator",
    "dashboard-api",
    "dashboard-frontend",
)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_kustomize_builds_everything_in_the_environment_namespace(
    rendered: Path, environment: str
) -> None:
    objects = _named(rendered, environment)
    secret_kind = "Secret" if environment == "development" else "ExternalSecret"
    expected = [
        "ConfigMap/mantis-config",
        *(f"ConfigMap/mantis-{service}-config" for service in SERVICES),
        *(f"{secret_kind}/mantis-{service}-secrets" for service in SECRETS_READ),
    ]
    if environment != "development":
        expected.append("ExternalSecret/mantis-tls")
    assert sorted(objects) == sorted(expected)
    for obj in objects.values():
        metadata = obj["metadata"]
        assert metadata["namespace"] == f"mantis-{environment}"
        assert metadata["labels"] == {
            **LABELS,
            "app.kubernetes.io/instance": f"mantis-{environment}",
        }
    built = Project(REPO).build(environment)
    assert objects["ConfigMap/mantis-config"]["data"] == {
        v.name: v.value for v in built.variables if not v.secret
    }


def test_development_secrets_hold_the_literal_secrets_each_service_reads(rendered: Path) -> None:
    values = {v.name: v.value for v in Project(REPO).build("development").variables}
    objects = _named(rendered, "development")
    for service, reads in SECRETS_READ.items():
        secret = objects[f"Secret/mantis-{service}-secrets"]
        assert secret["stringData"] == {name: values[given] for name, given in reads.items()}


VAULT_PATHS = {  # each secret variable's place in Vault, as the shipped profiles name it
    "POSTGRES_PASSWORD": ("postgres", "password"),
    "MQTT_PASSWORD": ("mqtt", "password"),
    "INFLUXDB_TOKEN": ("influxdb", "token"),
    "JWT_SECRET": ("jwt", "secret"),
}


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_external_secrets_map_each_service_s_secrets_to_their_vault_references(
    rendered: Path, environment: str
) -> None:
    objects = _named(rendered, environment)
    for service, reads in SECRETS_READ.items():
        external = objects[f"ExternalSecret/mantis-{service}-secrets"]
        assert external["apiVersion"] == "external-secrets.io/v1"
        assert external["spec"] == {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault-backend"},
            "target": {"name": f"mantis-{service}-secrets", "creationPolicy": "Owner"},
            "data": [
                {
                    "secretKey": name,
                    "remoteRef": {
                        "key": f"mantis/{environment}/{VAULT_PATHS[given][0]}",
                        "property": VAULT_PATHS[given][1],
                    },
                }
                for name, given in sorted(reads.items())
            ],
        }


def test_configmap_data_keeps_numbers_and_yaml_words_as_strings(rendered: Path) -> None:
    data = _named(rendered, "development")["ConfigMap/mantis-config"]["data"]
    assert data["POSTGRES_PORT"] == "5432"
    assert data["DEBUG"] == "true"
    assert data["MONITORING_ELK"] == "off"
    assert data["ALERTING_CHANNELS"] == ""


def _compose(rendered: Path, environment: str) -> dict[str, object]:
    folder = rendered / environment
    return compose_config(
        folder, [REPO / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_compose_accepts_base_and_override_and_reads_secrets_from_dotenv(
    rendered: Path, environment: str
) -> None:
    expected = expected_variables(environment)
    model = _compose(rendered, environment)
    services = model["services"]
    assert isinstance(services, dict)

    def unescaped(values: dict[str, str]) -> dict[str, str]:  # compose config doubles every `$`
        return {name: value.replace("$$", "$") for name, value in values.items()}

    assert model["name"] == f"mantis-{environment}"
    assert (
        unescaped(services["postgres"]["environment"])["POSTGRES_PASSWORD"]
        == expected["POSTGRES_PASSWORD"]
    )
    assert (
        unescaped(services["minio"]["environment"])["MINIO_ROOT_PASSWORD"]
        == expected["MINIO_SECRET_KEY"]
    )
    assert (
        unescaped(services["grafana"]["environment"])["GF_SECURITY_ADMIN_PASSWORD"]
        == expected["GRAFANA_ADMIN_PASSWORD"]
    )
    # The dashboard's API gets what it reads, under its names: its secrets from the .env, and
    # the compose network's address of a store where the profile's is loopback (development).
    database = (
        "postgres:5432" if environment == "development" else "postgres.{}.mantis.internal:5432"
    )
    host = {"staging": "staging", "production": "prod"}.get(environment, "")
    api = unescaped(services["dashboard-api"]["environment"])
    assert {
        name: api[name] for name in ("SPRING_DATASOURCE_PASSWORD", "JWT_SECRET", "SERVER_PORT")
    } == {
        "SPRING_DATASOURCE_PASSWORD": expected["POSTGRES_PASSWORD"],
        "JWT_SECRET": expected["JWT_SECRET"],
        "SERVER_PORT": expected["PORT_DASHBOARD_API"],
    }
    assert api["SPRING_DATASOURCE_URL"] == (
        f"jdbc:postgresql://{database.format(host)}/{expected['POSTGRES_DB']}"
    )
    for name in ("ingestion-iiot", "dashboard-api"):
        assert services[name]["deploy"]["replicas"] == int(expected["REPLICAS"])
        assert "env_file" not in services[name]


def test_committable_files_never_hold_a_secret_value(rendered: Path) -> None:
    for environment in ("staging", "production"):
        for output in COMMITTABLE[environment]:
            text = (rendered / environment / output).read_text()
            for name, value in vault_secret_values(environment).items():
                assert value not in text, (output, name)
    override = (rendered / "development/docker-compose.override.yml").read_text()
    for variable in Project(REPO).build("development").variables:
        if variable.secret:
            assert variable.value not in override, variable.name


def test_compose_publishes_host_ports_only_for_single_replicas(rendered: Path) -> None:
    def ports(environment: str, service: str) -> object:
        return _compose(rendered, environment)["services"][service]["ports"]  # type: ignore[index]

    assert ports("development", "ingestion-iiot") == [
        {"mode": "ingress", "target": 8001, "published": "8001", "protocol": "tcp"}
    ]
    assert ports("staging", "ingestion-iiot") == [
        {"mode": "ingress", "target": 8001, "protocol": "tcp"}
    ]
    assert ports("development", "grafana") == [
        {"mode": "ingress", "target": 3000, "published": "3001", "protocol": "tcp"}
    ]


def test_rendering_twice_is_byte_identical() -> None:
    first = {name: Project(REPO).build(name).files for name in ENVIRONMENTS}
    second = {name: Project(REPO).build(name).files for name in ENVIRONMENTS}
    assert first == second


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_file_starts_with_a_generated_header_naming_its_sources(
    rendered: Path, environment: str
) -> None:
    for path in (rendered / environment).rglob("*"):
        if path.is_file() and path.parent.name != "tls":  # PEM files: nothing before BEGIN
            first, second = path.read_text().splitlines()[:2]
            assert (
                first
                == f"# Generated by mantis-render from profiles/_base.yaml, profiles/{environment}.yaml. Do not edit."
            )
            assert second == f"# Change the profile, then run: mantis-render render {environment}"


def test_committed_rendered_output_is_current() -> None:
    """The repository's rendered/ holds exactly the committable files, as the profiles render them."""
    for environment in ENVIRONMENTS:
        files = Project(REPO).committable(environment)
        folder = REPO / "rendered" / environment
        committed = sorted(
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file() and str(p.relative_to(folder)) not in PRIVATE_OUTPUTS
        )
        assert committed == sorted(files) == COMMITTABLE[environment]
        for output, text in files.items():
            assert (folder / output).read_text() == text, (
                f"rendered/{environment}/{output} is stale: run make render"
            )


def test_guide_tables_hold_in_the_profiles() -> None:
    """The per-environment differences of the environments guide, as rendered."""
    guide = {
        "LOG_LEVEL": ("DEBUG", "INFO", "WARNING"),
        "DEBUG": ("true", "false", "false"),
        "ENABLE_MOCK_DATA": ("true", "false", "false"),
        "KAFKA_PARTITIONS": ("3", "6", "12"),
        "DB_MAX_CONNECTIONS": ("50", "100", "200"),
        "REPLICAS": ("1", "2", "3"),
        "BATCH_SIZE": ("50", "200", "500"),
        "WORKERS": ("2", "8", "16"),
        "TIMEOUT_SECONDS": ("30", "60", "120"),
        "RETENTION_DAYS": ("7", "30", "90"),
        "RESOURCES_MEMORY_GB": ("8", "32", "64"),
        "MONITORING_PROMETHEUS": ("optional", "recommended", "required"),
        "MONITORING_ELK": ("off", "optional", "required"),
        "ALERTING_CHANNELS": ("", "email", "pagerduty,slack"),
        "TLS_ENABLED": ("false", "true", "true"),
        "PORT_INGESTION_IIOT": ("8001", "8001", "8001"),
        "PORT_DASHBOARD_FRONTEND": ("3000", "3000", "3000"),
        "GRAFANA_PORT": ("3001", "3000", "3000"),
        "TIMESCALEDB_PORT": ("5433", "5433", "5433"),
    }
    rendered = {name: expected_variables(name) for name in ENVIRONMENTS}
    for variable, values in guide.items():
        assert tuple(rendered[name][variable] for name in ENVIRONMENTS) == values, variable
    assert rendered["development"]["POSTGRES_HOST"] == "localhost"
    assert rendered["development"]["POSTGRES_PASSWORD"] == "mantis_dev_password"
