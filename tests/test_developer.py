"""The developer's loop, with real processes: exec (secrets in memory, signals and exit status
passed through, nothing written) and personal .local overrides."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import AWS_HERMETIC, AWS_VARIABLES, REPO, VAULT_VARIABLES, CliRun
from .readers import docker_compose_binary, read_with_python_dotenv
from .silent_server import misbehaving_server
from .vault_server import DevVault, free_loopback_port

# The committed output as a fresh clone has it: none of the private files a local render leaves.
COMMITTED_ONLY = shutil.ignore_patterns(".env", "containers.env", "tls", "docker-compose.local.yml")
PRINT_ENV = "import json, os, sys; print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))"


def mantis(project: Path, *arguments: str, env: dict[str, str] | None = None, **popen: object):
    """mantis-render as its own process (exec replaces it: click's runner cannot host that)."""
    environment = {k: v for k, v in os.environ.items() if k not in VAULT_VARIABLES + AWS_VARIABLES}
    environment |= AWS_HERMETIC | (env or {})
    command = [sys.executable, "-m", "mantis_render", "--root", str(project), *arguments]
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen
    )


def run(project: Path, *arguments: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = mantis(project, *arguments, env=env)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def tree(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


# --- exec -----------------------------------------------------------------------------------


def test_exec_gives_the_program_every_resolved_value_and_writes_nothing(
    project: Path, dev_vault: DevVault, tmp_path: Path
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = tree(project)
    status, stdout, stderr = run(
        project,
        "exec",
        "staging",
        "--",
        sys.executable,
        "-c",
        PRINT_ENV,
        "POSTGRES_PASSWORD",
        "DATABASE_URL",
        "LOG_LEVEL",
        "HOME",
        env={**dev_vault.env(), "TMPDIR": str(scratch)},
    )
    assert (status, stderr) == (0, "")
    values = json.loads(stdout)
    assert values["POSTGRES_PASSWORD"] == "Pg-staging-p@ss w0rd#1"
    assert values["DATABASE_URL"] == (
        "postgresql://mantis:Pg-staging-p%40ss%20w0rd%231@postgres.staging.mantis.internal:5432/"
        "mantis_staging"
    )
    assert values["LOG_LEVEL"] == "INFO"
    assert values["HOME"] == "/nonexistent"  # the current environment is kept
    assert tree(project) == before  # no .env, nothing at all
    assert list(scratch.iterdir()) == []


def test_exec_passes_the_exit_status_through(project: Path) -> None:
    status, _, _ = run(project, "exec", "development", "--", "sh", "-c", "exit 7")
    assert status == 7


def test_sigterm_reaches_the_program_itself(project: Path) -> None:
    program = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (print('terminated', flush=True), sys.exit(42)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = mantis(project, "exec", "development", "--", sys.executable, "-c", program)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGTERM)  # to mantis-render's pid: the program is that process
    stdout, _ = process.communicate(timeout=30)
    assert (process.returncode, stdout) == (42, "terminated\n")


def test_a_missing_command_exits_127_in_one_line(project: Path) -> None:
    assert run(project, "exec", "development", "--", "no-such-program-4711") == (
        127,
        "",
        "mantis-render: no-such-program-4711: command not found\n",
    )


def test_an_empty_program_name_is_not_found_as_in_a_shell_before_any_store_is_asked(
    project: Path,
) -> None:
    with misbehaving_server() as vault:  # a Vault that never answers: it is never asked
        result = run(
            project,
            "exec",
            "staging",
            "--",
            "",
            env={"VAULT_ADDR": vault.address, "VAULT_TOKEN": "t"},
        )
        asked = vault.connections
    assert result == (127, "", "mantis-render: : command not found\n")
    assert asked == 0
    assert subprocess.run(["bash", "-c", '""'], capture_output=True).returncode == 127


def test_unresolvable_secrets_are_all_listed_and_the_program_never_starts(
    project: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    address = f"http://127.0.0.1:{free_loopback_port()}"
    status, stdout, stderr = run(
        project,
        "exec",
        "staging",
        "--",
        "touch",
        str(marker),
        env={"VAULT_ADDR": address, "VAULT_TOKEN": "x", "HOME": "/nonexistent"},
    )
    assert status == 1 and stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 9  # one for each secret variable: every failure, then nothing runs
    assert all(f"Vault at {address} is unreachable (connection refused)" in line for line in lines)
    assert not marker.exists()
    status, _, stderr = run(project, "exec", "staging", "--", "touch", str(marker))
    assert (status, stderr) == (
        1,
        "profiles/staging.yaml: exec needs every secret: its Vault references need Vault (set "
        "VAULT_ADDR, and VAULT_TOKEN, ~/.vault-token or VAULT_ROLE_ID and VAULT_SECRET_ID)\n",
    )
    assert not marker.exists()


def test_a_service_gets_the_variables_it_reads_only(project: Path) -> None:
    names = ["SERVER_PORT", "PORT_DASHBOARD_API", "JWT_SECRET", "REDIS_URL", "ENVIRONMENT"]
    status, stdout, _ = run(
        project,
        "exec",
        "development",
        "--service",
        "dashboard-api",
        "--",
        sys.executable,
        "-c",
        PRINT_ENV,
        *names,
    )
    assert status == 0
    assert json.loads(stdout) == {
        "SERVER_PORT": "8007",  # its port, under the name it reads
        "PORT_DASHBOARD_API": None,
        "JWT_SECRET": "mantis_dev_jwt_secret",
        "REDIS_URL": None,  # no secret it does not read
        "ENVIRONMENT": "development",
    }
    assert run(project, "exec", "development", "--service", "dashbord-api", "--", "true")[0] == 2


def test_compose_runs_the_stack_from_exec_with_no_env_on_disk(
    project: Path, dev_vault: DevVault
) -> None:
    """docker compose reads every value from the environment exec gives it."""
    shutil.copytree(
        REPO / "rendered", project / "rendered", ignore=COMMITTED_ONLY
    )  # the committed output: no .env
    assert not (project / "rendered/staging/.env").exists()
    status, stdout, stderr = run(
        project,
        "exec",
        "staging",
        "--",
        docker_compose_binary(),
        "-f",
        str(project / "compose/docker-compose.yml"),
        "-f",
        str(project / "rendered/staging/docker-compose.override.yml"),
        "config",
        "--format",
        "json",
        env=dev_vault.env(),
    )
    assert status == 0, stderr
    services = json.loads(stdout)["services"]

    def told(service: str) -> dict[str, str]:
        return {k: v.replace("$$", "$") for k, v in services[service]["environment"].items()}

    assert told("postgres")["POSTGRES_PASSWORD"] == "Pg-staging-p@ss w0rd#1"
    api = told("dashboard-api")
    assert api["SPRING_DATASOURCE_PASSWORD"] == "Pg-staging-p@ss w0rd#1"
    assert api["JWT_SECRET"] == "Jwt-staging-0123-signing-key"
    assert api["SPRING_DATASOURCE_URL"] == (
        "jdbc:postgresql://postgres.staging.mantis.internal:5432/mantis_staging"
    )
    assert told("ingestion-iiot")["MQTT_PASSWORD"] == "Mqtt-staging-p&ss;|pipe"
    assert told("mlflow")["AWS_SECRET_ACCESS_KEY"] == "Minio-staging-$ecret-é-99"


# --- personal .local overrides --------------------------------------------------------------


def test_a_local_file_changes_what_the_developer_runs_and_never_what_is_committed(
    project: Path, cli: CliRun
) -> None:
    assert cli("render", "development").exit_code == 0
    committed = {
        path: (project / "rendered/development" / path).read_text()
        for path in ("docker-compose.override.yml", ".env.example", "k8s/kustomization.yaml")
    }
    created = cli("local", "development")
    assert created.stdout == (
        "development: created profiles/development.local.yaml; uncomment what differs on this "
        "machine\n"
    )
    local = project / "profiles/development.local.yaml"
    assert all(line.startswith("#") or not line for line in local.read_text().splitlines())
    local.write_text(local.read_text() + "postgres:\n  port: 5434\n")

    result = cli("render", "development")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "development: note: .env and docker-compose.local.yml include "
        "profiles/development.local.yaml\n"
    )
    folder = project / "rendered/development"
    assert read_with_python_dotenv(folder / ".env")["POSTGRES_PORT"] == "5434"
    assert 'published: "5434"' in (folder / "docker-compose.local.yml").read_text()
    assert (folder / "docker-compose.local.yml").stat().st_mode & 0o777 == 0o600
    for path, text in committed.items():
        assert (folder / path).read_text() == text  # the committed files ignore .local
    assert cli("check", "development").exit_code == 0
    assert cli("diff", "development").exit_code == 0

    explained = cli("explain", "development", "POSTGRES_PORT")
    assert explained.stdout.splitlines()[:2] == [
        "POSTGRES_PORT = 5434",
        # the last line: the example above it is a comment
        f"  set by        profiles/development.local.yaml:{len(local.read_text().splitlines())}"
        "  postgres.port",
    ]


def test_the_project_git_ignores_local_files() -> None:
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "profiles/development.local.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "profiles/development.local.yaml\n"


MISPLACED = (
    "profiles/staging.local.yaml: personal overrides are for development-tier environments "
    "only; staging is tier staging: remove profiles/staging.local.yaml"
)


@pytest.mark.parametrize(
    "command",
    [
        ("render", "staging"),
        ("render", "staging", "--no-resolve"),
        ("render", "--all", "--no-resolve"),
        ("validate", "staging"),
        ("validate",),
        ("check", "staging"),
        ("diff", "staging"),
        ("exec", "staging", "--", "true"),
        ("explain", "staging", "LOG_LEVEL"),
        ("env-template", "staging"),
        ("secrets", "init", "staging", "--dry-run"),
    ],
    ids=" ".join,
)
def test_a_local_file_for_staging_is_an_error_for_every_command(
    project: Path, cli: CliRun, command: tuple[str, ...]
) -> None:
    assert cli("local", "staging").stderr == (
        "profiles/staging.local.yaml: personal overrides are for development-tier environments "
        "only; staging is tier staging\n"
    )
    (project / "profiles/staging.local.yaml").write_text("log_level: DEBUG\n")

    # exec as its own process: through click's runner, a regression would replace the test
    # run itself with the program.
    status, _, stderr = (
        run(project, *command) if command[0] == "exec" else _cli_result(cli, command)
    )

    assert status == 1
    assert MISPLACED in stderr.splitlines()
    assert not (project / "rendered/staging").exists()


def _cli_result(cli: CliRun, command: tuple[str, ...]) -> tuple[int, str, str]:
    result = cli(*command)
    return result.exit_code, result.stdout, result.stderr


def test_doctor_names_a_misplaced_local_file(project: Path, cli: CliRun) -> None:
    (project / "profiles/staging.local.yaml").write_text("log_level: DEBUG\n")
    result = cli("doctor", "staging")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"✗ {MISPLACED}; fix: mantis-render validate staging"


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda path: path.mkdir(), "a folder"),
        (
            lambda path: path.symlink_to("/nonexistent/mine.yaml"),
            "a symlink to /nonexistent/mine.yaml, which does not exist",
        ),
    ],
    ids=["folder", "dangling symlink"],
)
@pytest.mark.parametrize(
    "command",
    [("render", "development"), ("validate", "development"), ("exec", "development", "--", "true")],
)
def test_a_local_file_that_is_not_a_file_is_an_error_not_skipped(
    project: Path, cli: CliRun, make: Callable[[Path], None], why: str, command: tuple[str, ...]
) -> None:
    make(project / "profiles/development.local.yaml")
    status, _, stderr = (
        run(project, *command) if command[0] == "exec" else _cli_result(cli, command)
    )
    assert (status, stderr) == (1, f"profiles/development.local.yaml: not a profile: {why}\n")


