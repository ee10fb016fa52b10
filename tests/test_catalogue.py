"""The catalogue: variables are declared by the project (profiles/_catalogue.yaml), not coded in
the tool; a mistake in it is reported like a mistake in a profile."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mantis_render.catalogue.reader import PROTOCOLS
from mantis_render.catalogue.types import TYPES

from .conftest import REPO, CliRun, line_of
from .readers import kustomize
from .test_changes import edit, git

CATALOGUE = "profiles/_catalogue.yaml"
ENVIRONMENTS = ("development", "staging", "production")


def add_two_variables(project: Path) -> dict[str, str]:
    """One plain variable and one secret, declared in the catalogue, set in each profile."""
    edit(
        project,
        CATALOGUE,
        "      retention_days:",
        "      cache_ttl_seconds:\n"
        "        {type: count, variable: CACHE_TTL_SECONDS, description: Cache lifetime in seconds}\n"
        "      retention_days:",
    )
    edit(
        project,
        CATALOGUE,
        "      jwt_secret:",
        "      api_token:\n"
        "        {type: secret, kind: api-key, variable: PLANT_API_TOKEN, description: Plant API token}\n"
        "      jwt_secret:",
    )
    edit(  # and the service that reads them
        project,
        CATALOGUE,
        "work orders (Spring Boot)\n        uses: [ENVIRONMENT]\n",
        "work orders (Spring Boot)\n"
        "        uses: [ENVIRONMENT, performance.cache_ttl_seconds, security.api_token]\n",
    )
    texts = {}
    for name, ttl, token in (
        ("development", 60, "dev-plant-token-1"),
        ("staging", 300, "{vault: mantis/staging/plant, key: token}"),
        ("production", 900, "{vault: mantis/production/plant, key: token}"),
    ):
        path = f"profiles/{name}.yaml"
        edit(project, path, "performance:\n", f"performance:\n  cache_ttl_seconds: {ttl}\n")
        texts[name] = edit(project, path, "security:\n", f"security:\n  api_token: {token}\n")
    return texts


def test_a_variable_is_one_catalogue_entry_and_its_values_in_every_output(
    project: Path, cli: CliRun
) -> None:
    texts = add_two_variables(project)

    rendered = cli("render", "--all")
    assert rendered.exit_code == 0, rendered.output

    out = project / "rendered"
    dotenv = (out / "development/.env").read_text().splitlines()
    assert "CACHE_TTL_SECONDS='60'" in dotenv
    assert "PLANT_API_TOKEN='dev-plant-token-1'" in dotenv
    assert dotenv.index("CACHE_TTL_SECONDS='60'") == dotenv.index("RETENTION_DAYS='7'") - 1
    staging = (out / "staging/k8s/kustomization.yaml").read_text()
    assert '      - "CACHE_TTL_SECONDS=300"\n' in staging
    assert "PLANT_API_TOKEN=" not in staging  # a secret: never in a ConfigMap
    objects = kustomize(out / "production/k8s")
    [config] = [
        o["data"]
        for o in objects
        if o["kind"] == "ConfigMap"
        and o["metadata"]["name"].startswith("mantis-orchestrator-config-")
    ]
    assert config["CACHE_TTL_SECONDS"] == "900"
    [external] = [
        o["spec"]["data"] for o in objects if o["metadata"]["name"] == "mantis-orchestrator-secrets"
    ]
    assert external[0] == {  # what it uses comes first, then its variables
        "secretKey": "PLANT_API_TOKEN",
        "remoteRef": {"key": "mantis/production/plant", "property": "token"},
    }

    assert cli("docs").exit_code == 0
    reference = (project / "docs/variables.md").read_text().splitlines()
    assert (
        "| `CACHE_TTL_SECONDS` | Cache lifetime in seconds | integer 1 to 2147483647 |  "
        "| 60 | 300 | 900 |"
    ) in reference
    assert (
        "| `PLANT_API_TOKEN` | Plant API token | text or reference | yes | (literal, hidden) "
        "| `vault:mantis/staging/plant#token` | `vault:mantis/production/plant#token` |"
    ) in reference

    assert cli("schema").exit_code == 0
    schema = json.loads((project / "schemas/profile.schema.json").read_text())
    assert schema["properties"]["performance"]["properties"]["cache_ttl_seconds"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 2147483647,
        "description": "Cache lifetime in seconds (CACHE_TTL_SECONDS)",
    }
    assert "cache_ttl_seconds" in schema["properties"]["performance"]["required"]

    explained = cli("explain", "staging", "CACHE_TTL_SECONDS")
    assert explained.exit_code == 0, explained.output
    line = line_of(texts["staging"], "cache_ttl_seconds: 300")
    assert explained.output.splitlines()[:2] == [
        "CACHE_TTL_SECONDS = 300",
        f"  set by        profiles/staging.yaml:{line}  performance.cache_ttl_seconds",
    ]


def test_a_new_variable_shows_in_the_change_review(project: Path, cli: CliRun) -> None:
    for folder in ("rendered",):
        shutil.copytree(REPO / folder, project / folder)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "start")
    add_two_variables(project)
    assert cli("render", "--all", "--no-resolve").exit_code == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "a cache lifetime")

    result = cli("changes", "--base", "HEAD~1", "--head", "HEAD")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    staging = (project / "profiles/staging.yaml").read_text()
    line = line_of(staging, "cache_ttl_seconds: 300")
    assert f"  + CACHE_TTL_SECONDS = 300  (profiles/staging.yaml:{line})" in lines
    assert "dev-plant-token-1" not in result.output


# -- mistakes in the catalogue: file:line, key, a hint -----------------------------------------


def catalogue_with(project: Path, old: str, new: str) -> str:
    return edit(project, CATALOGUE, old, new)


MISTAKES = {
    "unknown type": (
        "      port: {type: port, variable: REDIS_PORT",
        "      port: {type: prot, variable: REDIS_PORT",
        "port: {type: prot",
        "redis.port.type: unknown type 'prot'; did you mean 'port'?",
    ),
    "typo in an option": (
        "      db: {type: integer, min: 0, max: 15,",
        "      db: {type: integer, min: 0, maxi: 15,",
        "db: {type: integer",
        "redis.db.maxi: unknown key; did you mean 'max'?",
    ),
    "one variable twice": (
        "      port: {type: port, variable: REDIS_PORT",
        "      port: {type: port, variable: REDIS_HOST",
        "port: {type: port, variable: REDIS_HOST",
        "redis.port.variable: gives the variable REDIS_HOST, which redis.host gives already",
    ),
    "no description": (
        "      workers: {type: count, variable: WORKERS, description: Worker processes}",
        "      workers: {type: count, variable: WORKERS}",
        "workers: {type: count",
        "performance.workers: needs a description (one line, for docs/variables.md)",
    ),
    "a secret without its kind": (
        "        type: secret\n        kind: jwt-secret\n",
        "        type: secret\n",
        "      jwt_secret:",
        "security.jwt_secret: a secret needs kind",
    ),
    "a kind that is not one": (
        "        kind: admin-password\n",
        "        kind: admin-pasword\n",
        "kind: admin-pasword",
        "influxdb.admin_password.kind: unknown kind; did you mean 'admin-password'?",
    ),
    "a pattern that is not one": (
        '        pattern: "[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"',
        '        pattern: "[a-z0-9"',
        'pattern: "[a-z0-9"',
        "minio.bucket.pattern: is not a regular expression: unterminated character set at "
        "position 0",
    ),
    "min above max": (
        "      db: {type: integer, min: 0, max: 15,",
        "      db: {type: integer, min: 16, max: 15,",
        "db: {type: integer",
        "redis.db.max: must be at least min (16)",
    ),
    "a variable on a section": (
        "    type: section\n    description: Redis\n",
        "    type: section\n    variable: REDIS_ALL\n    description: Redis\n",
        "variable: REDIS_ALL",
        "redis.variable: a section is never a variable; remove variable:",
    ),
    "the tool's own section": (
        "  log_level:\n",
        "  tier: {type: text, description: Mine}\n  log_level:\n",
        "tier: {type: text",
        "tier: tier is the tool's own section; name the setting otherwise",
    ),
    "a services section elsewhere": (
        "  services:\n    type: services\n",
        "  units:\n    type: services\n",
        "units:",
        "units: a services section is a top-level setting named services",
    ),
    "replicas naming no setting": (
        "    replicas: resources.replicas\n",
        "    replicas: resources.replica\n",
        "replicas: resources.replica",
        "services.replicas: names resources.replica, which is no count setting of the "
        "catalogue; did you mean 'resources.replicas'?",
    ),
    "a compose store without its address": (
        "      host: {type: host, variable: MLFLOW_HOST, description: MLflow host}\n",
        "      host: {type: text, variable: MLFLOW_HOST, description: MLflow host}\n",
        "compose: {service: mlflow",
        "mlflow.compose: a compose store's section needs a host and a port setting (or servers)",
    ),
    "an unknown top-level key": (
        "title: MANTIS variables\n",
        "title: MANTIS variables\nsetings: {}\n",
        "setings:",
        "setings: unknown key; did you mean 'settings'?",
    ),
    "a rule that does not exist": (
        "  - production-debug-off\n",
        "  - production-debug-of\n",
        "- production-debug-of",
        "policy: no rule named 'production-debug-of'; did you mean 'production-debug-off'?",
    ),
    "a rule reading what is not declared": (
        "      audit_logging: {type: flag, variable: AUDIT_LOGGING_ENABLED, description: Audit "
        "logging}\n",
        "",
        "- production-audit-logging",
        "policy: production-audit-logging reads security.audit_logging, which the catalogue "
        "does not declare",
    ),
    "a rule every project has": (
        "  - production-debug-off\n",
        "  - production-debug-off\n  - no-shared-secrets\n",
        "- no-shared-secrets",
        "policy: no-shared-secrets applies to every project; remove it from policy:",
    ),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
@pytest.mark.parametrize("command", ["validate", "render --all"])
def test_a_mistake_in_the_catalogue_is_one_line_with_file_line_and_key(
    project: Path, cli: CliRun, case: str, command: str
) -> None:
    old, new, marker, message = MISTAKES[case]
    text = catalogue_with(project, old, new)

    result = cli(*command.split())

    assert result.exit_code == 1
    assert result.stderr == f"{CATALOGUE}:{line_of(text, marker)}: {message}\n"
    assert "Traceback" not in result.output
    assert not (project / "rendered").exists()


def test_no_catalogue_says_where_one_comes_from(project: Path, cli: CliRun) -> None:
    (project / CATALOGUE).unlink()

    result = cli("validate")

    assert (result.exit_code, result.stderr) == (
        1,
        f"{CATALOGUE}: no catalogue: every setting of the profiles is declared here "
        "(mantis-render init writes one)\n",
    )


def test_a_setting_only_one_tier_requires_is_left_out_elsewhere(project: Path, cli: CliRun) -> None:
    """required per tier: production must set it; development may leave it out, and then has no
    such variable (not an empty one)."""
    catalogue_with(
        project,
        "      retention_days:",
        "      archive_bucket:\n"
        "        type: text\n"
        "        variable: ARCHIVE_BUCKET\n"
        "        description: Where old data goes\n"
        "        required: {development: false, staging: false}\n"
        "      retention_days:",
    )

    missing = cli("validate", "production")
    assert missing.exit_code == 1
    production = (project / "profiles/production.yaml").read_text()
    assert missing.stderr == (
        f"profiles/production.yaml:{line_of(production, 'performance:')}: "
        "performance.archive_bucket: required key is missing\n"
    )

    edit(
        project,
        "profiles/production.yaml",
        "performance:\n",
        "performance:\n  archive_bucket: old\n",
    )
    assert cli("render", "--all").exit_code == 0
    assert "ARCHIVE_BUCKET" not in (project / "rendered/development/.env").read_text()
    assert (
        '      - "ARCHIVE_BUCKET=old"\n'
        in (project / "rendered/production/k8s/kustomization.yaml").read_text()
    )


def test_the_package_names_no_variable_and_no_section_of_the_shipped_catalogue() -> None:
    """MANTIS's content lives in the project's files: no variable of the shipped catalogue is
    spelled in the package's code, and no section of it but those the guide's policy rules read
    (each rule lists them, and the catalogue opts in)."""
    text = (REPO / CATALOGUE).read_text()
    variables = set(re.findall(r"variable: ([A-Z][A-Z0-9_]+)", text))
    sections = set(re.findall(r"^  ([a-z_]+):", text, re.MULTILINE)) - {"services", "composed"}
    assert len(variables) > 50 and {"postgres", "kafka", "grafana"} <= sections
    code = {path: path.read_text() for path in (REPO / "mantis_render").rglob("*.py")}
    for path, source in code.items():
        for variable in variables:
            assert not re.search(rf"\b{variable}\b", source), (path, variable)
        if path.parent.name != "policy":
            # kustomize's resources: key, and the tls context of the templates, are no sections
            # nor is a protocol the tool speaks (doctor logs in to redis)
            for section in sections - {"tls", "resources", *PROTOCOLS}:
                assert not re.search(rf"[\"']{section}[\"']", source), (path, section)


def test_every_type_is_documented_with_its_options() -> None:
    reference = (REPO / "docs/catalogue.md").read_text()
    for name, kind in TYPES.items():
        assert f"### `{name}`" in reference
        for option in kind.options:
            assert f"`{option.key}`" in reference


def test_the_compiled_catalogue_is_cached_by_content(
    project: Path, cli: CliRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run reads the compiled form when the catalogue's text (and the compiler) are unchanged,
    compiles again when either changes, and never caches a catalogue with a mistake."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cached = tmp_path / "cache/mantis-render/catalogues"
    assert cli("docs").exit_code == 0
    [entry] = cached.iterdir()
    document = json.loads(entry.read_text())
    entry.write_text(json.dumps({**document, "title": "Read from the cache"}))

    assert cli("docs").exit_code == 0
    assert (project / "docs/variables.md").read_text().splitlines()[2] == "# Read from the cache"

    edit(project, CATALOGUE, "title: MANTIS variables\n", "title: MANTIS variables  # edited\n")
    assert cli("docs").exit_code == 0
    assert (project / "docs/variables.md").read_text().splitlines()[2] == "# MANTIS variables"
    assert len(list(cached.iterdir())) == 2

    edit(project, CATALOGUE, "type: port", "type: prot")
    assert cli("validate").exit_code == 1
    assert len(list(cached.iterdir())) == 2


def test_a_template_naming_a_setting_the_catalogue_lacks_says_so(
    project: Path, cli: CliRun
) -> None:
    template = edit(
        project,
        "templates/docker-compose.override.yml.j2",
        "{% set log_level = profile.log_level %}",
        "{% set log_level = profile.log_level %}\n# {{ profile.grafana.admin_usr }}",
    )

    result = cli("render", "development")

    line = line_of(template, "profile.grafana.admin_usr")
    assert (result.exit_code, result.stderr) == (
        1,
        f"templates/docker-compose.override.yml.j2:{line}: names grafana.admin_usr, which "
        "profiles/_catalogue.yaml does not declare; did you mean 'admin_user'?\n",
    )


def test_a_template_reading_a_key_no_setting_has_through_a_variable_says_so(
    project: Path, cli: CliRun
) -> None:
    """section = profile[store.section] is not known until it runs: the key is named."""
    template = edit(
        project,
        "templates/docker-compose.override.yml.j2",
        "GF_SECURITY_ADMIN_USER: {{ section.admin_user | yaml }}",
        "GF_SECURITY_ADMIN_USER: {{ section.admin_name | yaml }}",
    )

    result = cli("render", "development")

    line = line_of(template, "section.admin_name")
    assert (result.exit_code, result.stderr) == (
        1,
        f"templates/docker-compose.override.yml.j2:{line}: reads admin_name, which no setting "
        "of profiles/_catalogue.yaml is named\n",
    )
