"""Values the consumers refuse, refused at render with one line naming the setting and the
variable: the stack's servers' bounds on their credentials (a line feed in a PostgreSQL
password, MinIO's minimum lengths), a secret stored empty, and Kubernetes' 1 MiB of data in a
ConfigMap or Secret. From literals and from values resolved from a real Vault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import CliRun, line_of, run_process
from .vault_server import DevVault

DEVELOPMENT, STAGING = "profiles/development.yaml", "profiles/staging.yaml"
INITDB = (
    "the official image sets the password with initdb --pwfile, which keeps its first line "
    "only, so the URL the services are given would be refused"
)


def edit(project: Path, path: str, old: str, new: str) -> str:
    file = project / path
    text = file.read_text()
    assert old in text, old
    file.write_text(text.replace(old, new, 1))
    return file.read_text()


LITERALS = [
    (
        "password: mantis_dev_password",
        "password: 'first line\n\n  second'",
        "password: 'first line",
        "postgres.password: POSTGRES_PASSWORD: cannot be given to PostgreSQL: it holds a line "
        f"feed; {INITDB}",
    ),
    (
        "password: timescale_dev_password",
        'password: "ts\\nline two"',
        'password: "ts\\nline',
        "timescaledb.password: TIMESCALEDB_PASSWORD: cannot be given to TimescaleDB: it holds "
        f"a line feed; {INITDB}",
    ),
    (
        "secret_key: minio_dev_password",
        "secret_key: short",
        "secret_key: short",
        "minio.secret_key: MINIO_SECRET_KEY: cannot be given to MinIO: 5 characters; MinIO "
        "refuses to start with a secret key under 8 characters",
    ),
]


@pytest.mark.parametrize(("old", "new", "needle", "said"), LITERALS, ids=["pg", "ts", "minio"])
@pytest.mark.parametrize("command", ["validate", "render", "exec"])
def test_a_literal_the_server_refuses_is_refused_at_render(
    project: Path, cli: CliRun, old: str, new: str, needle: str, said: str, command: str
) -> None:
    text = edit(project, DEVELOPMENT, old, new)
    if command == "exec":
        status, _, stderr = run_process(project, "exec", "development", "--", "true")
    else:
        result = cli(command, "development")
        status, stderr = result.exit_code, result.stderr
    assert (status, stderr) == (1, f"{DEVELOPMENT}:{line_of(text, needle)}: {said}\n")
    assert not (project / "rendered").exists()


def test_a_minio_access_key_under_three_characters_is_refused(project: Path, cli: CliRun) -> None:
    text = edit(project, "profiles/_base.yaml", "  access_key: mantis\n", "  access_key: mq\n")
    result = cli("validate", "development")
    assert (result.exit_code, result.stderr) == (
        1,
        f"profiles/_base.yaml:{line_of(text, 'access_key: mq')}: minio.access_key: must hold at "
        "least 3 characters\n",
    )


@pytest.mark.parametrize(
    ("secret", "value", "variable", "key", "said"),
    [
        (
            "postgres",
            "Pg-qa-first\nsecond-line-42",
            "POSTGRES_PASSWORD",
            "password",
            f"cannot be given to PostgreSQL: it holds a line feed; {INITDB}",
        ),
        ("jwt", "", "JWT_SECRET", "secret", "its stored value is empty; a secret needs one"),
    ],
    ids=["line feed", "empty"],
)
def test_a_resolved_value_the_consumers_refuse_is_named_with_its_reference(
    project: Path,
    cli: CliRun,
    dev_vault: DevVault,
    secret: str,
    value: str,
    variable: str,
    key: str,
    said: str,
) -> None:
    path = f"mantis/limits-{secret}"
    dev_vault.put(path, **{key: value})
    reference = f"{{vault: mantis/staging/{secret}, key: {key}}}"
    text = edit(project, STAGING, reference, f"{{vault: {path}, key: {key}}}")
    setting = "postgres.password" if secret == "postgres" else "security.jwt_secret"

    result = cli("render", "staging", env=dev_vault.env())

    assert (result.exit_code, result.stderr) == (
        1,
        f"{STAGING}:{line_of(text, path)}: {setting}: {variable} (vault:{path}#{key}): {said}\n",
    )
    assert not (project / "rendered").exists()


def test_a_configmap_past_one_mebibyte_is_refused_naming_its_largest_values(
    project: Path, cli: CliRun
) -> None:
    big = "x" * 1_100_000
    text = edit(
        project,
        DEVELOPMENT,
        "  orchestrator:\n    variables: {JAVA_OPTS: -Xms256m -Xmx512m}\n",
        f"  orchestrator:\n    variables: {{JAVA_OPTS: {big}}}\n",
    )
    result = cli("validate", "development")
    sizes = {
        "JAVA_OPTS": 9 + 1_100_000,
        "SPRING_DATASOURCE_URL": 21 + len("jdbc:postgresql://localhost:5432/mantis_dev"),
        "SPRING_KAFKA_BOOTSTRAP_SERVERS": 30 + len("localhost:9092"),
    }
    assert (result.exit_code, result.stderr) == (
        1,
        f"{DEVELOPMENT}:{line_of(text, 'JAVA_OPTS: xxx')}: services.orchestrator.variables.JAVA_OPTS: "
        f"the ConfigMap mantis-orchestrator-config would hold {ORCHESTRATOR_BYTES + 1_100_000:,} "
        "bytes of data; Kubernetes takes at most 1,048,576 (1 MiB): the largest are "
        + ", ".join(f"{name} ({size:,} bytes)" for name, size in sizes.items())
        + "\n",
    )


# The orchestrator's ConfigMap in development, its JAVA_OPTS value left out: every name it
# reads and its value (tests/test_declared_services.py shows them).
ORCHESTRATOR_BYTES = sum(
    len(name) + len(value)
    for name, value in {
        "ENVIRONMENT": "development",
        "SERVER_PORT": "8006",
        "SPRING_KAFKA_BOOTSTRAP_SERVERS": "localhost:9092",
        "KAFKA_BROKER": "localhost:9092",
        "CONSUMER_GROUP": "orchestrator-group",
        "ANOMALY_TOPIC": "anomaly-events",
        "RUL_TOPIC": "rul-predictions",
        "ALERTS_TOPIC": "alerts",
        "SPRING_DATASOURCE_URL": "jdbc:postgresql://localhost:5432/mantis_dev",
        "SPRING_DATASOURCE_USERNAME": "mantis",
        "JAVA_OPTS": "",
    }.items()
)


def test_a_secret_past_one_mebibyte_is_refused_without_showing_it(
    project: Path, cli: CliRun
) -> None:
    secret = "Qz" + "s3cret" * 200_000
    text = edit(
        project,
        DEVELOPMENT,
        "  jwt_secret: mantis_dev_jwt_secret\n",
        f"  jwt_secret: {json.dumps(secret)}\n",
    )
    result = cli("render", "development")
    line = line_of(text, "jwt_secret: ")
    assert result.exit_code == 1
    held = 10 + 1_200_002 + 26 + len("mantis_dev_password")  # and SPRING_DATASOURCE_PASSWORD
    assert result.stderr == (
        f"{DEVELOPMENT}:{line}: security.jwt_secret: the Secret mantis-dashboard-api-secrets "
        f"would hold {held:,} bytes of data; Kubernetes takes at most 1,048,576 (1 MiB): the "
        "largest are JWT_SECRET (1,200,012 bytes), SPRING_DATASOURCE_PASSWORD (45 bytes)\n"
    )
    assert "s3crets3cret" not in result.stderr
