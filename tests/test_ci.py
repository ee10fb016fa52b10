""".ci/run: the README's test command, then a check that the suite left the checkout clean."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO


def git(folder: Path, *arguments: str) -> None:
    subprocess.run(["git", *arguments], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A repository with this .ci/run and a Makefile whose `test` target the test chooses."""
    root = tmp_path / "clone"
    (root / ".ci").mkdir(parents=True)
    shutil.copy(REPO / ".ci/run", root / ".ci/run")
    (root / ".gitignore").write_text(".venv/\n")
    (root / "bench").mkdir()
    (root / "bench/results.json").write_text("{}\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    return root


def ci_run(clone: Path, recipe: str) -> subprocess.CompletedProcess[str]:
    (clone / "Makefile").write_text(f"test:\n\t{recipe}\n")
    git(clone, "add", "Makefile")
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "recipe")
    return subprocess.run(["bash", ".ci/run"], cwd=clone, capture_output=True, text=True)


def test_ci_fails_when_the_suite_leaves_a_file_in_the_checkout(clone: Path) -> None:
    result = ci_run(clone, "mkdir -p tmpabc/a && touch tmpabc/a/x")
    assert result.returncode == 1
    assert result.stderr == (
        "the test suite left this in the checkout (tests must work in temporary folders):\n"
        "?? tmpabc/a/x\n"
    )


def test_ci_passes_a_clean_run_ignored_files_and_bench_results(clone: Path) -> None:
    result = ci_run(clone, "mkdir -p .venv && echo '{\"new\": 1}' > bench/results.json")
    assert (result.returncode, result.stderr) == (0, "")


def test_ci_fails_with_the_suite(clone: Path) -> None:
    assert ci_run(clone, "false").returncode == 2  # make's status for a failed recipe
