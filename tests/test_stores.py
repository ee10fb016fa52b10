"""Several secret stores: AWS Secrets Manager against a real local endpoint (moto_server), Azure
Key Vault and Kubernetes Secrets through External Secrets, mixed with Vault in one environment."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .aws_server import LocalAws, start_local_aws
from .conftest import REPO, CliRun, line_of, vault_secret_values
from .readers import kustomize, read_with_bash, read_with_python_dotenv
from .vault_server import DevVault, free_loopback_port

STAGING = "profiles/staging.yaml"
AWS_POSTGRES = "{aws: mantis/staging/postgres, key: password}"
AZURE_MQTT = "{azure: mantis-staging-mqtt}"
KUBERNETES_INFLUXDB = "{kubernetes: mantis-influxdb, key: token}"


def edit(project: Path, old: str, new: str, path: str = STAGING) -> str:
    text = (project / path).read_text()
    assert old in text
    text = text.replace(old, new)
    (project / path).write_text(text)
    return text


def use_aws_for_postgres(project: Path) -> str:
    return edit(project, "{vault: mantis/staging/postgres, key: password}", AWS_POSTGRES)


# --- references: forms and stores ---------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "{aws: mantis/staging/postgres, key: a.b}",
            "'key' must be a JSON field name of letters, digits, _ and -, like password",
        ),
        (
            "{aws: 'mantis staging'}",
            "'aws' must be a secret name, like mantis/staging/postgres",
        ),
        (
            "{azure: mantis-staging-redis, key: password}",
            "a azure reference has no 'key': it names the secret, like "
            "{azure: mantis-staging-postgres-password}",
        ),
        (
            "{azure: mantis_staging}",
            "'azure' must be a Key Vault secret name of letters, digits and dashes",
        ),
        (
            "{kubernetes: mantis-redis}",
            "a kubernetes reference needs 'key': the field of the secret to read",
        ),
        (
            "{kubernetes: Mantis, key: password}",
            "'kubernetes' must be a Secret name, like mantis-postgres",
        ),
        (
            "{aws: x, azure: y}",
            "a secret reference is exactly one of {vault: PATH, key: KEY}, "
            "{aws: NAME[, key: FIELD]}, {azure: NAME}, {kubernetes: NAME, key: KEY}, {env: NAME} or {file: PATH}",
        ),
        (
            "{awz: mantis/staging/redis}",
            "unknown key 'awz' in a secret reference; did you mean 'aws'?",
        ),
    ],
)
def test_malformed_store_reference_names_file_line_and_key(
    project: Path, cli: CliRun, reference: str, message: str
) -> None:
    text = edit(project, "{vault: mantis/staging/redis, key: password}", reference)
    result = cli("validate", "staging")
    assert result.exit_code == 1
    line = line_of(text, reference)
    assert result.stderr == f"{STAGING}:{line}: redis.password: {message}\n"


def test_reference_to_a_store_not_configured_is_an_error_at_the_reference(
    project: Path, cli: CliRun
) -> None:
    base = edit(
        project,
        "    aws:\n      external_secrets: {kind: ClusterSecretStore, name: aws-secrets-manager}\n",
        "",
        "profiles/_base.yaml",
    )
    assert "    aws:\n" not in base
    text = use_aws_for_postgres(project)
    result = cli("validate", "staging")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{STAGING}:{line_of(text, AWS_POSTGRES)}: postgres.password: reads from AWS Secrets "
        "Manager, but secrets.stores has no 'aws' store (configure it once in _base.yaml: its "
        "External Secrets store)\n"
    )


def test_settings_of_the_single_store_era_say_where_they_moved(project: Path, cli: CliRun) -> None:
    text = edit(
        project,
        "  refresh_interval: 1h\n",
        "  refresh_interval: 1h\n  vault_mount: kv\n",
        "profiles/_base.yaml",
    )
    result = cli("validate", "staging")
    assert result.exit_code == 1
    assert result.stderr == (
        f"profiles/_base.yaml:{line_of(text, 'vault_mount')}: secrets.vault_mount: unknown key; "
        "it moved to secrets.stores.vault.mount\n"
    )


# --- Kubernetes: one ExternalSecret, an entry per secret, each read through its store -------


def mix_stores(project: Path) -> None:
    use_aws_for_postgres(project)
    edit(project, "{vault: mantis/staging/mqtt, key: password}", AZURE_MQTT)
    edit(project, "{vault: mantis/staging/influxdb, key: token}", KUBERNETES_INFLUXDB)


def test_mixed_stores_render_one_external_secret_valid_for_the_crd_and_kustomize(
    project: Path, cli: CliRun
) -> None:
    mix_stores(project)
    result = cli("render", "staging", "--no-resolve")
    assert result.exit_code == 0, result.stderr
    folder = project / "rendered" / "staging" / "k8s"
    documents = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all((folder / "externalsecret.yaml").read_text())
    }
    for document in documents.values():
        assert document["spec"]["secretStoreRef"] == {
            "kind": "ClusterSecretStore",
            "name": "vault-backend",
        }
    entries = {
        entry["secretKey"]: entry
        for document in documents.values()
        for entry in document["spec"]["data"]
    }
    assert entries["SPRING_DATASOURCE_PASSWORD"] == {
        "secretKey": "SPRING_DATASOURCE_PASSWORD",
        "sourceRef": {"storeRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}},
        "remoteRef": {"key": "mantis/staging/postgres", "property": "password"},
    }
    assert entries["MQTT_PASSWORD"] == {
        "secretKey": "MQTT_PASSWORD",
        "sourceRef": {"storeRef": {"kind": "ClusterSecretStore", "name": "azure-key-vault"}},
        "remoteRef": {"key": "mantis-staging-mqtt"},
    }
    assert entries["INFLUXDB_TOKEN"] == {
        "secretKey": "INFLUXDB_TOKEN",
        "sourceRef": {"storeRef": {"kind": "ClusterSecretStore", "name": "kubernetes-secrets"}},
        "remoteRef": {"key": "mantis-influxdb", "property": "token"},
    }
    assert entries["JWT_SECRET"] == {
        "secretKey": "JWT_SECRET",
        "remoteRef": {"key": "mantis/staging/jwt", "property": "secret"},
    }
    built = {item["metadata"]["name"]: item for item in kustomize(folder)}
    for name, document in documents.items():
        assert built[name]["spec"] == document["spec"]
    assert cli("verify", "staging").exit_code == 0


def test_an_environment_without_vault_reads_from_its_first_store_by_default(
    project: Path, cli: CliRun
) -> None:
    text = (project / STAGING).read_text()
    (project / STAGING).write_text(text.replace("{vault: ", "{aws: "))
    assert cli("render", "staging", "--no-resolve").exit_code == 0
    documents = list(
        yaml.safe_load_all(
            (project / "rendered" / "staging" / "k8s" / "externalsecret.yaml").read_text()
        )
    )
    assert len(documents) == 4  # one for each service that reads a secret
    for document in documents:
        assert document["spec"]["secretStoreRef"]["name"] == "aws-secrets-manager"
        assert all("sourceRef" not in entry for entry in document["spec"]["data"])


def test_the_external_secret_schema_refuses_an_entry_with_an_empty_source(project: Path) -> None:
    from mantis_render.outputs.verify import verify_rendered

    document = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "mantis-secrets"},
        "spec": {
            "secretStoreRef": {"name": "vault-backend"},
            "target": {"name": "mantis-secrets"},
            "data": [
                {"secretKey": "A", "sourceRef": {}, "remoteRef": {"key": "k"}},
            ],
        },
    }
    problems = verify_rendered({"k8s/externalsecret.yaml": yaml.safe_dump(document)}, "out/")
    assert [(problem.key, problem.message) for problem in problems] == [
        ("spec.data[0].sourceRef", "ExternalSecret v1 CRD: {} has less than 1 property")
    ]


# --- AWS Secrets Manager, resolved for the .env and audited ---------------------------------


def test_aws_references_resolve_into_the_env_beside_vault(
    project: Path, cli: CliRun, dev_vault: DevVault, local_aws: LocalAws
) -> None:
    use_aws_for_postgres(project)
    edit(project, "{vault: mantis/staging/jwt, key: secret}", "{aws: mantis/staging/jwt-plain}")
    password = 'Aws-p@ss "w0rd" $HOME #1'
    local_aws.client.create_secret(
        Name="mantis/staging/postgres", SecretString=json.dumps({"password": password})
    )
    local_aws.client.create_secret(
        Name="mantis/staging/jwt-plain", SecretString="Jwt-Plain-9-signing-key-x"
    )
    result = cli("render", "staging", env={**dev_vault.env(), **local_aws.env()})
    assert result.exit_code == 0, result.stderr
    values = read_with_python_dotenv(project / "rendered" / "staging" / ".env")
    expected = vault_secret_values("staging")
    assert values["POSTGRES_PASSWORD"] == password
    assert values["JWT_SECRET"] == "Jwt-Plain-9-signing-key-x"
    assert values["REDIS_PASSWORD"] == expected["REDIS_PASSWORD"]
    assert password not in result.output and password not in result.stderr


def aws_failure(project: Path, cli: CliRun, env: dict[str, str]) -> tuple[int, str, str]:
    text = use_aws_for_postgres(project)
    result = cli("render", "staging", env=env)
    prefix = f"{STAGING}:{line_of(text, AWS_POSTGRES)}: postgres.password: POSTGRES_PASSWORD (aws:mantis/staging/postgres#password): "
    lines = [line for line in result.stderr.splitlines() if "postgres.password" in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), lines[0]
    return result.exit_code, lines[0].removeprefix(prefix), result.stderr


def test_aws_secret_that_does_not_exist(
    project: Path, cli: CliRun, dev_vault: DevVault, local_aws: LocalAws
) -> None:
    status, message, _ = aws_failure(project, cli, {**dev_vault.env(), **local_aws.env()})
    assert (status, message) == (
        1,
        f"no secret named mantis/staging/postgres in AWS Secrets Manager ({local_aws.endpoint})",
    )
    assert not (project / "rendered" / "staging").exists()


def test_aws_secret_without_the_key(
    project: Path, cli: CliRun, dev_vault: DevVault, local_aws: LocalAws
) -> None:
    local_aws.client.create_secret(
        Name="mantis/staging/postgres", SecretString=json.dumps({"pass": "Sup3r-Secret-Value"})
    )
    status, message, stderr = aws_failure(project, cli, {**dev_vault.env(), **local_aws.env()})
    assert (status, message) == (1, "the secret has no key 'password' (its keys: pass)")
    assert "Sup3r" not in stderr


def test_aws_secret_that_is_not_json_has_no_key(
    project: Path, cli: CliRun, dev_vault: DevVault, local_aws: LocalAws
) -> None:
    local_aws.client.create_secret(Name="mantis/staging/postgres", SecretString="{not json Sup3r")
    status, message, stderr = aws_failure(project, cli, {**dev_vault.env(), **local_aws.env()})
    assert (status, message) == (
        1,
        "mantis/staging/postgres is not a JSON object, so it has no keys; drop 'key'",
    )
    assert "Sup3r" not in stderr


def test_aws_endpoint_unreachable(project: Path, cli: CliRun, dev_vault: DevVault) -> None:
    closed = f"http://127.0.0.1:{free_loopback_port()}"
    env = {
        **dev_vault.env(),
        "AWS_ENDPOINT_URL": closed,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-3",
    }
    status, message, _ = aws_failure(project, cli, env)
    assert (status, message) == (
        1,
        f"AWS Secrets Manager at {closed} is unreachable (connection refused)",
    )


@pytest.fixture(scope="module")
def aws_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """moto_server enforcing IAM from the first request: unknown credentials are refused."""
    before = os.environ.get("INITIAL_NO_AUTH_ACTION_COUNT")
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    try:
        aws = start_local_aws(tmp_path_factory.mktemp("aws-auth") / "moto.log")
    finally:
        if before is None:
            del os.environ["INITIAL_NO_AUTH_ACTION_COUNT"]
        else:
            os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = before
    try:
        yield aws
    finally:
        aws.stop()


def test_aws_credentials_refused(
    project: Path, cli: CliRun, dev_vault: DevVault, aws_with_auth: LocalAws
) -> None:
    status, message, _ = aws_failure(project, cli, {**dev_vault.env(), **aws_with_auth.env()})
    assert status == 1
    assert message == (
        "permission denied reading mantis/staging/postgres (HTTP 403: "
        "check the credentials and their policy)"
    )


def test_without_aws_credentials_the_env_is_not_written_and_a_note_says_why(
    project: Path, cli: CliRun, dev_vault: DevVault
) -> None:
    use_aws_for_postgres(project)
    result = cli("render", "staging", env=dev_vault.env())
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "staging: note: .env not written: its AWS references need AWS credentials (set AWS "
        "credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or any source of "
        "the standard chain) and AWS_REGION)\n"
    )
    assert not (project / "rendered" / "staging" / ".env").exists()
    assert (project / "rendered" / "staging" / "k8s" / "externalsecret.yaml").is_file()


def test_azure_and_kubernetes_references_are_never_resolved_locally_and_say_what_to_use(
    project: Path, cli: CliRun, dev_vault: DevVault, local_aws: LocalAws
) -> None:
    mix_stores(project)
    result = cli("render", "staging", "--require-env", env={**dev_vault.env(), **local_aws.env()})
    assert result.exit_code == 1
    # The AWS secret is missing too: that is a failure, and nothing is written.
    assert "no secret named mantis/staging/postgres" in result.stderr
    assert not (project / "rendered" / "staging").exists()
    local_aws.client.create_secret(
        Name="mantis/staging/postgres",
        SecretString=json.dumps({"password": "Aws-Pg-2024-long-enough-x!"}),
    )
    result = cli("render", "staging", "--require-env", env={**dev_vault.env(), **local_aws.env()})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-3:] == [  # in the profile's order of its secrets
        "staging: note: .env not written: its Kubernetes Secrets references are read by External "
        "Secrets in Kubernetes only (for a local .env, give an env or file reference)",
        "staging: note: .env not written: its Azure Key Vault references are read by External "
        "Secrets in Kubernetes only (for a local .env, give an env or file reference)",
        "staging: .env is required (--require-env) but was not written",
    ]


def test_audit_reads_the_last_change_of_aws_secrets(
    project: Path, cli: CliRun, dev_vault: DevVault, local_aws: LocalAws
) -> None:
    use_aws_for_postgres(project)
    local_aws.client.create_secret(
        Name="mantis/staging/postgres", SecretString=json.dumps({"password": "x"})
    )
    env = {**dev_vault.env(), **local_aws.env()}
    result = cli("secrets", "audit", "staging", "--format", "json", env=env)
    assert result.exit_code == 0, result.stderr
    rows = {row["variable"]: row for row in json.loads(result.stdout)["secrets"]}
    assert rows["POSTGRES_PASSWORD"]["reference"] == "aws:mantis/staging/postgres#password"
    assert (rows["POSTGRES_PASSWORD"]["age_days"], rows["POSTGRES_PASSWORD"]["status"]) == (0, "ok")
    later = datetime.now(UTC).date().replace(year=datetime.now(UTC).year + 1).isoformat()
    result = cli("secrets", "audit", "staging", "--format", "json", "--as-of", later, env=env)
    assert result.exit_code == 1
    rows = {row["variable"]: row for row in json.loads(result.stdout)["secrets"]}
    assert rows["POSTGRES_PASSWORD"]["status"] == "overdue"


# Any text a person or a generator may store: quotes, $, backslashes, #, spaces, line feeds,
# non-ASCII; not control characters other than tab and line feed, nor lone surrogates.
STORED_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), include_characters="\t\n"),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=STORED_TEXT)
def test_any_aws_value_reads_back_exactly_and_is_never_printed_or_committed(
    tmp_path_factory: pytest.TempPathFactory,
    dev_vault: DevVault,
    local_aws_server: LocalAws,
    value: str,
) -> None:
    from click.testing import CliRunner

    from mantis_render.cli import main
    from mantis_render.outputs.filters import UnrepresentableValue, quote_dotenv

    from .conftest import AWS_HERMETIC, AWS_VARIABLES, VAULT_VARIABLES

    password = f"Aa1-{value}-strong-enough"  # the staging rules want 16 characters of 3 kinds
    root = tmp_path_factory.mktemp("aws-value")
    for folder in ("profiles", "templates", "compose"):
        shutil.copytree(REPO / folder, root / folder)
    use_aws_for_postgres(root)
    local_aws_server.reset()
    local_aws_server.client.create_secret(
        Name="mantis/staging/postgres", SecretString=json.dumps({"password": password})
    )
    env = {**dict.fromkeys(VAULT_VARIABLES + AWS_VARIABLES), **AWS_HERMETIC}
    env |= dev_vault.env() | local_aws_server.env()
    result = CliRunner().invoke(main, ["--root", str(root), "render", "staging"], env=env)
    assert password not in result.output
    if "\n" in password or "\r" in password:  # PostgreSQL keeps a password's first line only
        assert result.exit_code == 1
        assert (
            "POSTGRES_PASSWORD (aws:mantis/staging/postgres#password): cannot be given to "
            "PostgreSQL: it holds a" in result.output
        )
        assert not (root / "rendered/staging").exists()
        return
    try:
        quote_dotenv(password)
    except UnrepresentableValue:  # a refused class (README "Exact output"): said, not written
        assert result.exit_code == 1
        assert "cannot be written to .env (POSTGRES_PASSWORD)" in result.output
        assert not (root / "rendered/staging").exists()
        return
    assert result.exit_code == 0, result.output
    env_file = root / "rendered/staging/.env"
    assert read_with_python_dotenv(env_file)["POSTGRES_PASSWORD"] == password
    assert read_with_bash(env_file, ["POSTGRES_PASSWORD"])["POSTGRES_PASSWORD"] == password
    assert password not in result.output
    for path in (root / "rendered/staging").rglob("*"):
        if path.is_file() and path.name != ".env" and path.parent.name != "tls":
            assert password not in path.read_text()


def test_explain_and_env_template_name_each_store(project: Path, cli: CliRun) -> None:
    mix_stores(project)
    text = (project / STAGING).read_text()
    explained = cli("explain", "staging", "MQTT_PASSWORD")
    assert explained.exit_code == 0
    assert explained.stdout.splitlines()[:4] == [
        "MQTT_PASSWORD = azure:mantis-staging-mqtt",
        f"  set by        {STAGING}:{line_of(text, AZURE_MQTT)}  mqtt.password",
        "  services      ingestion_iiot",
        "  lands in      k8s/externalsecret.yaml",
    ]
    explained = cli("explain", "staging", "POSTGRES_PASSWORD")
    assert explained.stdout.splitlines()[3] == "  lands in      .env, k8s/externalsecret.yaml"
    template = cli("env-template", "staging").stdout.splitlines()
    assert "POSTGRES_PASSWORD='<AWS_SECRET:aws:mantis/staging/postgres#password>'" in template
    assert "MQTT_PASSWORD='<AZURE_SECRET:azure:mantis-staging-mqtt>'" in template
    assert "INFLUXDB_TOKEN='<KUBERNETES_SECRET:kubernetes:mantis-influxdb#token>'" in template
