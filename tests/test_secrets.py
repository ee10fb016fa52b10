"""Secret references resolved against a real Vault-compatible server (OpenBao dev mode)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from mantis_render.project import Project

from .conftest import REPO, TLS_PAIRS, CliRun, line_of, vault_secret_values
from .readers import kustomize, read_with_python_dotenv
from .vault_server import DevVault, free_loopback_port

STAGING = "profiles/staging.yaml"
SECRET_SETTINGS = [
    (
        "postgres.password",
        "POSTGRES_PASSWORD",
        "vault:mantis/staging/postgres#password",
        "mantis/staging/postgres",
    ),
    (
        "timescaledb.password",
        "TIMESCALEDB_PASSWORD",
        "vault:mantis/staging/timescaledb#password",
        "mantis/staging/timescaledb",
    ),
    (
        "redis.password",
        "REDIS_PASSWORD",
        "vault:mantis/staging/redis#password",
        "mantis/staging/redis",
    ),
    (
        "minio.secret_key",
        "MINIO_SECRET_KEY",
        "vault:mantis/staging/minio#secret_key",
        "mantis/staging/minio",
    ),
    (
        "influxdb.token",
        "INFLUXDB_TOKEN",
        "vault:mantis/staging/influxdb#token",
        "mantis/staging/influxdb",
    ),
    (
        "influxdb.admin_password",
        "INFLUXDB_ADMIN_PASSWORD",
        "vault:mantis/staging/influxdb#admin_password",
        "mantis/staging/influxdb",
    ),
    (
        "mqtt.password",
        "MQTT_PASSWORD",
        "vault:mantis/staging/mqtt#password",
        "mantis/staging/mqtt",
    ),
    (
        "grafana.admin_password",
        "GRAFANA_ADMIN_PASSWORD",
        "vault:mantis/staging/grafana#admin_password",
        "mantis/staging/grafana",
    ),
    ("security.jwt_secret", "JWT_SECRET", "vault:mantis/staging/jwt#secret", "mantis/staging/jwt"),
    ("tls.certificate", "tls.crt", "vault:mantis/staging/tls#certificate", "mantis/staging/tls"),
    ("tls.private_key", "tls.key", "vault:mantis/staging/tls#private_key", "mantis/staging/tls"),
]


def secret_lines(project: Path) -> dict[str, int]:
    """The line of each secret reference in the staging profile."""
    text = (project / STAGING).read_text()
    return {
        key: line_of(text, reference.removeprefix("vault:").replace("#", ", key: ") + "}")
        for key, _, reference, _ in SECRET_SETTINGS
    }


def test_render_with_vault_writes_an_exact_private_env(
    cli: CliRun, project: Path, dev_vault: DevVault
) -> None:
    result = cli("render", "staging", env=dev_vault.env())

    assert (result.exit_code, result.stderr) == (0, "")
    env_file = project / "rendered/staging/.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = read_with_python_dotenv(env_file)
    assert {name: values[name] for name in vault_secret_values("staging")} == vault_secret_values(
        "staging"
    )


def test_without_vault_committable_files_are_written_and_the_env_is_explained(
    cli: CliRun, project: Path
) -> None:
    result = cli("render", "production")

    assert result.exit_code == 0
    assert result.stdout == f"production: wrote 5 files to {project / 'rendered/production'}\n"
    assert result.stderr == (
        "production: note: .env not written: its Vault references need Vault (set VAULT_ADDR, and "
        "VAULT_TOKEN, ~/.vault-token or VAULT_ROLE_ID and VAULT_SECRET_ID)\n"
    )
    assert not (project / "rendered/production/.env").exists()
    assert (project / "rendered/production/k8s/externalsecret.yaml").is_file()


def test_without_vault_a_previous_env_is_kept(
    cli: CliRun, project: Path, dev_vault: DevVault
) -> None:
    assert cli("render", "staging", env=dev_vault.env()).exit_code == 0
    before = (project / "rendered/staging/.env").read_bytes()

    result = cli("render", "staging")

    assert result.exit_code == 0
    assert (
        result.stderr.splitlines()[-1]
        == "staging: note: kept the previous .env, tls/tls.crt, tls/tls.key; it may be out of date"
    )
    env_file = project / "rendered/staging/.env"
    assert env_file.read_bytes() == before
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_no_resolve_contacts_no_secret_store(cli: CliRun, project: Path) -> None:
    unreachable = f"http://127.0.0.1:{free_loopback_port()}"
    result = cli(
        "render",
        "staging",
        "development",
        "--no-resolve",
        env={"VAULT_ADDR": unreachable, "VAULT_TOKEN": "x"},
    )

    assert result.exit_code == 0
    assert (
        result.stderr
        == "staging: note: .env not written: secrets were not resolved (--no-resolve)\n"
    )
    assert (project / "rendered/development/.env").is_file()  # literals need no secret store


def test_vault_down_reports_every_secret_and_writes_nothing(cli: CliRun, project: Path) -> None:
    address = f"http://127.0.0.1:{free_loopback_port()}"
    result = cli("render", "staging", env={"VAULT_ADDR": address, "VAULT_TOKEN": "x"})

    lines = secret_lines(project)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == sorted(
        f"{STAGING}:{lines[key]}: {key}: {name} ({reference}): Vault at {address} is unreachable (connection refused)"
        for key, name, reference, _ in SECRET_SETTINGS
    )
    assert not (project / "rendered").exists()


def test_wrong_token_is_permission_denied_for_each_secret(
    cli: CliRun, project: Path, dev_vault: DevVault
) -> None:
    result = cli("render", "staging", env=dev_vault.env(VAULT_TOKEN="not-a-token"))

    lines = secret_lines(project)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == sorted(
        f"{STAGING}:{lines[key]}: {key}: {name} ({reference}): permission denied reading secret/{path} "
        "(check the token and its policy)"
        for key, name, reference, path in SECRET_SETTINGS
    )


def test_missing_path_and_missing_key_are_named(
    cli: CliRun, project: Path, dev_vault: DevVault
) -> None:
    profile = project / STAGING
    text = profile.read_text()
    text = text.replace(
        "{vault: mantis/staging/redis, key: password}",
        "{vault: mantis/staging/rediss, key: password}",
    )
    text = text.replace(
        "{vault: mantis/staging/jwt, key: secret}", "{vault: mantis/staging/jwt, key: secrets}"
    )
    profile.write_text(text)

    result = cli("render", "staging", env=dev_vault.env())

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{STAGING}:{line_of(text, 'rediss')}: redis.password: REDIS_PASSWORD (vault:mantis/staging/rediss#password): "
        "no secret at secret/mantis/staging/rediss in Vault",
        f"{STAGING}:{line_of(text, 'key: secrets')}: security.jwt_secret: JWT_SECRET (vault:mantis/staging/jwt#secrets): "
        "the secret has no key 'secrets' (its keys: secret)",
    ]
    assert not (project / "rendered").exists()


def test_approle_login(cli: CliRun, project: Path, dev_vault: DevVault) -> None:
    client = dev_vault.client
    client.sys.create_or_update_policy(
        name="mantis-staging-read",
        policy='path "secret/data/mantis/staging/*" { capabilities = ["read"] }',
    )
    if "approle/" not in client.sys.list_auth_methods():
        client.sys.enable_auth_method("approle")
    client.write("auth/approle/role/mantis-staging", token_policies="mantis-staging-read")
    role_id = client.read("auth/approle/role/mantis-staging/role-id")["data"]["role_id"]
    secret_id = client.write("auth/approle/role/mantis-staging/secret-id")["data"]["secret_id"]

    environment = {
        "VAULT_ADDR": dev_vault.address,
        "VAULT_ROLE_ID": role_id,
        "VAULT_SECRET_ID": secret_id,
        "HOME": "/nonexistent",
    }
    result = cli("render", "staging", env=environment)

    assert (result.exit_code, result.stderr) == (0, "")
    values = read_with_python_dotenv(project / "rendered/staging/.env")
    assert values["POSTGRES_PASSWORD"] == vault_secret_values("staging")["POSTGRES_PASSWORD"]

    wrong = cli("render", "staging", env={**environment, "VAULT_SECRET_ID": "wrong"})
    assert wrong.exit_code == 1
    assert all(": AppRole login failed: " in line for line in wrong.stderr.splitlines())


def test_token_file(cli: CliRun, project: Path, dev_vault: DevVault, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(dev_vault.token + "\n")
    result = cli(
        "render",
        "staging",
        env={"VAULT_ADDR": dev_vault.address, "VAULT_TOKEN_FILE": str(token_file)},
    )
    assert (result.exit_code, result.stderr) == (0, "")


def test_no_token_at_all(cli: CliRun, project: Path, dev_vault: DevVault) -> None:
    result = cli("render", "staging", env={"VAULT_ADDR": dev_vault.address, "HOME": "/nonexistent"})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].endswith(
        "POSTGRES_PASSWORD (vault:mantis/staging/postgres#password): no Vault token: set VAULT_TOKEN, "
        "write ~/.vault-token, or set VAULT_ROLE_ID and VAULT_SECRET_ID"
    )


def _use_local_references(project: Path, tmp_path: Path) -> str:
    profile = project / "profiles/development.yaml"
    text = profile.read_text()
    text = text.replace("password: mantis_dev_password", "password: {env: MANTIS_DEV_PG_PASSWORD}")
    text = text.replace("password: mqtt_dev_password", "password: {file: secrets/mqtt-password}")
    profile.write_text(text)
    return text


def test_env_and_file_references_resolve_into_the_env_only(
    cli: CliRun, project: Path, tmp_path: Path
) -> None:
    _use_local_references(project, tmp_path)
    (project / "secrets").mkdir()
    (project / "secrets/mqtt-password").write_text("from a file\n")

    result = cli("render", "development", env={"MANTIS_DEV_PG_PASSWORD": "from the environment"})

    assert result.exit_code == 0
    assert result.stderr == (
        "development: note: not in the Kubernetes output (env/file references): POSTGRES_PASSWORD, MQTT_PASSWORD\n"
    )
    values = read_with_python_dotenv(project / "rendered/development/.env")
    assert (values["POSTGRES_PASSWORD"], values["MQTT_PASSWORD"]) == (
        "from the environment",
        "from a file",
    )
    secrets = {
        obj["metadata"]["name"]: obj["stringData"]
        for obj in kustomize(project / "rendered/development/k8s")
        if obj["kind"] == "Secret"
    }
    # the services that read only those two get no Secret; the others keep their literals
    assert secrets == {
        "mantis-preprocessing-secrets": {"INFLUXDB_TOKEN": "influxdb_dev_token"},
        "mantis-dashboard-api-secrets": {"JWT_SECRET": "mantis_dev_jwt_secret"},
    }
    kustomization = (project / "rendered/development/k8s/kustomization.yaml").read_text()
    assert (
        "# Not delivered by these manifests: MQTT_PASSWORD, SPRING_DATASOURCE_PASSWORD.\n"
        in kustomization
    )


def test_env_and_file_references_that_cannot_be_read(
    cli: CliRun, project: Path, tmp_path: Path
) -> None:
    text = _use_local_references(project, tmp_path)

    result = cli("render", "development")

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"profiles/development.yaml:{line_of(text, 'MANTIS_DEV_PG_PASSWORD')}: postgres.password: POSTGRES_PASSWORD "
        "(env:MANTIS_DEV_PG_PASSWORD): environment variable MANTIS_DEV_PG_PASSWORD is not set",
        f"profiles/development.yaml:{line_of(text, 'mqtt-password')}: mqtt.password: MQTT_PASSWORD "
        "(file:secrets/mqtt-password): cannot read secrets/mqtt-password: No such file or directory",
    ]


def test_development_mixing_literals_and_vault_merges_into_one_secret(
    cli: CliRun, project: Path, dev_vault: DevVault
) -> None:
    dev_vault.put("mantis/development/jwt", secret="jwt-from-vault")
    profile = project / "profiles/development.yaml"
    profile.write_text(
        profile.read_text().replace(
            "jwt_secret: mantis_dev_jwt_secret",
            "jwt_secret: {vault: mantis/development/jwt, key: secret}",
        )
    )

    assert cli("render", "development", env=dev_vault.env()).exit_code == 0

    objects = kustomize(project / "rendered/development/k8s")
    [external] = [obj for obj in objects if obj["kind"] == "ExternalSecret"]
    assert external["spec"]["target"] == {
        "name": "mantis-dashboard-api-secrets",
        "creationPolicy": "Merge",
    }
    assert [d["secretKey"] for d in external["spec"]["data"]] == ["JWT_SECRET"]
    literal = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "Secret"}
    # the literal half of the same Secret, which the ExternalSecret merges into
    assert literal["mantis-dashboard-api-secrets"]["stringData"] == {
        "SPRING_DATASOURCE_PASSWORD": "mantis_dev_password"
    }
    assert (
        read_with_python_dotenv(project / "rendered/development/.env")["JWT_SECRET"]
        == "jwt-from-vault"
    )


def test_no_command_prints_a_secret_and_no_committable_file_holds_one(
    cli: CliRun, project: Path, dev_vault: DevVault
) -> None:
    environment = dev_vault.env()
    secrets = [
        value for env in ("staging", "production") for value in vault_secret_values(env).values()
    ] + [TLS_PAIRS[env]["private_key"] for env in ("staging", "production")]
    printed = []
    for arguments in (
        ["render", "--all"],
        ["validate"],
        ["list"],
        ["env-template", "staging"],
        ["secrets", "audit", "staging"],
        ["secrets", "audit", "production", "--format", "json"],
    ):
        result = cli(*arguments, env=environment)
        printed.append(result.output)
    # and the failures: a broken profile, a wrong token
    (project / "profiles/production.yaml").write_text(
        (project / "profiles/production.yaml").read_text() + "oops: 1\n"
    )
    printed.append(cli("render", "production", env=environment).output)
    printed.append(cli("render", "staging", env=dev_vault.env(VAULT_TOKEN="wrong")).output)

    committable = [
        p.read_text()
        for p in (project / "rendered").rglob("*")
        if p.is_file() and p.name not in (".env", "containers.env") and p.parent.name != "tls"
    ]
    assert len(committable) == 14
    for secret in secrets:
        for text in printed + committable:
            assert secret not in text
    assert (
        vault_secret_values("staging")["POSTGRES_PASSWORD"]
        in (project / "rendered/staging/.env").read_text()
    )


def test_env_template_shows_where_each_secret_comes_from(cli: CliRun) -> None:
    result = cli("env-template", "production")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert (
        lines[2]
        == "# Every variable; each secret is a placeholder naming where its value comes from."
    )
    assert "POSTGRES_PASSWORD='<VAULT_SECRET:vault:mantis/production/postgres#password>'" in lines
    assert "POSTGRES_HOST='postgres.prod.mantis.internal'" in lines
    names = [variable.name for variable in Project(REPO).build("production").variables]
    assert [line.split("=", 1)[0] for line in lines if not line.startswith("#")] == names


def test_env_template_of_development_marks_literal_secrets_to_change(cli: CliRun) -> None:
    lines = cli("env-template", "development").stdout.splitlines()
    assert "POSTGRES_PASSWORD='<CHANGE_ME_POSTGRES_PASSWORD>'" in lines


def test_audit_reports_ages_and_passes_when_all_are_fresh(cli: CliRun, dev_vault: DevVault) -> None:
    result = cli("secrets", "audit", "staging", env=dev_vault.env())

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "VARIABLE                 REFERENCE                                     AGE  LIMIT  STATUS",
        "POSTGRES_PASSWORD        vault:mantis/staging/postgres#password        0d   90d    ok",
        "TIMESCALEDB_PASSWORD     vault:mantis/staging/timescaledb#password     0d   90d    ok",
        "REDIS_PASSWORD           vault:mantis/staging/redis#password           0d   90d    ok",
        "MINIO_SECRET_KEY         vault:mantis/staging/minio#secret_key         0d   90d    ok",
        "INFLUXDB_TOKEN           vault:mantis/staging/influxdb#token           0d   90d    ok",
        "INFLUXDB_ADMIN_PASSWORD  vault:mantis/staging/influxdb#admin_password  0d   90d    ok",
        "MQTT_PASSWORD            vault:mantis/staging/mqtt#password            0d   90d    ok",
        "GRAFANA_ADMIN_PASSWORD   vault:mantis/staging/grafana#admin_password   0d   90d    ok",
        "JWT_SECRET               vault:mantis/staging/jwt#secret               0d   180d   ok",
        "",
        "CERTIFICATE                   NAMES                      EXPIRES     LEFT  RENEW  STATUS",
        f"CN=*.staging.mantis.internal  *.staging.mantis.internal  {expiry('staging')}  364d  30d    ok",
    ]


def expiry(environment: str) -> str:
    """The date the dev Vault's certificate of ``environment`` expires."""
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(TLS_PAIRS[environment]["certificate"].encode())
    return certificate.not_valid_after_utc.date().isoformat()


