"""secrets init against real stores: a new environment provisioned end to end in OpenBao and in a
local AWS endpoint (moto_server), never a value overwritten, even by two runs at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mantis_render.policy.staging import MIN_CLASSES, MIN_LENGTH

from .aws_server import LocalAws
from .certificates import tls_pair
from .conftest import AWS_HERMETIC, AWS_VARIABLES, VAULT_VARIABLES, CliRun, line_of
from .readers import read_with_python_dotenv
from .vault_server import DevVault

QA_SECRETS = [
    ("POSTGRES_PASSWORD", "mantis/qa/postgres", "password", 32),
    ("TIMESCALEDB_PASSWORD", "mantis/qa/timescaledb", "password", 32),
    ("REDIS_PASSWORD", "mantis/qa/redis", "password", 32),
    ("MINIO_SECRET_KEY", "mantis/qa/minio", "secret_key", 40),
    ("INFLUXDB_TOKEN", "mantis/qa/influxdb", "token", 40),
    ("INFLUXDB_ADMIN_PASSWORD", "mantis/qa/influxdb", "admin_password", 32),
    ("MQTT_PASSWORD", "mantis/qa/mqtt", "password", 40),
    ("GRAFANA_ADMIN_PASSWORD", "mantis/qa/grafana", "admin_password", 32),
    ("JWT_SECRET", "mantis/qa/jwt", "secret", 64),
]


@pytest.fixture
def qa(project: Path, cli: CliRun, dev_vault: DevVault) -> str:
    """A new environment qa made from staging, with a name no other test uses in the shared
    dev Vault, and its certificate stored (a CA issues it; init does not)."""
    name = f"qa{os.urandom(3).hex()}"
    assert cli("new", name, "--from", "staging").exit_code == 0
    dev_vault.put(f"mantis/{name}/tls", **tls_pair([f"*.{name}.mantis.internal"]))
    return name


def vault_versions(dev_vault: DevVault, path: str) -> list[dict[str, Any]]:
    """Every version of a secret's data, oldest first."""
    client = dev_vault.client.secrets.kv.v2
    metadata = client.read_secret_metadata(path=path, mount_point="secret")["data"]
    return [
        client.read_secret_version(
            path=path, version=version, mount_point="secret", raise_on_deleted_version=True
        )["data"]["data"]
        for version in range(1, int(metadata["current_version"]) + 1)
    ]


def test_new_then_init_then_render_provisions_an_environment_end_to_end(
    project: Path, cli: CliRun, dev_vault: DevVault, qa: str
) -> None:
    result = cli("secrets", "init", qa, env=dev_vault.env())
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    expected = [
        f"created  {name:<23}  vault:{path.replace('qa', qa, 1)}#{key}"
        for name, path, key, _ in QA_SECRETS
    ]
    expected += [
        f"exists   tls.crt                  vault:mantis/{qa}/tls#certificate",
        f"exists   tls.key                  vault:mantis/{qa}/tls#private_key",
    ]
    assert result.stdout.splitlines() == expected

    rendered = cli("render", qa, env=dev_vault.env())
    assert rendered.exit_code == 0, rendered.stderr
    values = read_with_python_dotenv(project / "rendered" / qa / ".env")
    for name, path, key, length in QA_SECRETS:
        stored = vault_versions(dev_vault, path.replace("qa", qa, 1))[-1]
        value = stored[key]
        assert values[name] == value
        assert len(value) == length and value.isalnum()
        kinds = sum(any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit))
        assert len(value) >= MIN_LENGTH and kinds >= MIN_CLASSES
        assert value not in result.output + rendered.output

    again = cli("secrets", "init", qa, env=dev_vault.env())
    assert again.exit_code == 0
    assert [line.split()[0] for line in again.stdout.splitlines()] == ["exists"] * 11
    for _, path, _, _ in QA_SECRETS:  # one version for each key of the path, none more
        keys = sum(1 for _, other, _, _ in QA_SECRETS if other == path)
        assert len(vault_versions(dev_vault, path.replace("qa", qa, 1))) == keys


def test_dry_run_writes_nothing(cli: CliRun, dev_vault: DevVault, qa: str) -> None:
    result = cli("secrets", "init", qa, "--dry-run", env=dev_vault.env())
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        f"would create  POSTGRES_PASSWORD        vault:mantis/{qa}/postgres#password"
    )
    assert dev_vault.client.secrets.kv.v2.list_secrets(path=f"mantis/{qa}", mount_point="secret")[
        "data"
    ]["keys"] == ["tls"]


def test_a_key_missing_from_an_existing_secret_is_added_beside_its_other_keys(
    cli: CliRun, dev_vault: DevVault, qa: str
) -> None:
    dev_vault.put(f"mantis/{qa}/postgres", replication="Kept-Value-0123456789")
    result = cli("secrets", "init", qa, env=dev_vault.env())
    assert result.exit_code == 0
    versions = vault_versions(dev_vault, f"mantis/{qa}/postgres")
    assert [sorted(version) for version in versions] == [
        ["replication"],
        ["password", "replication"],
    ]
    assert versions[1]["replication"] == "Kept-Value-0123456789"


