"""check, diff and explain: what pipelines and reviewers of generated output rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import CliRun, line_of

STAGING = "profiles/staging.yaml"


@pytest.fixture
def rendered(cli: CliRun, project: Path) -> Path:
    """The project with its output rendered, as a repository that commits rendered/ holds it."""
    assert cli("render", "--all").exit_code == 0
    return project / "rendered"


def edit(project: Path, profile: str, old: str, new: str) -> str:
    path = project / profile
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path.read_text()


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_check_passes_on_current_output(cli: CliRun, rendered: Path) -> None:
    result = cli("check")
    assert (result.exit_code, result.stdout) == (
        0,
        "development: up to date\nproduction: up to date\nstaging: up to date\n",
    )


def test_check_names_stale_missing_and_extra_files_and_writes_nothing(
    cli: CliRun, project: Path, rendered: Path
) -> None:
    edit(
        project,
        STAGING,
        "  host: postgres.staging.mantis.internal",
        "  host: pg.staging.mantis.internal",
    )
    (rendered / "staging/docker-compose.override.yml").unlink()
    (rendered / "staging/k8s/old.yaml").write_text("kind: Old\n")
    (rendered / "qa").mkdir()
    before = snapshot(rendered)

    result = cli("check")

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "development: up to date",
        "production: up to date",
        f"{rendered}/staging/.env.example: stale",
        f"{rendered}/staging/docker-compose.override.yml: missing",
        f"{rendered}/staging/k8s/kustomization.yaml: stale",
        f"{rendered}/staging/k8s/old.yaml: extra",
        f"{rendered}/qa/: extra",
    ]
    assert snapshot(rendered) == before


def test_check_ignores_the_local_env(cli: CliRun, rendered: Path) -> None:
    (rendered / "development/.env").write_text("EDITED_BY_HAND=1\n")
    assert cli("check", "development").exit_code == 0


def test_check_json_for_pipelines(cli: CliRun, project: Path, rendered: Path) -> None:
    edit(project, STAGING, "log_level: INFO", "log_level: DEBUG")
    result = cli("check", "staging", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "up_to_date": False,
        "environments": {
            "staging": [
                {"path": f"{rendered}/staging/.env.example", "status": "stale"},
                {"path": f"{rendered}/staging/docker-compose.override.yml", "status": "stale"},
                {"path": f"{rendered}/staging/k8s/kustomization.yaml", "status": "stale"},
            ]
        },
    }


def test_check_of_an_invalid_profile_reports_it(cli: CliRun, project: Path, rendered: Path) -> None:
    text = edit(project, STAGING, "log_level: INFO", "log_level: LOUD")
    result = cli("check", "staging")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{STAGING}:{line_of(text, 'LOUD')}: log_level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'LOUD'\n"
    )


def test_diff_shows_exactly_the_change(cli: CliRun, project: Path, rendered: Path) -> None:
    edit(project, STAGING, "  partitions: 6", "  partitions: 8")
    before = snapshot(rendered)

    result = cli("diff", "staging")

    assert result.exit_code == 1
    changed = [
        line
        for line in result.stdout.splitlines()
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == [
        "-KAFKA_PARTITIONS='6'",
        "+KAFKA_PARTITIONS='8'",
        '-      KAFKA_NUM_PARTITIONS: "6"',
        '+      KAFKA_NUM_PARTITIONS: "8"',
        '-      - "KAFKA_PARTITIONS=6"',
        '+      - "KAFKA_PARTITIONS=8"',
    ]
    assert [line for line in result.stdout.splitlines() if line.startswith("+++")] == [
        f"+++ b/{rendered}/staging/.env.example",
        f"+++ b/{rendered}/staging/docker-compose.override.yml",
        f"+++ b/{rendered}/staging/k8s/kustomization.yaml",
    ]
    assert snapshot(rendered) == before


def test_diff_without_a_change_is_empty_and_exits_0(cli: CliRun, rendered: Path) -> None:
    assert (cli("diff", "staging").exit_code, cli("diff", "staging").stdout) == (0, "")


def test_diff_masks_secret_values_even_in_the_development_secret(
    cli: CliRun, project: Path, rendered: Path
) -> None:
    edit(
        project,
        "profiles/development.yaml",
        "password: mantis_dev_password",
        "password: brand-new-dev-password",
    )

    result = cli("diff", "development")

    assert result.exit_code == 1
    assert "mantis_dev_password" not in result.output
    assert "brand-new-dev-password" not in result.output
    # each of the four services that read it, under the name it reads
    assert [line for line in result.stdout.splitlines() if "DATASOURCE_PASSWORD" in line] == [
        "-  SPRING_DATASOURCE_PASSWORD: ***",
        "+  SPRING_DATASOURCE_PASSWORD: ***",
    ] * 4


def test_diff_colour_follows_the_flag(cli: CliRun, project: Path, rendered: Path) -> None:
    edit(project, STAGING, "  partitions: 6", "  partitions: 8")
    assert "\x1b[32m+KAFKA_PARTITIONS='8'" in cli("diff", "staging", "--color").stdout
    assert "\x1b[" not in cli("diff", "staging", "--no-color").stdout
    assert "\x1b[" not in cli("diff", "staging").stdout  # not a terminal


def test_diff_of_a_removed_file(cli: CliRun, rendered: Path) -> None:
    (rendered / "staging/k8s/old.yaml").write_text("kind: Old\n")
    assert cli("diff", "staging").stdout == (
        f"--- a/{rendered}/staging/k8s/old.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-kind: Old\n"
    )


def test_explain_points_at_the_file_and_line(cli: CliRun, project: Path) -> None:
    result = cli("explain", "staging", "POSTGRES_HOST")
    line = line_of((project / STAGING).read_text(), "postgres.staging.mantis.internal")
    assert (result.exit_code, result.stdout) == (
        0,
        "POSTGRES_HOST = postgres.staging.mantis.internal\n"
        f"  set by        profiles/staging.yaml:{line}  postgres.host\n"
        # the override too: the services are told the JDBC URL made of it (and MLflow the host)
        "  lands in      .env, .env.example, docker-compose.override.yml, k8s/kustomization.yaml\n"
        "  named in      .env, .env.example, k8s/kustomization.yaml\n",
    )


def test_explain_shows_the_values_it_overrode(cli: CliRun, project: Path) -> None:
    base_line = line_of((project / "profiles/_base.yaml").read_text(), "  port: 3000")
    result = cli("explain", "development", "grafana.port")
    assert result.stdout.splitlines()[:3] == [
        "GRAFANA_PORT = 3001",
        f"  set by        profiles/development.yaml:{line_of((project / 'profiles/development.yaml').read_text(), '3001')}  grafana.port",
        f"  overrides     profiles/_base.yaml:{base_line}  3000",
    ]
    assert result.stdout.splitlines()[3:5] == [
        "  containers    3000  (the host publishes 3001; the container grafana listens on 3000)",
        "  lands in      .env, .env.example, docker-compose.override.yml, k8s/kustomization.yaml",
    ]


def test_explain_says_what_a_container_is_told_and_why(cli: CliRun) -> None:
    host = cli("explain", "development", "POSTGRES_HOST").stdout.splitlines()
    kafka = cli("explain", "development", "KAFKA_BOOTSTRAP_SERVERS").stdout.splitlines()
    staging = cli("explain", "staging", "POSTGRES_HOST").stdout

    assert host[2] == (
        "  containers    postgres  (localhost inside a container is the container itself; "
        "postgres is the compose service postgres)"
    )
    assert kafka[2] == (
        "  containers    kafka:29092  (a loopback bootstrap server inside a container is the "
        "container itself; Kafka advertises its in-network listener kafka:29092 to containers)"
    )
    assert "containers" not in staging  # an external name is the same on both sides
    as_json = json.loads(cli("explain", "development", "REDIS_HOST", "--format", "json").stdout)
    assert (as_json["in_containers"], as_json["value"]) == ("redis", "localhost")


def test_explain_never_shows_a_secret(cli: CliRun) -> None:
    literal = cli("explain", "development", "POSTGRES_PASSWORD").stdout
    assert literal.splitlines()[0] == "POSTGRES_PASSWORD = (secret, hidden)"
    assert "mantis_dev_password" not in literal
    assert cli("explain", "staging", "POSTGRES_PASSWORD").stdout.splitlines()[0] == (
        "POSTGRES_PASSWORD = vault:mantis/staging/postgres#password"
    )


def test_explain_of_a_derived_variable(cli: CliRun) -> None:
    assert cli("explain", "staging", "ENVIRONMENT").stdout.splitlines()[:2] == [
        "ENVIRONMENT = staging",
        "  derived from  the file name of profiles/staging.yaml",
    ]


def test_explain_json(cli: CliRun) -> None:
    report = json.loads(cli("explain", "staging", "REPLICAS", "--format", "json").stdout)
    assert report["variable"] == "REPLICAS"
    assert report["setting"] == "resources.replicas"
    assert report["value"] == "2"
    assert report["lands_in"] == [
        ".env",
        ".env.example",
        "docker-compose.override.yml",
        "k8s/kustomization.yaml",
    ]


def test_explain_of_an_unknown_variable_suggests_the_nearest(cli: CliRun) -> None:
    result = cli("explain", "staging", "POSTGRES_HOTS")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for VAR: no variable or setting named 'POSTGRES_HOTS'; did you mean POSTGRES_HOST?"
    )
