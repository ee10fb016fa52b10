"""Secret stores that fail on the client's side, hang, or close at once, and Vault secrets in odd
states: every command that reaches a store (render, exec, doctor, secrets init, secrets audit)
says one line naming the store and the setting, never a traceback, and waits on a store that does
not answer once a run. Real OpenBao, a real local AWS endpoint, real sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import hvac.exceptions
import pytest

from .conftest import CliRun, line_of, run_process
from .silent_server import misbehaving_server
from .vault_server import DevVault

STAGING = "profiles/staging.yaml"
AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "eu-west-3",
}
COMMANDS = {
    "render": ("render", "staging"),
    "exec": ("exec", "staging", "--", "true"),
    "doctor": ("doctor", "staging"),
    "secrets init": ("secrets", "init", "staging"),
    "secrets audit": ("secrets", "audit", "staging"),
}


def edit(project: Path, old: str, new: str, path: str = STAGING) -> str:
    text = (project / path).read_text()
    assert old in text
    text = text.replace(old, new)
    (project / path).write_text(text)
    return text


def use_aws(project: Path, *secrets: str) -> None:
    """Staging reads these secrets (like postgres) from AWS instead of Vault."""
    for secret in secrets:
        text = (project / STAGING).read_text()
        start = text.index(f"{{vault: mantis/staging/{secret}, ")
        end = text.index("}", start) + 1
        key = text[start:end].rpartition("key: ")[2].rstrip("}")
        edit(project, text[start:end], f"{{aws: mantis/staging/{secret}, key: {key}}}")


def invoke(project: Path, cli: CliRun, command: str, env: dict[str, str]) -> tuple[int, str, str]:
    """One of COMMANDS: exec as its own process (it would replace the test run itself)."""
    if command == "exec":
        return run_process(project, *COMMANDS[command], env=env)
    result = cli(*COMMANDS[command], env=env)
    return result.exit_code, result.stdout, result.stderr


def store_line(result_text: str, line: str) -> None:
    """``line`` is printed exactly once, and nothing is a traceback."""
    assert "Traceback" not in result_text
    assert result_text.splitlines().count(line) == 1, result_text


# -- 1. a setting the client cannot use: one line naming the store and the setting -----------

MISCONFIGURED = {
    "AWS_ENDPOINT_URL": (
        "aws",
        {**AWS_CREDENTIALS, "AWS_ENDPOINT_URL": "localhost:4566"},
        "AWS Secrets Manager: AWS_ENDPOINT_URL='localhost:4566' is not a URL (like "
        "https://secretsmanager.eu-west-3.amazonaws.com); fix it, or unset it",
    ),
    "AWS_REGION": (
        "aws",
        {**AWS_CREDENTIALS, "AWS_REGION": "eu west 3"},
        "AWS Secrets Manager: AWS_REGION='eu west 3' is not an AWS region name (like eu-west-3)",
    ),
    "AWS_PROFILE": (
        "aws",
        {"AWS_PROFILE": "mantis-typo", "AWS_REGION": "eu-west-3"},
        "AWS Secrets Manager: AWS_PROFILE='mantis-typo' names no profile of the AWS config files "
        "(~/.aws/config and ~/.aws/credentials, or AWS_CONFIG_FILE and "
        "AWS_SHARED_CREDENTIALS_FILE): name one of them, or unset it",
    ),
    "VAULT_CACERT": (
        "vault",
        {"VAULT_ADDR": "https://127.0.0.1:8200", "VAULT_TOKEN": "t", "VAULT_CACERT": "/no/ca.pem"},
        "HashiCorp Vault: VAULT_CACERT names /no/ca.pem, which does not exist: point it at the "
        "CA certificate (PEM) that signed Vault's, or unset it",
    ),
    "VAULT_TOKEN": (
        "vault",
        {"VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_TOKEN": "\u201chvs.S3CRETtoken\u201d"},
        "HashiCorp Vault: VAULT_TOKEN holds characters no Vault token has (a space, or "
        "typographic quotes pasted from a document): set it again, as plain text",
    ),
    "VAULT_ADDR": (
        "vault",
        {"VAULT_ADDR": "vault.example.com:8200", "VAULT_TOKEN": "t"},
        "HashiCorp Vault: VAULT_ADDR='vault.example.com:8200' is not a Vault address (it is not "
        "an http:// or https:// address); set it like https://vault.example.com:8200",
    ),
    "MANTIS_STORE_TIMEOUT": (
        "vault",
        {"VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_TOKEN": "t", "MANTIS_STORE_TIMEOUT": "5s"},
        "HashiCorp Vault: MANTIS_STORE_TIMEOUT='5s' is not a number of seconds from 0 to 3600 "
        "(like 5); unset it for the default 3",
    ),
}


@pytest.mark.parametrize("setting", MISCONFIGURED)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_store_setting_the_client_cannot_use_is_one_line_naming_it(
    project: Path, cli: CliRun, setting: str, command: str
) -> None:
    store, env, message = MISCONFIGURED[setting]
    if store == "aws":
        use_aws(project, "postgres")

    status, stdout, stderr = invoke(project, cli, command, {"HOME": "/nonexistent", **env})

    assert status == 1
    if command == "doctor":
        store_line(stdout, f"✗ {message}; fix: fix that setting")
    else:
        store_line(stderr, f"{STAGING}: {message}")
    if command == "render":
        assert stderr == f"{STAGING}: {message}\n"
        assert not (project / "rendered").exists()
    assert "S3CRETtoken" not in stdout + stderr  # the token is never shown


# -- 3. a store that accepts and never answers: waited on once a run --------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_a_vault_that_never_answers_is_waited_on_once_a_run(
    project: Path, cli: CliRun, command: str
) -> None:
    with misbehaving_server() as vault:
        started = time.monotonic()
        env = {"VAULT_ADDR": vault.address, "VAULT_TOKEN": "t", "MANTIS_STORE_TIMEOUT": "1"}
        status, stdout, stderr = invoke(project, cli, command, env)
        elapsed = time.monotonic() - started
        connections = vault.connections

    said = (
        f"HashiCorp Vault at {vault.address} did not answer within 1 s (timed out); check the "
        "address, or wait longer with MANTIS_STORE_TIMEOUT=SECONDS"
    )
    assert status == 1
    assert "Traceback" not in stderr
    assert said in stdout + stderr
    # One request was waited on (the first; the others were not sent): staging reads 7 paths,
    # which took 5 s each before.
    assert connections == 1
    assert elapsed < 3, f"{elapsed:.1f} s"


@pytest.mark.parametrize("command", COMMANDS)
def test_an_aws_endpoint_that_never_answers_is_waited_on_once_a_run(
    project: Path, cli: CliRun, command: str
) -> None:
    use_aws(project, "postgres", "redis", "jwt")
    with misbehaving_server() as aws:
        started = time.monotonic()
        env = {**AWS_CREDENTIALS, "AWS_ENDPOINT_URL": aws.address, "MANTIS_STORE_TIMEOUT": "1"}
        status, stdout, stderr = invoke(project, cli, command, env)
        elapsed = time.monotonic() - started
        connections = aws.connections

    said = (
        f"AWS Secrets Manager at {aws.address} did not answer within 1 s (timed out); check the "
        "address, or wait longer with MANTIS_STORE_TIMEOUT=SECONDS"
    )
    assert status == 1
    assert "Traceback" not in stderr
    assert said in stdout + stderr
    # render and exec fetch the three secrets at once, the others stop at the first; no retry.
    assert connections == (3 if command in ("render", "exec", "doctor") else 1)
    assert elapsed < 3, f"{elapsed:.1f} s"


@pytest.mark.parametrize("store", ["vault", "aws"])
def test_a_store_that_closes_the_connection_says_so(project: Path, cli: CliRun, store: str) -> None:
    with misbehaving_server(close_at_once=True) as server:
        if store == "aws":
            use_aws(project, "postgres")
            text = (project / STAGING).read_text()
            env = {**AWS_CREDENTIALS, "AWS_ENDPOINT_URL": server.address}
            product = "AWS Secrets Manager"
        else:
            text = (project / STAGING).read_text()
            env = {"VAULT_ADDR": server.address, "VAULT_TOKEN": "t"}
            product = "Vault"
        result = cli("render", "staging", env=env)

    line = line_of(text, "mantis/staging/postgres")
    reference = f"{store}:mantis/staging/postgres#password"
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert (
        f"{STAGING}:{line}: postgres.password: POSTGRES_PASSWORD ({reference}): {product} at "
        f"{server.address} is unreachable (it closed the connection without an answer)"
    ) in result.stderr.splitlines()


# -- 6. secrets init and Vault secrets in odd states --------------------------------------------


@pytest.fixture
def qa_vault(project: Path, cli: CliRun, dev_vault: DevVault) -> Iterator[DevVault]:
    """A qa environment of its own (new from staging), its Vault paths cleaned up after."""
    assert cli("new", "qa", "--from", "staging").exit_code == 0
    yield dev_vault
    for path in ("postgres", "timescaledb", "redis", "minio", "grafana", "jwt"):
        dev_vault.client.secrets.kv.v2.delete_metadata_and_all_versions(f"mantis/qa/{path}")


def test_a_deleted_latest_version_is_said_with_what_to_do_and_never_loops(
    project: Path, cli: CliRun, qa_vault: DevVault
) -> None:
    qa_vault.put("mantis/qa/redis", password="Redis-qa-0123456789-secret")
    qa_vault.client.secrets.kv.v2.delete_latest_version_of_secret("mantis/qa/redis")
    line = line_of((project / "profiles/qa.yaml").read_text(), "mantis/qa/redis")
    said = (
        f"profiles/qa.yaml:{line}: redis.password: REDIS_PASSWORD "
        "(vault:mantis/qa/redis#password): the latest version (1) of secret/mantis/qa/redis is "
        "deleted: undelete it (vault kv undelete -mount=secret -versions=1 mantis/qa/redis), or "
        "destroy it (vault kv destroy -mount=secret -versions=1 mantis/qa/redis) for secrets "
        "init to write a new one"
    )

    init = cli("secrets", "init", "qa", env=qa_vault.env())
    render = cli("render", "qa", env=qa_vault.env())

    assert init.exit_code == 1
    assert said in init.stderr.splitlines()
    assert "kept changing" not in init.stderr
    assert "created  POSTGRES_PASSWORD" in init.stdout  # the others are provisioned
    assert said in render.stderr.splitlines()

    qa_vault.client.secrets.kv.v2.destroy_secret_versions("mantis/qa/redis", versions=[1])
    again = cli("secrets", "init", "qa", env=qa_vault.env())

    assert "created  REDIS_PASSWORD" in again.stdout, again.stderr
    written = qa_vault.client.secrets.kv.v2.read_secret_version(
        "mantis/qa/redis", raise_on_deleted_version=True
    )["data"]
    assert written["metadata"]["version"] == 2
    assert list(written["data"]) == ["password"]


def test_a_kv_version_1_mount_is_refused_before_anything_is_written_or_read(
    project: Path, cli: CliRun, qa_vault: DevVault
) -> None:
    client = qa_vault.client
    if "kv1/" not in client.sys.list_mounted_secrets_engines()["data"]:
        client.sys.enable_secrets_engine("kv", path="kv1", options={"version": "1"})
    edit(project, "      mount: secret\n", "      mount: kv1\n", "profiles/_base.yaml")
    said = (
        "profiles/qa.yaml: HashiCorp Vault: the Vault mount kv1/ is a KV version 1 engine; "
        "mantis-render and its External Secrets store read KV version 2: upgrade it (vault kv "
        "enable-versioning kv1/), or name a KV v2 mount in secrets.stores.vault.mount"
    )

    for command in (("secrets", "init", "qa"), ("render", "qa"), ("secrets", "audit", "qa")):
        result = cli(*command, env=qa_vault.env())
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [said], command
        assert "created" not in result.stdout
    # Nothing landed where a v2 request would have put it (kv1/data/...): the mount is empty.
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.kv.v1.list_secrets(path="", mount_point="kv1")