def test_failures_are_each_listed_and_exit_1(
    project: Path, cli: CliRun, dev_vault: DevVault, qa: str
) -> None:
    profile = project / "profiles" / f"{qa}.yaml"
    text = profile.read_text()
    text = text.replace(
        f"{{vault: mantis/{qa}/tls, key: certificate}}",
        f"{{vault: mantis/{qa}/tls2, key: certificate}}",
    )
    text = text.replace(f"{{vault: mantis/{qa}/redis, key: password}}", f"{{azure: {qa}-redis}}")
    profile.write_text(text)
    result = cli("secrets", "init", qa, env=dev_vault.env())
    assert result.exit_code == 1
    shown = f"profiles/{qa}.yaml"
    assert result.stderr.splitlines() == [
        f"{shown}: secrets init: its Azure Key Vault references are read by External Secrets in "
        "Kubernetes only (for a local .env, give an env or file reference)",
        f"{shown}:{line_of(text, 'tls2')}: tls.certificate: tls.crt (vault:mantis/{qa}/tls2#certificate): "
        "missing, and not generated here: a certificate and its key come from your certificate "
        "authority; store them at this reference",
    ]
    assert "created  POSTGRES_PASSWORD " in result.stdout  # the others are still created

    denied = cli("secrets", "init", qa, env=dev_vault.env(VAULT_TOKEN="wrong"))
    assert denied.exit_code == 1
    assert (
        f"{shown}:{line_of(text, f'mantis/{qa}/postgres')}: postgres.password: POSTGRES_PASSWORD "
        f"(vault:mantis/{qa}/postgres#password): permission denied reading secret/mantis/{qa}/postgres "
        "(check the token and its policy)"
    ) in denied.stderr.splitlines()


def test_init_creates_aws_secrets_and_never_replaces_one(
    project: Path, cli: CliRun, dev_vault: DevVault, local_aws: LocalAws, qa: str
) -> None:
    profile = project / "profiles" / f"{qa}.yaml"
    profile.write_text(
        profile.read_text()
        .replace(
            f"{{vault: mantis/{qa}/postgres, key: password}}",
            f"{{aws: mantis/{qa}/postgres, key: password}}",
        )
        .replace(f"{{vault: mantis/{qa}/jwt, key: secret}}", f"{{aws: mantis/{qa}/jwt}}")
    )
    local_aws.client.create_secret(Name=f"mantis/{qa}/jwt", SecretString="Existing-Jwt-0123456789")
    env = {**dev_vault.env(), **local_aws.env()}
    result = cli("secrets", "init", qa, env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"created  POSTGRES_PASSWORD        aws:mantis/{qa}/postgres#password" in lines
    assert f"exists   JWT_SECRET               aws:mantis/{qa}/jwt" in lines
    stored = json.loads(
        local_aws.client.get_secret_value(SecretId=f"mantis/{qa}/postgres")["SecretString"]
    )
    assert list(stored) == ["password"] and len(stored["password"]) == 32
    jwt = local_aws.client.get_secret_value(SecretId=f"mantis/{qa}/jwt")["SecretString"]
    assert jwt == "Existing-Jwt-0123456789"
    rendered = cli("render", qa, env=env)
    assert rendered.exit_code == 0, rendered.stderr
    values = read_with_python_dotenv(project / "rendered" / qa / ".env")
    assert values["POSTGRES_PASSWORD"] == stored["password"]


def test_two_runs_at_once_overwrite_nothing_and_both_exit_cleanly(
    project: Path, dev_vault: DevVault, qa: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in VAULT_VARIABLES + AWS_VARIABLES}
    env |= AWS_HERMETIC | dev_vault.env()
    command = [sys.executable, "-m", "mantis_render", "--root", str(project), "secrets", "init", qa]
    runs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    assert all(stderr == "" for _, stderr in outputs)
    for name, path, key, _ in QA_SECRETS:
        versions = vault_versions(dev_vault, path.replace("qa", qa, 1))
        # written once, never overwritten: a path holding two keys gets a version for each
        written = [version[key] for version in versions if key in version]
        assert len(set(written)) == 1, (path, key)
        assert len(versions) == sum(1 for _, other, _, _ in QA_SECRETS if other == path)
        outcomes = [
            line[: line.index(f"  {name}  ")].strip()
            for stdout, _ in outputs
            for line in stdout.splitlines()
            if f"  {name}  " in line
        ]
        assert outcomes.count("created") == 1, (name, outcomes)
        assert set(outcomes) <= {"created", "exists", "created meanwhile"}


def test_concurrent_runs_against_aws_create_each_secret_once(
    project: Path, dev_vault: DevVault, local_aws: LocalAws, qa: str
) -> None:
    profile = project / "profiles" / f"{qa}.yaml"
    text = profile.read_text()
    for _, path, key, _ in QA_SECRETS:
        path = path.replace("qa", qa, 1)
        text = text.replace(f"{{vault: {path}, key: {key}}}", f"{{aws: {path}, key: {key}}}")
    profile.write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in VAULT_VARIABLES + AWS_VARIABLES}
    env |= AWS_HERMETIC | dev_vault.env() | local_aws.env()
    command = [sys.executable, "-m", "mantis_render", "--root", str(project), "secrets", "init", qa]
    runs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    created = [
        line
        for stdout, _ in outputs
        for line in stdout.splitlines()
        if line.startswith("created  ")
    ]
    assert sorted(line.split()[1] for line in created) == sorted(name for name, *_ in QA_SECRETS)
    for _, path, key, length in QA_SECRETS:
        versions = local_aws.client.list_secret_version_ids(SecretId=path.replace("qa", qa, 1))
        keys = sum(1 for _, other, _, _ in QA_SECRETS if other == path)
        assert len(versions["Versions"]) == keys  # a version for each key, none put over
        stored = local_aws.client.get_secret_value(SecretId=path.replace("qa", qa, 1))
        assert len(json.loads(stored["SecretString"])[key]) == length
