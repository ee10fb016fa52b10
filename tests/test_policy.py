"""Every policy rule: a profile that breaks it (exact message and line); the shipped ones pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mantis_render.policy import RULES

from .certificates import tls_pair
from .conftest import REPO, CliRun, line_of
from .vault_server import DevVault

PRODUCTION, STAGING, DEVELOPMENT = (
    "profiles/production.yaml",
    "profiles/staging.yaml",
    "profiles/development.yaml",
)
BASE_TEXT = (REPO / "profiles/_base.yaml").read_text()


@dataclass
class Breach:
    rule: str
    profile: str
    old: str
    new: str
    expected: Callable[[str], list[str]]  # the stderr lines, from the edited profile's text


def at(profile: str, needle: str, key: str, message: str, rule: str) -> Callable[[str], list[str]]:
    return lambda text: [f"{profile}:{line_of(text, needle)}: {key}: {message} [{rule}]"]


BREACHES = [
    Breach(
        "production-debug-off",
        PRODUCTION,
        "log_level: WARNING\n",
        "log_level: WARNING\ndebug: true\n",
        at(
            PRODUCTION,
            "debug: true",
            "debug",
            "must be false in production",
            "production-debug-off",
        ),
    ),
    Breach(
        "production-log-level",
        PRODUCTION,
        "log_level: WARNING",
        "log_level: INFO",
        at(
            PRODUCTION,
            "log_level",
            "log_level",
            "must be WARNING or ERROR in production, not INFO",
            "production-log-level",
        ),
    ),
    Breach(
        "production-no-mock-data",
        PRODUCTION,
        "log_level: WARNING\n",
        "log_level: WARNING\nenable_mock_data: true\n",
        at(
            PRODUCTION,
            "enable_mock_data",
            "enable_mock_data",
            "must be false in production",
            "production-no-mock-data",
        ),
    ),
    Breach(
        "production-tls",
        PRODUCTION,
        "security:\n",
        "security:\n  tls: false\n",
        at(
            PRODUCTION, "tls: false", "security.tls", "must be true in production", "production-tls"
        ),
    ),
    Breach(
        "production-audit-logging",
        PRODUCTION,
        "security:\n",
        "security:\n  audit_logging: false\n",
        at(
            PRODUCTION,
            "audit_logging",
            "security.audit_logging",
            "must be true in production",
            "production-audit-logging",
        ),
    ),
    Breach(
        "production-secrets-from-store",
        PRODUCTION,
        "{vault: mantis/production/redis, key: password}",
        "{env: MANTIS_REDIS_PASSWORD}",
        at(
            PRODUCTION,
            "MANTIS_REDIS_PASSWORD",
            "redis.password",
            "must be a secret store reference in production, like {vault: mantis/production/<service>, key: ...}",
            "production-secrets-from-store",
        ),
    ),
    Breach(
        "production-replicas",
        PRODUCTION,
        "  replicas: 3",
        "  replicas: 2",
        at(
            PRODUCTION,
            "replicas: 2",
            "resources.replicas",
            "must be at least 3 in production, not 2",
            "production-replicas",
        ),
    ),
    Breach(
        "production-monitoring",
        PRODUCTION,
        "  jaeger: required",
        "  jaeger: recommended",
        at(
            PRODUCTION,
            "jaeger",
            "monitoring.jaeger",
            "must be required in production, not recommended",
            "production-monitoring",
        ),
    ),
    Breach(
        "production-alerting",
        PRODUCTION,
        "  alerting: [pagerduty, slack]",
        "  alerting: [email]",
        at(
            PRODUCTION,
            "alerting",
            "monitoring.alerting",
            "must include pagerduty or slack in production",
            "production-alerting",
        ),
    ),
    Breach(
        "staging-tls",
        STAGING,
        "security:\n",
        "security:\n  tls: false\n",
        at(STAGING, "tls: false", "security.tls", "must be true in staging", "staging-tls"),
    ),
    Breach(
        "no-placeholders",
        STAGING,
        "minio:\n",
        "minio:\n  access_key: <CHANGE_ME_ACCESS_KEY>\n",
        at(
            STAGING,
            "CHANGE_ME",
            "minio.access_key",
            "holds the placeholder '<CHANGE_ME_ACCESS_KEY>'; a staging profile needs the real value (for a secret, a reference)",
            "no-placeholders",
        ),
    ),
    Breach(
        "secrets-are-references",
        PRODUCTION,
        "{vault: mantis/production/jwt, key: secret}",
        "Sup3r-Long-Literal-Secret!",
        lambda text: [
            f"{PRODUCTION}:{line_of(text, 'Sup3r')}: security.jwt_secret: a literal secret is allowed in the development "
            "tier only; use a reference like {vault: mantis/<env>/<service>, key: password} [secrets-are-references]",
            f"{PRODUCTION}:{line_of(text, 'Sup3r')}: security.jwt_secret: must be a secret store reference in production, like "
            "{vault: mantis/production/<service>, key: ...} [production-secrets-from-store]",
        ],
    ),
    Breach(
        "well-formed-hosts",
        STAGING,
        "  host: mlflow.staging.mantis.internal",
        "  host: mlflow-.staging.mantis.internal",
        at(
            STAGING,
            "mlflow-.",
            "mlflow.host",
            "'mlflow-.staging.mantis.internal' is not a valid host name: the label 'mlflow-' must be 1 to 63 letters, "
            "digits or '-', not starting or ending with '-'",
            "well-formed-hosts",
        ),
    ),
    Breach(
        "no-localhost-outside-development",
        STAGING,
        "  host: redis.staging.mantis.internal",
        "  host: 127.0.0.1",
        at(
            STAGING,
            "127.0.0.1",
            "redis.host",
            "127.0.0.1 is this machine only; staging needs a reachable host",
            "no-localhost-outside-development",
        ),
    ),
    Breach(
        "unique-host-ports",
        DEVELOPMENT,
        "  port: 3001   # the dashboard has 3000 on a developer's machine",
        "  port: 3000",
        lambda text: [
            f"profiles/_base.yaml:{line_of(BASE_TEXT, 'dashboard_frontend: {port: 3000')}: services.dashboard_frontend.port: host port 3000 "
            "is also published by grafana.port [unique-host-ports]",
            f"{DEVELOPMENT}:{line_of(text, 'port: 3000')}: grafana.port: host port 3000 is also published by "
            "services.dashboard_frontend.port [unique-host-ports]",
        ],
    ),
]
# Rules judged across secrets or on resolved values have their own tests below.
DEDICATED_TESTS = {
    "strong-secrets": "test_weak_resolved_secret_is_refused_without_printing_it",
    "no-shared-secrets": "test_the_development_password_given_to_staging_is_reported_in_both_files",
    "production-tls-certificate": "test_production_with_tls_on_and_no_certificate_is_refused",
    "tls-certificate-hosts": "test_a_certificate_for_other_hosts_warns_in_staging_and_fails_production",
    "tls-certificate-expiry": "test_an_expiring_certificate_fails_production_and_warns_in_staging",
}


def edit(project: Path, profile: str, old: str, new: str) -> str:
    path = project / profile
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path.read_text()


def test_every_rule_has_a_breach_here() -> None:
    assert sorted([*(breach.rule for breach in BREACHES), *DEDICATED_TESTS]) == sorted(RULES)
    assert all(name in globals() for name in DEDICATED_TESTS.values())


@pytest.mark.parametrize("breach", BREACHES, ids=[breach.rule for breach in BREACHES])
def test_a_profile_that_breaks_a_rule(breach: Breach, cli: CliRun, project: Path) -> None:
    text = edit(project, breach.profile, breach.old, breach.new)
    environment = Path(breach.profile).stem

    result = cli("validate", environment)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == breach.expected(text)
    rendered = cli("render", environment)
    assert rendered.exit_code == 1
    assert not (project / "rendered" / environment).exists()


def test_the_shipped_profiles_pass_every_rule(cli: CliRun) -> None:
    result = cli("validate")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "development: valid\nproduction: valid\nstaging: valid\n",
        "",
    )


def test_the_development_password_given_to_staging_is_reported_in_both_files(
    cli: CliRun, project: Path
) -> None:
    text = edit(
        project, STAGING, "{vault: mantis/staging/postgres, key: password}", "mantis_dev_password"
    )
    development = (project / DEVELOPMENT).read_text()

    result = cli("validate")

    shared = [line for line in result.stderr.splitlines() if line.endswith("[no-shared-secrets]")]
    assert shared == [
        f"{DEVELOPMENT}:{line_of(development, 'mantis_dev_password')}: postgres.password: POSTGRES_PASSWORD has the same "
        f"value as POSTGRES_PASSWORD of staging ({STAGING}:{line_of(text, 'mantis_dev_password')}) [no-shared-secrets]",
        f"{STAGING}:{line_of(text, 'mantis_dev_password')}: postgres.password: POSTGRES_PASSWORD has the same value as "
        f"POSTGRES_PASSWORD of development ({DEVELOPMENT}:{line_of(development, 'mantis_dev_password')}) [no-shared-secrets]",
    ]
    assert "mantis_dev_password" not in result.output


def test_a_reference_shared_by_two_secrets_is_one_secret(cli: CliRun, project: Path) -> None:
    text = edit(
        project,
        STAGING,
        "{vault: mantis/staging/redis, key: password}",
        "{vault: mantis/staging/postgres, key: password}",
    )
    postgres, redis = [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if "staging/postgres, key: password" in line
    ]

    result = cli("validate", "staging")

    assert result.stderr.splitlines() == [
        f"{STAGING}:{postgres}: postgres.password: POSTGRES_PASSWORD has the same value as REDIS_PASSWORD ({STAGING}:{redis}) [no-shared-secrets]",
        f"{STAGING}:{redis}: redis.password: REDIS_PASSWORD has the same value as POSTGRES_PASSWORD ({STAGING}:{postgres}) [no-shared-secrets]",
    ]


def test_weak_resolved_secret_is_refused_without_printing_it(
    cli: CliRun, project: Path, dev_vault: DevVault
) -> None:
    dev_vault.put("mantis/staging/weak", password="password123")
    text = edit(
        project,
        STAGING,
        "{vault: mantis/staging/redis, key: password}",
        "{vault: mantis/staging/weak, key: password}",
    )

    result = cli("render", "staging", env=dev_vault.env())

    assert result.exit_code == 1
    assert result.stderr == (
        f"{STAGING}:{line_of(text, 'staging/weak')}: redis.password: REDIS_PASSWORD is weak: 11 characters of 2 kinds "
        "(needs 16 of 3: lowercase, uppercase, digits, symbols) [strong-secrets]\n"
    )
    assert not (project / "rendered/staging").exists()
    assert cli("validate", "staging").exit_code == 0  # unresolved, the reference itself is fine


def test_a_waiver_turns_a_rule_off_for_its_environment_with_the_reason_shown(
    cli: CliRun, project: Path
) -> None:
    text = edit(project, PRODUCTION, "  replicas: 3         # guide: 3+", "  replicas: 2")
    text = edit(
        project,
        PRODUCTION,
        "extends: _base\n",
        "extends: _base\nwaivers:\n  - rule: production-replicas\n    reason: single-node pilot cluster until March\n",
    )

    result = cli("validate", "production")

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "production: valid",
        f"{PRODUCTION}:{line_of(text, 'replicas: 2')}: resources.replicas: must be at least 3 in production, not 2; "
        "waived: single-node pilot cluster until March [production-replicas]",
    ]
    assert cli("render", "production").exit_code == 0


def test_waivers_are_checked(cli: CliRun, project: Path) -> None:
    text = edit(
        project,
        PRODUCTION,
        "extends: _base\n",
        "extends: _base\nwaivers:\n  - rule: prod-tls\n    reason: a typo in the rule id\n  - rule: production-replicas\n    reason: replicas are 3 already\n",
    )
    base = edit(
        project,
        "profiles/_base.yaml",
        "debug: false\n",
        "debug: false\nwaivers:\n  - rule: staging-tls\n    reason: shared waivers are not allowed\n",
    )

    production = cli("validate", "production")
    staging = cli("validate", "staging")

    assert production.exit_code == 1
    assert production.stderr.splitlines() == [
        f"{PRODUCTION}:{line_of(text, 'prod-tls')}: waivers[0].rule: no rule named 'prod-tls'; did you mean 'production-tls'? [waivers]",
        f"{PRODUCTION}:{line_of(text, 'rule: production-replicas')}: waivers[1].rule: waives production-replicas, which finds "
        "nothing in production (warning) [waivers]",
    ]
    assert staging.stderr.splitlines() == [
        f"profiles/_base.yaml:{line_of(base, 'rule: staging-tls')}: waivers[0].rule: waivers belong in the environment's own "
        "profile, not in profiles/_base.yaml [waivers]",
    ]


def test_a_warning_does_not_fail_a_command(cli: CliRun, project: Path) -> None:
    edit(
        project,
        PRODUCTION,
        "extends: _base\n",
        "extends: _base\nwaivers:\n  - rule: production-replicas\n    reason: replicas are 3 already\n",
    )
    result = cli("render", "production")
    assert result.exit_code == 0
    assert "(warning) [waivers]" in result.stderr


def test_validate_json_lists_rule_severity_file_line_key_and_message(
    cli: CliRun, project: Path
) -> None:
    text = edit(project, PRODUCTION, "log_level: WARNING", "log_level: INFO")
    report = json.loads(cli("validate", "--format", "json").stdout)
    assert report["valid"] is False
    assert report["environments"]["staging"] == {"valid": True, "problems": [], "waived": []}
    assert report["environments"]["production"]["problems"] == [
        {
            "file": PRODUCTION,
            "line": line_of(text, "log_level"),
            "key": "log_level",
            "message": "must be WARNING or ERROR in production, not INFO",
            "rule": "production-log-level",
            "severity": "error",
        }
    ]


def test_production_with_tls_on_and_no_certificate_is_refused(cli: CliRun, project: Path) -> None:
    text = (project / PRODUCTION).read_text()
    (project / PRODUCTION).write_text(text[: text.index("\n# The certificate of every")] + "\n")
    base = (project / "profiles/_base.yaml").read_text()

    result = cli("validate", "production")

    assert result.exit_code == 1
    assert result.stderr == (
        f"profiles/_base.yaml:{line_of(base, 'tls: true')}: security.tls: TLS is on but no "
        "certificate is given: add tls.certificate and tls.private_key (references) "
        "[production-tls-certificate]\n"
    )


def test_a_certificate_for_other_hosts_warns_in_staging_and_fails_production(
    cli: CliRun, project: Path, dev_vault: DevVault
) -> None:
    for environment in ("staging", "production"):
        dev_vault.put(
            f"mantis/{environment}/tls-other",
            **tls_pair(["mantis.example.com", "*.staging.mantis.internal"]),
        )
        edit(
            project,
            f"profiles/{environment}.yaml",
            f"{{vault: mantis/{environment}/tls, key: certificate}}",
            f"{{vault: mantis/{environment}/tls-other, key: certificate}}",
        )
        edit(
            project,
            f"profiles/{environment}.yaml",
            f"{{vault: mantis/{environment}/tls, key: private_key}}",
            f"{{vault: mantis/{environment}/tls-other, key: private_key}}",
        )

    staging = cli("render", "staging", env=dev_vault.env())
    production = cli("render", "production", env=dev_vault.env())

    assert staging.exit_code == 0  # a warning: the staging certificate covers its hosts
    assert staging.stderr == ""
    staging_text = (project / STAGING).read_text()
    production_text = (project / PRODUCTION).read_text()
    assert production.exit_code == 1
    assert production.stderr == (
        f"{PRODUCTION}:{line_of(production_text, 'tls-other, key: certificate')}: tls.certificate: "
        "the certificate (CN=mantis.example.com; names: mantis.example.com, "
        "*.staging.mantis.internal) does not cover grafana.prod.mantis.internal, "
        "influxdb.prod.mantis.internal, kafka-0.prod.mantis.internal, kafka-1.prod.mantis.internal, "
        "kafka-2.prod.mantis.internal, minio.prod.mantis.internal, mlflow.prod.mantis.internal, "
        "modbus.prod.mantis.internal, mqtt.prod.mantis.internal, opcua.prod.mantis.internal, "
        "postgres.prod.mantis.internal, redis.prod.mantis.internal, "
        "timescaledb.prod.mantis.internal [tls-certificate-hosts]\n"
    )
    assert not (project / "rendered/production").exists()
    # staging's hosts are covered by the wildcard; one name less and it warns, rendering still
    dev_vault.put("mantis/staging/tls-other", **tls_pair(["mantis.example.com"]))
    staging = cli("render", "staging", env=dev_vault.env())
    assert staging.exit_code == 0
    assert staging.stderr.splitlines()[0] == (
        f"{STAGING}:{line_of(staging_text, 'tls-other, key: certificate')}: tls.certificate: "
        "the certificate (CN=mantis.example.com; names: mantis.example.com) does not cover "
        "grafana.staging.mantis.internal, influxdb.staging.mantis.internal, "
        "kafka-0.staging.mantis.internal, kafka-1.staging.mantis.internal, "
        "minio.staging.mantis.internal, mlflow.staging.mantis.internal, "
        "modbus.staging.mantis.internal, mqtt.staging.mantis.internal, "
        "opcua.staging.mantis.internal, postgres.staging.mantis.internal, "
        "redis.staging.mantis.internal, timescaledb.staging.mantis.internal (warning) "
        "[tls-certificate-hosts]"
    )


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (-3, "expired on {expires}: renew it, and store the new one at this reference"),
        (12, "expires on {expires}, in 12 days: within renew_before_days (30); renew it"),
    ],
    ids=["expired", "due"],
)
def test_an_expiring_certificate_fails_production_and_warns_in_staging(
    cli: CliRun, project: Path, dev_vault: DevVault, days: int, said: str
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=days + 0.5)).date().isoformat()
    lines = {}
    for environment, host in (("staging", "staging"), ("production", "prod")):
        path = f"mantis/{environment}/tls-expiring-{days}"
        dev_vault.put(path, **tls_pair([f"*.{host}.mantis.internal"], days + 0.5))
        for key in ("certificate", "private_key"):
            text = edit(
                project,
                f"profiles/{environment}.yaml",
                f"{{vault: mantis/{environment}/tls, key: {key}}}",
                f"{{vault: {path}, key: {key}}}",
            )
        lines[environment] = line_of(text, f"{path}, key: certificate")
    message = said.format(expires=expires)
    subject = {"staging": "*.staging.mantis.internal", "production": "*.prod.mantis.internal"}

    staging = cli("render", "staging", env=dev_vault.env())
    production = cli("render", "production", env=dev_vault.env())

    assert staging.exit_code == 0
    assert staging.stderr == (
        f"{STAGING}:{lines['staging']}: tls.certificate: the certificate "
        f"(CN={subject['staging']}) {message} (warning) [tls-certificate-expiry]\n"
    )
    assert (project / "rendered/staging/tls/tls.crt").is_file()
    assert production.exit_code == 1
    assert production.stderr == (
        f"{PRODUCTION}:{lines['production']}: tls.certificate: the certificate "
        f"(CN={subject['production']}) {message} [tls-certificate-expiry]\n"
    )
    assert not (project / "rendered/production").exists()