def test_removing_the_local_file_removes_the_override_it_made(project: Path, cli: CliRun) -> None:
    local = project / "profiles/development.local.yaml"
    local.write_text("postgres:\n  port: 5434\n")
    assert cli("render", "development").exit_code == 0
    folder = project / "rendered/development"
    assert (folder / "docker-compose.local.yml").is_file()

    local.unlink()
    result = cli("-v", "render", "development")

    assert result.exit_code == 0, result.stderr
    assert "removed docker-compose.local.yml" in result.stdout
    assert not (folder / "docker-compose.local.yml").exists()
    assert read_with_python_dotenv(folder / ".env")["POSTGRES_PORT"] == "5432"


def test_no_resolve_keeps_the_local_overrides_in_the_private_files(
    project: Path, cli: CliRun
) -> None:
    (project / "profiles/development.local.yaml").write_text("postgres:\n  port: 5434\n")

    result = cli("render", "development", "--no-resolve")

    assert result.exit_code == 0, result.stderr
    folder = project / "rendered/development"
    assert read_with_python_dotenv(folder / ".env")["POSTGRES_PORT"] == "5434"
    assert 'published: "5434"' in (folder / "docker-compose.local.yml").read_text()
    assert 'published: "5432"' in (folder / "docker-compose.override.yml").read_text()
    assert cli("check", "development").exit_code == 0


