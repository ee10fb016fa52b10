"""The shipped profiles render to files that their real readers accept and read back exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mantis_render.project import Project
from mantis_render.render import OUTPUTS

from .conftest import REPO
from .readers import (
    compose_config,
    kustomize,
    read_with_bash,
    read_with_compose,
    read_with_python_dotenv,
)

ENVIRONMENTS = ["development", "staging", "production"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped profiles rendered once into a scratch folder."""
    from click.testing import CliRunner

    from mantis_render.cli import main

    out = tmp_path_factory.mktemp("rendered")
    result = CliRunner().invoke(main, ["--root", str(REPO), "render", "--all", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def expected_variables(environment: str) -> dict[str, str]:
    built = Project(REPO).build(environment)
    return {variable.name: variable.value for variable in built.variables}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_output_is_rendered(rendered: Path, environment: str) -> None:
    files = sorted(
        str(path.relative_to(rendered / environment))
        for path in (rendered / environment).rglob("*")
        if path.is_file()
    )
    assert files == sorted(OUTPUTS)


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
def test_kustomize_builds_configmap_and_secret_in_the_environment_namespace(
    rendered: Path, environment: str
) -> None:
    built = Project(REPO).build(environment)
    objects = {obj["kind"]: obj for obj in kustomize(rendered / environment / "k8s")}

    assert sorted(objects) == ["ConfigMap", "Secret"]
    for obj in objects.values():
        assert obj["metadata"]["namespace"] == f"mantis-{environment}"
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/name": "mantis",
            "app.kubernetes.io/instance": f"mantis-{environment}",
            "app.kubernetes.io/part-of": "mantis",
            "app.kubernetes.io/managed-by": "mantis-render",
        }
    assert objects["ConfigMap"]["data"] == {
        v.name: v.value for v in built.variables if not v.secret
    }
    assert objects["Secret"]["stringData"] == {v.name: v.value for v in built.variables if v.secret}


def test_configmap_data_keeps_numbers_and_yaml_words_as_strings(rendered: Path) -> None:
    data = yaml.safe_load((rendered / "development/k8s/configmap.yaml").read_text())["data"]
    assert data["POSTGRES_PORT"] == "5432"
    assert data["DEBUG"] == "true"
    assert data["MONITORING_ELK"] == "off"
    assert data["ALERTING_CHANNELS"] == ""


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_compose_accepts_base_and_override_and_reads_secrets_from_dotenv(
    rendered: Path, environment: str
) -> None:
    folder = rendered / environment
    expected = expected_variables(environment)
    model = compose_config(
        folder, [REPO / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    )
    services = model["services"]

    assert model["name"] == f"mantis-{environment}"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == expected[
        "POSTGRES_PASSWORD"
    ].replace("$", "$$")
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == expected[
        "GRAFANA_ADMIN_PASSWORD"
    ].replace("$", "$$")
    for name in ("ingestion-iiot", "dashboard"):
        environment_of_service = {
            k: v.replace("$$", "$") for k, v in services[name]["environment"].items()
        }
        assert environment_of_service == expected
        assert services[name]["deploy"]["replicas"] == int(expected["REPLICAS"])


def test_compose_override_never_holds_a_secret_value(rendered: Path) -> None:
    for environment in ENVIRONMENTS:
        override = (rendered / environment / "docker-compose.override.yml").read_text()
        secrets = [v for v in Project(REPO).build(environment).variables if v.secret]
        assert secrets
        for secret in secrets:
            assert secret.value not in override, secret.name


def test_compose_publishes_host_ports_only_for_single_replicas(rendered: Path) -> None:
    def ports(environment: str, service: str) -> list[dict[str, object]]:
        folder = rendered / environment
        model = compose_config(
            folder, [REPO / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
        )
        return model["services"][service]["ports"]

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
    for output in OUTPUTS:
        first, second = (rendered / environment / output).read_text().splitlines()[:2]
        assert first == (
            f"# Generated by mantis-render from profiles/_base.yaml, profiles/{environment}.yaml. Do not edit."
        )
        assert second == f"# Change the profile, then run: mantis-render render {environment}"


def test_committed_rendered_output_is_current() -> None:
    """The repository's rendered/ (minus the never-committed .env) matches the profiles."""
    for environment in ENVIRONMENTS:
        for output, text in Project(REPO).build(environment).files.items():
            if output == ".env":
                continue
            committed = REPO / "rendered" / environment / output
            assert committed.read_text() == text, (
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
        "PORT_INGESTION_IIOT": ("8001", "8001", "8001"),
        "PORT_DASHBOARD": ("3000", "3000", "3000"),
        "GRAFANA_PORT": ("3001", "3000", "3000"),
        "TIMESCALEDB_PORT": ("5433", "5433", "5433"),
    }
    rendered = {name: expected_variables(name) for name in ENVIRONMENTS}
    for variable, values in guide.items():
        assert tuple(rendered[name][variable] for name in ENVIRONMENTS) == values, variable
    assert rendered["development"]["POSTGRES_HOST"] == "localhost"
    assert rendered["development"]["POSTGRES_PASSWORD"] == "mantis_dev_password"
