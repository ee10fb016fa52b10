"""scripts/setup-environment.sh installs the rendered .env at the root, never silently over another."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO


@pytest.fixture
def checkout(project: Path) -> Path:
    shutil.copytree(REPO / "scripts", project / "scripts")
    return project


def setup(checkout: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "MANTIS_RENDER": f"{sys.executable} -m mantis_render"}
    return subprocess.run(
        [str(checkout / "scripts/setup-environment.sh"), *arguments],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
    )


def test_installs_the_rendered_env_at_the_root(checkout: Path) -> None:
    result = setup(checkout, "development")
    assert result.returncode == 0, result.stderr
    root_env = checkout / ".env"
    assert root_env.read_bytes() == (checkout / "rendered/development/.env").read_bytes()
    assert stat.S_IMODE(root_env.stat().st_mode) == 0o600
    assert result.stdout.splitlines()[-1] == (
        "setup-environment: .env now holds the development environment (from rendered/development/.env)"
    )


def test_an_identical_env_is_left_as_is_and_accepted(checkout: Path) -> None:
    assert setup(checkout, "development").returncode == 0
    assert setup(checkout, "development").returncode == 0


def test_a_different_env_is_not_overwritten_without_force(checkout: Path) -> None:
    (checkout / ".env").write_text("MY_LOCAL_TWEAK=1\n")
    result = setup(checkout, "development")
    assert result.returncode == 1
    assert (checkout / ".env").read_text() == "MY_LOCAL_TWEAK=1\n"
    assert (
        result.stderr.splitlines()[0]
        == "setup-environment: .env differs from rendered/development/.env; left as it is."
    )


@pytest.mark.parametrize("order", ["after", "before"])
def test_force_replaces_it_and_keeps_a_backup(checkout: Path, order: str) -> None:
    (checkout / ".env").write_text("MY_LOCAL_TWEAK=1\n")
    arguments = ("development", "--force") if order == "after" else ("--force", "development")
    result = setup(checkout, *arguments)
    assert result.returncode == 0
    assert (checkout / ".env.backup").read_text() == "MY_LOCAL_TWEAK=1\n"
    assert (checkout / ".env").read_bytes() == (checkout / "rendered/development/.env").read_bytes()


def test_an_invalid_environment_installs_nothing(checkout: Path) -> None:
    result = setup(checkout, "qa")
    assert result.returncode == 2
    assert not (checkout / ".env").exists()


def test_usage_without_an_environment(checkout: Path) -> None:
    result = setup(checkout)
    assert (result.returncode, result.stderr) == (
        2,
        f"usage: {checkout / 'scripts/setup-environment.sh'} ENV [--force]\n",
    )


def test_an_environment_whose_env_needs_vault_installs_nothing_without_it(checkout: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    result = subprocess.run(
        [str(checkout / "scripts/setup-environment.sh"), "staging"],
        cwd=checkout,
        env={
            **environment,
            "MANTIS_RENDER": f"{sys.executable} -m mantis_render",
            "HOME": "/nonexistent",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[-1]
        == "staging: .env is required (--require-env) but was not written"
    )
    assert not (checkout / ".env").exists()


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_prints_the_usage_and_renders_nothing(checkout: Path, option: str) -> None:
    script = checkout / "scripts/setup-environment.sh"
    result = setup(checkout, option)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[0] == f"usage: {script} ENV [--force]"
    assert not (checkout / "rendered/--help").exists()
    assert not (checkout / ".env").exists()


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("development", "--forse"), "setup-environment: unknown option --forse"),
        (
            ("development", "staging"),
            "setup-environment: one environment at a time (development, then staging)",
        ),
    ],
)
def test_a_mistaken_argument_is_a_usage_error_and_installs_nothing(
    checkout: Path, arguments: tuple[str, ...], said: str
) -> None:
    script = checkout / "scripts/setup-environment.sh"
    result = setup(checkout, *arguments)
    assert (result.returncode, result.stderr) == (2, f"{said}\nusage: {script} ENV [--force]\n")
    assert not (checkout / ".env").exists()