def test_a_mistake_in_a_local_file_is_named_with_its_line(project: Path, cli: CliRun) -> None:
    local = project / "profiles/development.local.yaml"
    local.write_text("postgres:\n  prot: 5434\nredis:\n  port: 70000\n")
    result = cli("render", "development")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "profiles/development.local.yaml:2: postgres.prot: unknown key; did you mean 'port'?",
        "profiles/development.local.yaml:4: redis.port: must be at most 65535",
    ]
    local.write_text("tier: staging\n")
    assert cli("render", "development").stderr == (
        "profiles/development.local.yaml:1: tier: a .local file overrides settings of "
        "profiles/development.yaml; it has no tier\n"
    )


@pytest.mark.parametrize("arguments", [["local", "qa"], ["exec", "qa", "--", "true"]])
def test_an_unknown_environment_is_a_usage_error(project: Path, arguments: list[str]) -> None:
    status, _, stderr = run(project, *arguments)
    assert status == 2
    assert "no profile for environment 'qa'" in stderr


def test_exec_gives_the_development_stack_its_container_urls_from_memory(project: Path) -> None:
    """The composed secrets in the containers' form, too, come from memory under exec."""
    shutil.copytree(REPO / "rendered", project / "rendered", ignore=COMMITTED_ONLY)
    folder = project / "rendered/development"
    assert not (folder / ".env").exists() and not (folder / "containers.env").exists()
    status, stdout, stderr = run(
        project,
        "exec",
        "development",
        "--",
        docker_compose_binary(),
        "--project-directory",
        str(folder),
        "-f",
        str(project / "compose/docker-compose.yml"),
        "-f",
        str(folder / "docker-compose.override.yml"),
        "config",
        "--format",
        "json",
    )
    assert status == 0, stderr
    services = json.loads(stdout)["services"]
    told = services["mlflow"]["environment"]
    assert told["MLFLOW_BACKEND_STORE_URI"] == (
        "postgresql://mantis:mantis_dev_password@postgres:5432/mantis_dev"
    )
    assert "POSTGRES_HOST" not in told  # MLflow is given its stores' URIs, nothing more
    api = services["dashboard-api"]["environment"]
    assert api["SPRING_DATASOURCE_URL"] == "jdbc:postgresql://postgres:5432/mantis_dev"
    assert api["SPRING_DATASOURCE_PASSWORD"] == "mantis_dev_password"
    assert not (folder / ".env").exists() and not (folder / "containers.env").exists()