def test_audit_as_of_a_later_date_finds_overdue_secrets(cli: CliRun, dev_vault: DevVault) -> None:
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(days=120)).strftime("%Y-%m-%d")
    result = cli(
        "secrets", "audit", "staging", "--as-of", later, "--format", "json", env=dev_vault.env()
    )

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["environment"] == "staging"
    statuses = {row["variable"]: (row["status"], row["max_age_days"]) for row in report["secrets"]}
    assert statuses == {
        "POSTGRES_PASSWORD": ("overdue", 90),
        "TIMESCALEDB_PASSWORD": ("overdue", 90),
        "REDIS_PASSWORD": ("overdue", 90),
        "MINIO_SECRET_KEY": ("overdue", 90),
        "INFLUXDB_TOKEN": ("overdue", 90),
        "INFLUXDB_ADMIN_PASSWORD": ("overdue", 90),
        "MQTT_PASSWORD": ("overdue", 90),
        "GRAFANA_ADMIN_PASSWORD": ("overdue", 90),
        "JWT_SECRET": ("ok", 180),
    }
    assert {row["age_days"] for row in report["secrets"]} in ({119}, {120})


def test_audit_without_vault_is_an_error(cli: CliRun) -> None:
    result = cli("secrets", "audit", "staging")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "profiles/staging.yaml: audit: its Vault references need Vault (set VAULT_ADDR, and VAULT_TOKEN, ~/.vault-token "
        "or VAULT_ROLE_ID and VAULT_SECRET_ID)\n"
    )


