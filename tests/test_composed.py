"""Composed variables (connection URLs): declared in the profile, checked, and exact in every
output: the .env, the ConfigMap, the ExternalSecret's template evaluated by Go's text/template
with sprig as External Secrets does, the development Secret, and the compose stack."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mantis_render.profiles.composed import go_template, parse

from .conftest import REPO, CliRun, line_of, vault_secret_values
from .go_template import build, evaluate
from .readers import compose_config, kustomize, read_with_python_dotenv
from .vault_server import DevVault

BASE = "profiles/_base.yaml"
STAGING = "profiles/staging.yaml"
SHIPPED_URL = (
    "postgresql://{postgres.user|urlencode}:{postgres.password|urlencode}@"
    "{postgres.host}:{postgres.port}/{postgres.database}"
)


@pytest.fixture(scope="session")
def go_evaluate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("go"))


def add_composed(project: Path, text: str, path: str = BASE) -> str:
    profile = project / path
    profile.write_text(profile.read_text() + text)
    return profile.read_text()


# --- the section is checked: each mistake one line, with its file, line and key -------------


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "redis://{redis.hots}:{redis.port}",
            "{redis.hots} names no setting; did you mean {redis.host}?",
        ),
        ("{redis.host|urlencoded}", "no filter 'urlencoded'; did you mean 'urlencode'?"),
        ("{redis.host|upper}", "no filter 'upper' (filters: urlencode, join)"),
        ("http://{redis.host:1", "a lone '{' at character 8 (write {{ for a brace)"),
        ("{redis.password|join(,)}", "{redis.password} is a secret, a text: join does not apply"),
        ("{redis.host|join}", "join takes its separator, like join(,)"),
        ("{ redis }", "'{ redis }' at character 1 does not name a setting, like {postgres.host}"),
    ],
)
def test_a_mistake_in_a_template_is_one_line_at_its_line(
    project: Path, cli: CliRun, template: str, message: str
) -> None:
    text = add_composed(project, f"  BROKEN_URL:\n    template: {json.dumps(template)}\n")
    result = cli("validate", "staging")
    assert result.exit_code == 1
    line = line_of(text, json.dumps(template))
    assert result.stderr == f"{BASE}:{line}: composed.BROKEN_URL.template: {message}\n"


def test_a_cycle_is_named_with_its_route(project: Path, cli: CliRun) -> None:
    text = add_composed(
        project,
        '  A_URL:\n    template: "{composed.B_URL}"\n  B_URL:\n    template: "x{composed.A_URL}"\n',
    )
    result = cli("validate", "development")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{BASE}:{line_of(text, 'composed.B_URL}')}: composed.A_URL.template: reads itself: "
        "composed.A_URL -> composed.B_URL -> composed.A_URL",
        f"{BASE}:{line_of(text, 'x{composed.A_URL}')}: composed.B_URL.template: reads itself: "
        "composed.B_URL -> composed.A_URL -> composed.B_URL",
    ]


def test_a_chain_of_a_thousand_values_each_reading_the_next_renders_exactly(
    project: Path, cli: CliRun
) -> None:
    # One character a link: the thousand values hold half a megabyte, under the Secret's 1 MiB.
    chain = "".join(
        f'  C{i}:\n    template: "{i % 10}{{composed.C{i + 1}}}"\n' for i in range(1000)
    )
    add_composed(project, chain + '  C1000:\n    template: "{redis.password|urlencode}"\n')

    result = cli("render", "development")

    assert (result.exit_code, result.stderr) == (0, "")
    env = read_with_python_dotenv(project / "rendered/development/.env")
    assert env["C0"] == "".join(str(i % 10) for i in range(1000)) + "redis_dev_password"
    assert env["C999"] == "9redis_dev_password"


def test_values_that_multiply_when_expanded_are_refused_at_the_first_past_the_bound(
    project: Path, cli: CliRun
) -> None:
    # Each value reads the next twice: D0 would be 2^40 parts.
    doubling = "".join(
        f'  D{i}:\n    template: "{{composed.D{i + 1}}}{{composed.D{i + 1}}}"\n' for i in range(40)
    )
    text = add_composed(project, doubling + '  D40:\n    template: "{redis.host}"\n')

    result = cli("validate", "development")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{BASE}:{line_of(text, '{composed.D27}{composed.D27}')}: composed.D26.template: expands "
        "to 16,384 parts (at most 10,000): composed values that read others several times multiply"
    )


def test_a_composed_name_that_another_variable_has_is_refused(project: Path, cli: CliRun) -> None:
    text = add_composed(project, '  REDIS_HOST:\n    template: "{redis.host}"\n')
    result = cli("validate", "development")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{BASE}:{line_of(text, '  REDIS_HOST:')}: composed.REDIS_HOST: gives the variable "
        "REDIS_HOST, which redis.host gives already\n"
    )


# --- outputs -------------------------------------------------------------------------------

URLS = ("DATABASE_URL", "TIMESCALEDB_URL", "REDIS_URL", "MLFLOW_BACKEND_STORE_URI")


def reads_every_url(root: Path, urls: tuple[str, ...] = URLS) -> None:
    """No MANTIS service reads the composed secret URLs as built: give them to rul_prediction."""
    catalogue = root / "profiles/_catalogue.yaml"
    text = catalogue.read_text()
    old = "(Python)\n        uses: [kafka.bootstrap_servers]\n        variables:\n          INPUT_TOPIC: {from: kafka.topics.features_computed}\n          OUTPUT_TOPIC: {from: kafka.topics.rul_predictions}"
    assert text.count(old) == 1
    catalogue.write_text(
        text.replace(
            old, old.replace("bootstrap_servers]", f"bootstrap_servers, {', '.join(urls)}]")
        )
    )


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory, dev_vault: DevVault) -> Iterator[Path]:
    """The shipped staging profile rendered with the dev Vault's secrets, a service reading
    every composed URL."""
    from click.testing import CliRunner

    from mantis_render.cli import main

    from .conftest import AWS_VARIABLES, VAULT_VARIABLES

    out = tmp_path_factory.mktemp("composed")
    root = out / "project"
    for folder in ("profiles", "templates", "compose"):
        shutil.copytree(REPO / folder, root / folder)
    reads_every_url(root)
    env = {**dict.fromkeys(VAULT_VARIABLES + AWS_VARIABLES), **dev_vault.env()}
    result = CliRunner().invoke(
        main, ["--root", str(root), "render", "staging", "--out", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    yield out / "staging"


def test_the_env_carries_each_url_with_its_password_encoded(staging: Path) -> None:
    values = read_with_python_dotenv(staging / ".env")
    password = vault_secret_values("staging")["POSTGRES_PASSWORD"]  # "Pg-staging-p@ss w0rd#1"
    assert values["DATABASE_URL"] == (
        f"postgresql://mantis:{quote(password, safe='')}@postgres.staging.mantis.internal:5432/"
        "mantis_staging"
    )
    assert urlsplit(values["DATABASE_URL"]).password is not None
    assert values["MLFLOW_BACKEND_STORE_URI"] == values["DATABASE_URL"]
    assert values["MLFLOW_TRACKING_URI"] == "http://mlflow.staging.mantis.internal:5000"


def test_plain_composed_values_go_to_the_configmap_and_secret_ones_do_not(staging: Path) -> None:
    objects = {item["metadata"]["name"]: item for item in kustomize(staging / "k8s")}
    configmap = next(v for k, v in objects.items() if k.startswith("mantis-config-"))
    assert (
        configmap["data"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio.staging.mantis.internal:9000"
    )
    assert configmap["data"]["MLFLOW_ARTIFACT_ROOT"] == "s3://mantis-staging/mlflow"
    for name, item in objects.items():
        if item["kind"] == "ConfigMap":
            assert not set(URLS) & set(item.get("data") or {}), name
    template = objects["mantis-rul-prediction-secrets"]["spec"]["target"]["template"]
    assert template["data"]["REDIS_URL"] == (
        'redis://:{{ .REDIS_PASSWORD | urlquery | replace "+" "%20" }}@'
        "redis.staging.mantis.internal:6379/0"
    )


def test_each_external_secret_template_evaluated_by_go_equals_the_env(
    staging: Path, go_evaluate: Path
) -> None:
    """What External Secrets will write into the Secret is what the .env holds."""
    values = read_with_python_dotenv(staging / ".env")
    document = next(
        d
        for d in yaml.safe_load_all((staging / "k8s/externalsecret.yaml").read_text())
        if d["metadata"]["name"] == "mantis-rul-prediction-secrets"
    )
    fetched = {entry["secretKey"]: values[entry["secretKey"]] for entry in document["spec"]["data"]}
    templates = document["spec"]["target"]["template"]["data"]
    assert sorted(templates) == [
        "DATABASE_URL",
        "MLFLOW_BACKEND_STORE_URI",
        "REDIS_URL",
        "TIMESCALEDB_URL",
    ]
    for name, template in templates.items():
        assert evaluate(go_evaluate, template, fetched) == values[name], name


# Passwords with every character a URL gives a meaning to, spaces, quotes, braces, non-ASCII.
PASSWORDS = st.text(
    st.one_of(
        st.sampled_from(list("@:/%#?&=+ !$'\"{}[]\\`~-._")),
        st.characters(exclude_categories=("Cs", "Cc")),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(password=PASSWORDS, host=st.sampled_from(["db.example.com", "db{{x}}.example.com"]))
def test_go_and_python_agree_on_every_password(go_evaluate: Path, password: str, host: str) -> None:
    from mantis_render.profiles.composed import compose

    parts = parse(SHIPPED_URL)
    plain = {
        ("postgres", "user"): "mantis user",
        ("postgres", "host"): host,
        ("postgres", "port"): 5432,
        ("postgres", "database"): "mantis",
        ("postgres", "password"): password,
    }
    expected = compose(parts, lambda part: plain[part.path])
    assert urlsplit(expected).password is not None
    template = go_template(
        parts, lambda part: plain[part.path], {("postgres", "password"): "POSTGRES_PASSWORD"}
    )
    assert evaluate(go_evaluate, template, {"POSTGRES_PASSWORD": password}) == expected


def test_development_gets_composed_literals_in_its_plain_secret(project: Path, cli: CliRun) -> None:
    reads_every_url(project, ("REDIS_URL",))
    # a store the containers reach as the host does: the compose override may give its URL
    profile = project / "profiles/development.yaml"
    text = profile.read_text()
    assert "redis:\n  host: localhost\n" in text
    profile.write_text(text.replace("redis:\n  host: localhost\n", "redis:\n  host: cache.lan\n"))
    assert cli("render", "development").exit_code == 0
    objects = {
        item["metadata"]["name"]: item for item in kustomize(project / "rendered/development/k8s")
    }
    assert objects["mantis-rul-prediction-secrets"]["stringData"] == {
        "REDIS_URL": "redis://:redis_dev_password@cache.lan:6379/0"
    }


def test_the_compose_stack_gets_urls_for_the_compose_network(project: Path, cli: CliRun) -> None:
    """Development's stores are on localhost for a shell, and services on the compose network
    for containers: each secret URL is made twice in .env (0600), and MLflow is given its two
    stores' and nothing more."""
    assert cli("render", "development").exit_code == 0
    folder = project / "rendered/development"
    host_side = read_with_python_dotenv(folder / ".env")
    assert host_side["DATABASE_URL"] == (
        "postgresql://mantis:mantis_dev_password@localhost:5432/mantis_dev"
    )
    assert host_side["MANTIS_IN_CONTAINERS_TIMESCALEDB_URL"] == (
        "postgresql://mantis:timescale_dev_password@timescaledb:5432/mantis_timeseries_dev"
    )
    assert (folder / ".env").stat().st_mode & 0o777 == 0o600
    model = compose_config(
        folder, [project / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    )
    assert not set(URLS) & set(model["services"]["ingestion-iiot"]["environment"])
    mlflow = model["services"]["mlflow"]
    assert mlflow["environment"] == {
        "MLFLOW_BACKEND_STORE_URI": "postgresql://mantis:mantis_dev_password@postgres:5432/mantis_dev",
        "MLFLOW_ARTIFACT_ROOT": "s3://mantis-dev/mlflow",
        "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": "mantis",
        "AWS_SECRET_ACCESS_KEY": "minio_dev_password",
    }
    assert mlflow["command"] == [
        'exec mlflow server --host 0.0.0.0 --port 5000 --backend-store-uri "$$MLFLOW_BACKEND_STORE_URI" '
        '--artifacts-destination "$$MLFLOW_ARTIFACT_ROOT"'
    ]
    assert mlflow["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert mlflow["depends_on"]["minio"]["condition"] == "service_healthy"
    override = (folder / "docker-compose.override.yml").read_text()
    assert "mantis_dev_password" not in override  # the committed file holds no secret


def test_explain_shows_each_part_with_its_line(project: Path, cli: CliRun) -> None:
    result = cli("explain", "staging", "REDIS_URL")
    base = (project / BASE).read_text()
    staging = (project / STAGING).read_text()
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "REDIS_URL = redis://:{redis.password|urlencode}@{redis.host}:{redis.port}/{redis.db}",
        f"  set by        {BASE}:{line_of(base, '  REDIS_URL:')}  composed.REDIS_URL",
        f"  part          {STAGING}:{line_of(staging, 'staging/redis')}  redis.password = "
        "vault:mantis/staging/redis#password",
        f"  part          {STAGING}:{line_of(staging, 'redis.staging')}  redis.host = "
        "redis.staging.mantis.internal",
        f"  part          {BASE}:{line_of(base, 'port: 6379')}  redis.port = 6379",
        f"  part          {BASE}:{line_of(base, 'db: 0')}  redis.db = 0",
        "  lands in      .env",  # no service reads it
        "  named in      .env, .env.example, k8s/kustomization.yaml",  # as given to none
    ]


def test_a_weak_part_is_judged_and_the_url_sharing_it_is_not(
    project: Path, cli: CliRun, dev_vault: DevVault
) -> None:
    """strong-secrets judges the password, not the URL; no-shared-secrets does not flag
    DATABASE_URL and MLFLOW_BACKEND_STORE_URI for holding the same password."""
    dev_vault.put("mantis/staging/weak-redis", password="weak")
    text = (project / STAGING).read_text().replace("staging/redis,", "staging/weak-redis,")
    (project / STAGING).write_text(text)
    result = cli("render", "staging", env=dev_vault.env())
    assert result.exit_code == 1
    assert result.stderr == (
        f"{STAGING}:{line_of(text, 'weak-redis')}: redis.password: REDIS_PASSWORD is weak: 4 "
        "characters of 1 kinds (needs 16 of 3: lowercase, uppercase, digits, symbols) "
        "[strong-secrets]\n"
    )
