"""`mantis-render init`: a new project that validates and renders on its first run, from the
wheel as a user installs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, CliRun

SOURCE = ("pyproject.toml", "setup.py", "README.md", "mantis_render", *("profiles", "templates"))


def run(arguments: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        arguments, cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=300
    )
    assert result.returncode == 0, (arguments, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of this checkout, installed in a new virtualenv with the
    locked dependencies (nothing of the checkout on its path)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in (*SOURCE, "compose"):
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work), str(source)], work)
    [wheel] = work.glob("mantis_render-*.whl")
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], work)
    venv_pip = [str(venv / "bin/python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    lock = REPO / "requirements/render.txt"
    run([*venv_pip, "install", "--require-hashes", "--no-deps", "-r", str(lock)], work)
    run([*venv_pip, "install", "--no-deps", str(wheel)], work)
    return venv / "bin/mantis-render"


@pytest.mark.parametrize("example", ["minimal", "mantis"])
def test_the_installed_wheel_starts_a_project_that_renders_and_checks_clean(
    installed: Path, tmp_path: Path, example: str
) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONPATH": ""}
    for variable in ("VAULT_ADDR", "VAULT_TOKEN"):
        env.pop(variable, None)
    said = run([str(installed), "init", "x", "--example", example], tmp_path, env)
    project = tmp_path / "x"
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert said.splitlines()[-1] == (
        f"x: a new project, {sum(f.startswith(('profiles/', 'templates/', 'compose/')) for f in files)} "
        "files; next: mantis-render render --all"
    )
    assert {".gitignore", ".pre-commit-config.yaml", "profiles/_catalogue.yaml"} <= set(files)
    assert "rendered/*/.env" in (project / ".gitignore").read_text().splitlines()

    run([str(installed), "render", "--all"], project, env)
    checked = run([str(installed), "check"], project, env)
    assert checked == "development: up to date\nproduction: up to date\nstaging: up to date\n"
    assert run([str(installed), "validate"], project, env).splitlines() == [
        "development: valid",
        "production: valid",
        "staging: valid",
    ]


def test_the_minimal_project_names_its_objects_after_its_folder(
    cli: CliRun, tmp_path: Path
) -> None:
    target = tmp_path / "Plant Line 4"
    result = cli("init", str(target))
    assert result.exit_code == 0, result.output
    catalogue = (target / "profiles/_catalogue.yaml").read_text()
    assert "project: plant-line-4\n" in catalogue
    development = (target / "profiles/development.yaml").read_text()
    assert "DEVPASSWORD" not in development and "PROJECT" not in catalogue

    rendered = cli("--root", str(target), "render", "--all")
    assert rendered.exit_code == 0, rendered.output
    kustomization = (target / "rendered/staging/k8s/kustomization.yaml").read_text()
    assert 'namespace: "plant-line-4-staging"\n' in kustomization
    assert "  - name: plant-line-4-config\n" in kustomization


def test_each_development_password_is_new(cli: CliRun, tmp_path: Path) -> None:
    passwords = []
    for name in ("a", "b"):
        assert cli("init", str(tmp_path / name)).exit_code == 0
        text = (tmp_path / name / "profiles/development.yaml").read_text()
        [line] = [line for line in text.splitlines() if line.startswith("  password: ")]
        passwords.append(line)
    assert passwords[0] != passwords[1]


def test_init_where_a_project_is_writes_nothing(cli: CliRun, tmp_path: Path) -> None:
    target = tmp_path / "there"
    (target / "profiles").mkdir(parents=True)
    (target / "profiles/_base.yaml").write_text("mine: 1\n")
    (target / ".gitignore").write_text("node_modules/\n")

    result = cli("init", str(target))

    assert (result.exit_code, result.stderr) == (
        1,
        f"{target}/: holds a project already (profiles/_base.yaml); init writes only into a "
        "new project\n",
    )
    assert sorted(p.name for p in target.rglob("*")) == [".gitignore", "_base.yaml", "profiles"]
    assert (target / ".gitignore").read_text() == "node_modules/\n"


def test_init_keeps_what_gitignore_and_pre_commit_already_say(cli: CliRun, tmp_path: Path) -> None:
    target = tmp_path / "repo"
    target.mkdir()
    (target / ".gitignore").write_text("node_modules/\n/.env")  # no final line feed
    (target / ".pre-commit-config.yaml").write_text("repos: []\n")

    result = cli("init", str(target))

    assert result.exit_code == 0, result.output
    lines = (target / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", "/.env"]
    assert lines.count("/.env") == 1 and "profiles/*.local.yaml" in lines
    assert (target / ".pre-commit-config.yaml").read_text() == "repos: []\n"
    assert f"{target}/.pre-commit-config.yaml: kept; add the hook mantis-render-check" in (
        result.output
    )


def test_a_package_without_its_example_says_so_and_writes_nothing(tmp_path: Path) -> None:
    """The package alone (as a build that skipped setup.py's copy would install it)."""
    shutil.copytree(
        REPO / "mantis_render",
        tmp_path / "site/mantis_render",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = subprocess.run(
        [sys.executable, "-m", "mantis_render", "init", "x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"{tmp_path / 'site/mantis_render'}/: this installation of mantis-render carries no "
        "example project (built without setup.py's build step?); install it from its wheel\n"
    )
    assert not (tmp_path / "x").exists()


def test_init_that_cannot_write_a_file_takes_back_what_it_wrote(
    cli: CliRun, tmp_path: Path
) -> None:
    """A file named templates stands where a folder goes: the profiles were written by then."""
    target = tmp_path / "repo"
    target.mkdir()
    (target / ".gitignore").write_text("node_modules/\n")
    (target / "templates").write_text("mine\n")

    result = cli("init", str(target))

    assert (result.exit_code, result.stderr) == (
        1,
        f"{target}/: cannot be written: File exists ({target / 'templates'}); nothing was "
        "written\n",
    )
    assert sorted(p.name for p in target.iterdir()) == [".gitignore", "templates"]
    assert (target / ".gitignore").read_text() == "node_modules/\n"
    assert (target / "templates").read_text() == "mine\n"