def test_audit_of_literal_secrets_says_they_are_not_in_vault(
    cli: CliRun, dev_vault: DevVault
) -> None:
    result = cli("secrets", "audit", "development", env=dev_vault.env())
    assert result.exit_code == 0
    assert (
        result.stdout.splitlines()[1]
        == "POSTGRES_PASSWORD        literal    -    90d    not in a store"
    )


def test_external_secret_needs_no_vault_and_no_value(cli: CliRun, project: Path) -> None:
    assert cli("render", "staging").exit_code == 0
    externals = yaml.safe_load_all(
        (project / "rendered/staging/k8s/externalsecret.yaml").read_text()
    )
    orchestrator = next(
        e for e in externals if e["metadata"]["name"] == "mantis-orchestrator-secrets"
    )
    assert [entry["remoteRef"] for entry in orchestrator["spec"]["data"]] == [
        {"key": "mantis/staging/postgres", "property": "password"}
    ]


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_shipped_secret_references_point_at_the_environments_own_vault_path(
    cli: CliRun, project: Path, environment: str
) -> None:
    cli("render", environment)
    externals = list(
        yaml.safe_load_all(
            (project / f"rendered/{environment}/k8s/externalsecret.yaml").read_text()
        )
    )
    assert len(externals) == 4  # one per service that reads a secret
    assert {
        entry["remoteRef"]["key"].split("/")[1]
        for external in externals
        for entry in external["spec"]["data"]
    } == {environment}
