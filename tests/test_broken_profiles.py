"""Every broken profile gives one line per problem naming file, line and key; exit 1; nothing written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import CliRun, line_of

STAGING = "profiles/staging.yaml"


@dataclass
class Case:
    """A change to the shipped staging profile and the exact stderr it must produce."""

    id: str
    edit: Callable[[str], str]
    expected: Callable[[str], list[str]]  # from the edited text


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return edit


CASES = [
    Case(
        "wrong type",
        replace("  partitions: 6\n", "  partitions: six\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'partitions: six')}: kafka.partitions: must be of integer type"
        ],
    ),
    Case(
        "number where text is expected",
        replace("  bucket: mantis-staging\n", "  bucket: 12345\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'bucket: 12345')}: minio.bucket: must be of string type "
            "(put it in quotes to keep it as text)"
        ],
    ),
    Case(
        "boolean where a count is expected",
        replace("  replicas: 2\n", "  replicas: true\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'replicas: true')}: resources.replicas: must be of integer type"
        ],
    ),
    Case(
        "port out of range",
        replace("mlflow:\n", "mlflow:\n  port: 70000\n"),
        lambda t: [f"{STAGING}:{line_of(t, 'port: 70000')}: mlflow.port: must be at most 65535"],
    ),
    Case(
        "size not positive",
        replace("  workers: 8\n", "  workers: 0\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'workers: 0')}: performance.workers: must be at least 1"
        ],
    ),
    Case(
        "unknown log level",
        replace("log_level: INFO\n", "log_level: VERBOSE\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'VERBOSE')}: log_level: must be one of DEBUG, INFO, WARNING, "
            "ERROR, CRITICAL, not 'VERBOSE'"
        ],
    ),
    Case(
        "unknown alerting channel",
        replace("  alerting: [email]\n", "  alerting: [sms]\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'alerting: [sms]')}: monitoring.alerting: must be one of email, "
            "pagerduty, slack, not ['sms']"
        ],
    ),
    Case(
        "typo in a key",
        replace("  host: redis.staging", "  hots: redis.staging"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'redis:')}: redis.host: required key is missing",
            f"{STAGING}:{line_of(t, 'hots:')}: redis.hots: unknown key; did you mean 'host'?",
        ],
    ),
    Case(
        "unknown key with no near name",
        lambda t: t + "colour: blue\n",
        lambda t: [f"{STAGING}:{line_of(t, 'colour')}: colour: unknown key"],
    ),
    Case(
        "missing required key",
        replace("log_level: INFO\n", ""),
        lambda t: [f"{STAGING}:1: log_level: required key is missing"],
    ),
    Case(
        "duplicate key",
        replace("  partitions: 6\n", "  partitions: 6\n  partitions: 8\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'partitions: 8')}: kafka.partitions: duplicate key "
            f"(first defined on line {line_of(t, 'partitions: 6')})"
        ],
    ),
    Case(
        "YAML syntax error",
        replace("  bucket: mantis-staging\n", "  bucket: [mantis-staging\n"),
        lambda t: [
            # PyYAML notices at the next key; the message says where the bracket opened.
            f"{STAGING}:{line_of(t, 'mlflow:')}: invalid YAML: did not find expected ',' or ']' "
            f"(while parsing a flow sequence started on line {line_of(t, 'bucket: [')})"
        ],
    ),
    Case(
        "empty file",
        lambda t: "",
        lambda t: [f"{STAGING}:1: the profile is empty; expected a mapping of settings"],
    ),
    Case(
        "only comments",
        lambda t: "# nothing yet\n",
        lambda t: [f"{STAGING}:1: the profile is empty; expected a mapping of settings"],
    ),
    Case(
        "a list instead of a mapping",
        lambda t: "- log_level: INFO\n",
        lambda t: [f"{STAGING}:1: the profile must be a mapping of settings, not a list"],
    ),
    Case(
        "extends a missing profile",
        replace("extends: _base\n", "extends: _bsae\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'extends')}: extends: no profile named '_bsae' in profiles/"
        ],
    ),
    Case(
        "extends a path",
        replace("extends: _base\n", "extends: ../_base\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'extends')}: extends: must name another profile in profiles/, "
            "such as '_base'"
        ],
    ),
    Case(
        "extends itself",
        replace("extends: _base\n", "extends: staging\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'extends')}: extends: circular extends: staging -> staging"
        ],
    ),
    Case(
        "value no .env spelling can carry",
        replace("minio:\n", 'minio:\n  access_key: "it\'s $5"\n'),
        lambda t: [
            f"{STAGING}:{line_of(t, '$5')}: minio.access_key: cannot be written to .env (MINIO_ACCESS_KEY): "
            "contains a single quote and '$', which no quoting style of bash, python-dotenv and "
            "docker compose reads alike"
        ],
    ),
    Case(
        "literal secret outside development",
        replace("{vault: mantis/staging/redis, key: password}", "Str0ng-but-Literal!"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'Str0ng-but-Literal')}: redis.password: a literal secret is allowed in the "
            "development tier only; use a reference like {vault: mantis/<env>/<service>, key: password} "
            "[secrets-are-references]"
        ],
    ),
    Case(
        "placeholder secret outside development",
        replace("{vault: mantis/staging/redis, key: password}", "<CHANGE_ME_REDIS_PASSWORD>"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'CHANGE_ME')}: redis.password: holds a placeholder; a staging profile "
            "needs the real value (for a secret, a reference) [no-placeholders]"
        ],
    ),
    Case(
        "placeholder setting outside development",
        replace("minio:\n", "minio:\n  access_key: <VAULT_SECRET>\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'VAULT_SECRET')}: minio.access_key: holds the placeholder "
            "'<VAULT_SECRET>'; a staging profile needs the real value (for a secret, a reference) "
            "[no-placeholders]"
        ],
    ),
    Case(
        "typo in a secret reference",
        replace(
            "{vault: mantis/staging/redis, key: password}",
            "{vualt: mantis/staging/redis, key: password}",
        ),
        lambda t: [
            f"{STAGING}:{line_of(t, 'vualt')}: redis.password: unknown key 'vualt' in a secret reference; "
            "did you mean 'vault'?"
        ],
    ),
    Case(
        "vault reference without a key",
        replace("{vault: mantis/staging/redis, key: password}", "{vault: mantis/staging/redis}"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'staging/redis')}: redis.password: a vault reference needs 'key': "
            "the field of the secret to read"
        ],
    ),
    Case(
        "two sources in one reference",
        replace(
            "{vault: mantis/staging/redis, key: password}",
            "{vault: mantis/staging/redis, env: REDIS_PASSWORD}",
        ),
        lambda t: [
            f"{STAGING}:{line_of(t, 'staging/redis')}: redis.password: a secret reference is exactly one of "
            "{vault: PATH, key: KEY}, {aws: NAME[, key: FIELD]}, {azure: NAME}, "
            "{kubernetes: NAME, key: KEY}, {env: NAME} or {file: PATH}"
        ],
    ),
    Case(
        "vault path that climbs",
        replace(
            "{vault: mantis/staging/redis, key: password}",
            "{vault: mantis/../prod/redis, key: password}",
        ),
        lambda t: [
            f"{STAGING}:{line_of(t, 'prod/redis')}: redis.password: 'vault' must be a path inside the KV mount, "
            "like mantis/staging/postgres"
        ],
    ),
    Case(
        "env reference that is not a variable name",
        replace("{vault: mantis/staging/redis, key: password}", "{env: redis-password}"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'redis-password')}: redis.password: 'env' must be an environment "
            "variable name, like MANTIS_POSTGRES_PASSWORD"
        ],
    ),
    Case(
        "secret given as a list",
        replace("{vault: mantis/staging/redis, key: password}", "[mantis, staging]"),
        lambda t: [
            f"{STAGING}:{line_of(t, '[mantis, staging]')}: redis.password: must be a text (a literal secret) "
            "or a secret reference like {vault: PATH, key: KEY}"
        ],
    ),
    Case(
        "missing tier",
        replace("tier: staging\n", ""),
        lambda t: [f"{STAGING}:1: tier: required key is missing"],
    ),
    Case(
        "unknown tier",
        replace("tier: staging\n", "tier: prod\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'tier')}: tier: must be one of development, staging, production, not 'prod'"
        ],
    ),
    Case(
        "malformed host",
        replace("  host: mlflow.staging.mantis.internal\n", "  host: mlflow staging\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'mlflow staging')}: mlflow.host: must be a host name like db.example.com"
        ],
    ),
    Case(
        "bootstrap server without a port",
        replace(
            "    - kafka-1.staging.mantis.internal:9092\n",
            "    - kafka-1.staging.mantis.internal\n",
        ),
        lambda t: [
            f"{STAGING}:{line_of(t, 'kafka-1')}: kafka.bootstrap_servers[1]: must be host:port, "
            "like kafka-0.example.com:9092"
        ],
    ),
    # Hardening: the classes a hostile run found (one case each; the siblings beside them).
    Case(
        "not a number: NaN where a number is expected",
        replace("kafka:\n", "kafka:\n  limits: {cpus: .nan, memory_mb: 1024}\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, '.nan')}: kafka.limits.cpus: must be a finite number, not .nan"
        ],
    ),
    Case(
        "an infinity where a number is expected",
        replace("kafka:\n", "kafka:\n  limits: {cpus: -.inf, memory_mb: 1024}\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, '.inf')}: kafka.limits.cpus: must be a finite number, not -.inf"
        ],
    ),
    Case(
        "an infinity as a service variable",
        replace(
            "services:\n",
            "services:\n  anomaly_detection:\n    variables: {CONTAMINATION: .INF}\n",
        ),
        lambda t: [
            f"{STAGING}:{line_of(t, '.INF')}: services.anomaly_detection.variables.CONTAMINATION: "
            "must be a finite number, not .inf"
        ],
    ),
    Case(
        "a count past what Kafka and Kubernetes read (32-bit)",
        replace("  replicas: 2\n", "  replicas: 100000000000000000000000000\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'replicas:')}: resources.replicas: must be at most 2147483647"
        ],
    ),
    Case(
        "cpus past what compose reads exactly",
        replace("kafka:\n", "kafka:\n  limits: {cpus: 16777217, memory_mb: 1024}\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, '16777217')}: kafka.limits.cpus: must be at most 16777216"
        ],
    ),
    Case(
        "memory past what compose counts in bytes",
        replace("kafka:\n", "kafka:\n  limits: {cpus: 1, memory_mb: 8796093022208}\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, '8796093022208')}: kafka.limits.memory_mb: must be at most 8796093022207"
        ],
    ),
    Case(
        "a megabyte value is quoted by its start and its length",
        replace("log_level: INFO\n", f"log_level: {'V' * 1_000_000}\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'log_level')}: log_level: must be one of DEBUG, INFO, WARNING, "
            f"ERROR, CRITICAL, not '{'V' * 40}'... (1,000,000 characters)"
        ],
    ),
    Case(
        "a YAML 1.1 merge key",
        replace("kafka:\n", "kafka:\n  <<: {partitions: 6}\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, '<<:')}: kafka.<<: YAML 1.2 has no merge key '<<'; share "
            "settings with extends: in a profile, or repeat the keys (an alias *name can stand "
            "for a whole value)"
        ],
    ),
    Case(
        "an empty extends",
        replace("extends: _base\n", "extends:\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'extends:')}: extends: names no profile; name one, such as "
            "'_base', or remove the line"
        ],
    ),
    Case(
        "nesting deeper than a profile needs, short of libyaml's limit",
        replace("kafka:\n", "deep: " + "{a: " * 500 + "1" + "}" * 500 + "\nkafka:\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'deep:')}: deep: nested more than 64 levels deep; a profile needs a few"
        ],
    ),
    Case(
        "nesting past libyaml's limit",
        replace("kafka:\n", "deep: " + "[" * 2000 + "]" * 2000 + "\nkafka:\n"),
        lambda t: [
            f"{STAGING}:{line_of(t, 'deep:')}: invalid YAML: exceeded maximum nesting depth"
        ],
    ),
    Case(
        "several problems at once, in file order",
        lambda t: replace("  workers: 8\n", "  workers: -1\n")(
            replace("log_level: INFO\n", "log_level: 3\n")(t)
        ),
        lambda t: [
            f"{STAGING}:{line_of(t, 'log_level')}: log_level: must be of string type "
            "(put it in quotes to keep it as text)",
            f"{STAGING}:{line_of(t, 'workers')}: performance.workers: must be at least 1",
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
@pytest.mark.parametrize("command", ["validate", "render"])
def test_broken_profile_is_reported_exactly_and_writes_nothing(
    case: Case, command: str, project: Path, cli: CliRun
) -> None:
    profile = project / STAGING
    edited = case.edit(profile.read_text())
    profile.write_text(edited)

    result = cli(command, "staging")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == case.expected(edited)
    assert result.stdout == ""
    assert not (project / "rendered").exists() or list((project / "rendered").iterdir()) == []


def test_circular_extends_through_partials_names_the_cycle(project: Path, cli: CliRun) -> None:
    (project / "profiles/_loop.yaml").write_text("extends: _base\n")
    base = project / "profiles/_base.yaml"
    base.write_text("extends: _loop\n" + base.read_text())
    (project / STAGING).write_text(
        (project / STAGING).read_text().replace("extends: _base", "extends: _loop")
    )

    result = cli("validate", "staging")

    assert result.exit_code == 1
    assert (
        result.stderr
        == "profiles/_base.yaml:1: extends: circular extends: staging -> _loop -> _base -> _loop\n"
    )


def test_a_problem_in_the_base_profile_names_the_base_file(project: Path, cli: CliRun) -> None:
    base = project / "profiles/_base.yaml"
    text = base.read_text().replace("  port: 6379\n", "  port: redis\n")
    base.write_text(text)

    result = cli("validate", "staging")

    assert (
        result.stderr
        == f"profiles/_base.yaml:{line_of(text, 'port: redis')}: redis.port: must be of integer type\n"
    )


def test_file_that_is_not_utf8_names_the_line(project: Path, cli: CliRun) -> None:
    (project / STAGING).write_bytes(b"extends: _base\nlog_level: \xff\n")

    result = cli("validate", "staging")

    assert (result.exit_code, result.stderr) == (
        1,
        f"{STAGING}:2: not UTF-8 text (invalid start byte)\n",
    )


def test_failed_render_keeps_the_previous_output_byte_for_byte(project: Path, cli: CliRun) -> None:
    assert cli("render", "staging").exit_code == 0
    out = project / "rendered"
    before = {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in out.rglob("*")
        if path.is_file()
    }
    (project / STAGING).write_text("extends: _base\nlog_level: LOUD\n")

    result = cli("render", "staging")

    assert result.exit_code == 1
    after = {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in out.rglob("*")
        if path.is_file()
    }
    assert after == before
    assert sorted(path.name for path in out.iterdir()) == ["staging"]  # no temporary folder left


def test_one_broken_environment_does_not_stop_the_others(project: Path, cli: CliRun) -> None:
    (project / STAGING).write_text("extends: _base\n")

    result = cli("render", "--all")

    assert result.exit_code == 1
    assert sorted(path.name for path in (project / "rendered").iterdir()) == [
        "development",
        "production",
    ]
    assert result.stdout.splitlines() == [
        f"development: wrote 5 files to {project / 'rendered/development'}",
        f"production: wrote 5 files to {project / 'rendered/production'}",
    ]
    missing = [
        "grafana.admin_password",
        "grafana.host",
        "influxdb.admin_password",
        "influxdb.bucket",
        "influxdb.host",
        "influxdb.token",
        "kafka.bootstrap_servers",
        "kafka.partitions",
        "log_level",
        "minio.bucket",
        "minio.host",
        "minio.secret_key",
        "mlflow.host",
        "modbus.host",
        "monitoring",
        "mqtt.host",
        "mqtt.password",
        "opcua.host",
        "performance",
        "postgres.database",
        "postgres.host",
        "postgres.password",
        "redis.host",
        "redis.password",
        "resources",
        "security.jwt_secret",
        "tier",
        "timescaledb.database",
        "timescaledb.host",
        "timescaledb.password",
    ]
    # Environment by environment, in name order: each one's messages together.
    assert result.stderr.splitlines() == [
        "production: note: .env not written: its Vault references need Vault (set VAULT_ADDR, and "
        "VAULT_TOKEN, ~/.vault-token or VAULT_ROLE_ID and VAULT_SECRET_ID)",
        *(f"{STAGING}:1: {key}: required key is missing" for key in missing),
    ]
