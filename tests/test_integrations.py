"""The pipeline integrations, run as they are written: kustomize rollouts, pre-commit, CI, Argo CD."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import REPO, CliRun
from .readers import tool

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingestion-iiot}
spec:
  selector: {matchLabels: {app: ingestion-iiot}}
  template:
    metadata: {labels: {app: ingestion-iiot}}
    spec:
      containers:
        - name: app
          image: mantis/ingestion-iiot
          envFrom:
            - configMapRef: {name: mantis-ingestion-iiot-config}
            - secretRef: {name: mantis-ingestion-iiot-secrets}
"""


def build_app(project: Path) -> dict[str, dict[str, Any]]:
    """kubectl kustomize of an app that includes rendered/staging/k8s beside its Deployment."""
    app = project / "app"
    app.mkdir(exist_ok=True)
    (app / "deployment.yaml").write_text(DEPLOYMENT)
    # The Deployments share the namespace: kustomize rewrites references only within one.
    (app / "kustomization.yaml").write_text(
        "namespace: mantis-staging\nresources: [../rendered/staging/k8s, deployment.yaml]\n"
    )
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(app)], capture_output=True, text=True, check=True
    )
    return {
        obj["kind"] + "/" + obj["metadata"]["name"]: obj
        for obj in yaml.safe_load_all(result.stdout)
    }


def test_a_changed_value_renames_the_configmap_and_rolls_the_deployment(
    cli: CliRun, project: Path
) -> None:
    cli("render", "staging")
    first = build_app(project)
    profile = project / "profiles/staging.yaml"
    text = profile.read_text()
    assert "MQTT_CLIENT_ID: mantis-ingestion-iiot-staging" in text
    profile.write_text(text.replace("mantis-ingestion-iiot-staging", "mantis-ingestion-iiot-s2"))
    cli("render", "staging")
    second = build_app(project)

    def config(objects: dict[str, dict[str, Any]], service: str) -> dict[str, Any]:
        [found] = [
            o for key, o in objects.items() if key.startswith(f"ConfigMap/mantis-{service}-config-")
        ]
        return found

    def referenced(objects: dict[str, dict[str, Any]]) -> str:
        container = objects["Deployment/ingestion-iiot"]["spec"]["template"]["spec"]["containers"][
            0
        ]
        return container["envFrom"][0]["configMapRef"]["name"]  # type: ignore[no-any-return]

    name = config(first, "ingestion-iiot")["metadata"]["name"]
    assert referenced(first) == name
    assert referenced(second) == config(second, "ingestion-iiot")["metadata"]["name"] != name
    assert config(second, "ingestion-iiot")["data"]["MQTT_CLIENT_ID"] == "mantis-ingestion-iiot-s2"
    # a service that does not read it keeps its ConfigMap: its pods do not roll
    assert config(first, "feature-extraction") == config(second, "feature-extraction")


def git(folder: Path, *arguments: str) -> None:
    environment = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(
        ["git", *arguments], cwd=folder, env=environment, check=True, capture_output=True
    )


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def test_pre_commit_hook_fails_a_commit_with_stale_output(
    cli: CliRun, project: Path, pre_commit_home: Path
) -> None:
    cli("render", "--all")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "profiles")
    environment = {**os.environ, "PRE_COMMIT_HOME": str(pre_commit_home)}

    def run_hook() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(REPO),
                "mantis-render-check",
                "--all-files",
            ],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
        )

    current = run_hook()
    assert current.returncode == 0, current.stdout + current.stderr
    profile = project / "profiles/staging.yaml"
    profile.write_text(profile.read_text().replace("log_level: INFO", "log_level: DEBUG"))
    stale = run_hook()
    assert stale.returncode == 1
    assert "rendered/staging/k8s/kustomization.yaml: stale" in stale.stdout


@pytest.fixture
def checkout(project: Path) -> Path:
    """A checkout as CI sees it, with its virtualenv already made (the tests' own)."""
    for name in (
        "Makefile",
        "pyproject.toml",
        "requirements",
        ".github",
        "argocd",
        "docs",
        "schemas",
    ):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    bin_dir = project / ".venv/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "mantis-render").symlink_to(Path(sys.executable).parent / "mantis-render")
    (project / ".venv/.installed").touch()  # newer than pyproject.toml: make installs nothing
    return project


def workflow_steps() -> list[dict[str, str]]:
    workflow = yaml.safe_load((REPO / ".github/workflows/rendered-output.yml").read_text())
    return [step for step in workflow["jobs"]["check"]["steps"] if "run" in step]


def run_step(checkout: Path, step: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=checkout, capture_output=True, text=True
    )


def test_ci_workflow_passes_on_current_output(cli: CliRun, checkout: Path) -> None:
    cli("render", "--all")
    for step in workflow_steps():
        if "if" not in step:
            result = run_step(checkout, step)
            assert result.returncode == 0, (step["name"], result.stdout, result.stderr)


def test_ci_workflow_fails_a_pull_request_with_stale_output_and_shows_the_diff(
    cli: CliRun, checkout: Path
) -> None:
    cli("render", "--all")
    profile = checkout / "profiles/staging.yaml"
    profile.write_text(profile.read_text().replace("log_level: INFO", "log_level: DEBUG"))
    steps = workflow_steps()
    outcomes = {
        step["name"]: run_step(checkout, step).returncode for step in steps if "if" not in step
    }
    assert outcomes == {
        "Profiles are valid": 0,
        "Rendered output is current": 2,
    }  # make's status for a failed recipe
    [on_failure] = [step for step in steps if step.get("if") == "failure()"]
    shown = run_step(checkout, on_failure)
    assert "+LOG_LEVEL='DEBUG'" in shown.stdout.replace("\x1b[32m", "").replace("\x1b[0m", "")


def test_argo_cd_plugin_generates_the_manifests(checkout: Path) -> None:
    plugin = yaml.safe_load((REPO / "argocd/plugin.yaml").read_text())
    assert (checkout / plugin["spec"]["discover"]["fileName"]).is_file()
    generate = plugin["spec"]["generate"]
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VAULT_")},
        "ARGOCD_ENV_MANTIS_ENV": "staging",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = subprocess.run(
        [*generate["command"], *generate["args"]],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    objects = list(yaml.safe_load_all(result.stdout))
    assert {obj["kind"] for obj in objects} == {"ConfigMap", "ExternalSecret"}
    assert {obj["metadata"]["namespace"] for obj in objects} == {"mantis-staging"}
    [shared] = [o for o in objects if o["metadata"]["name"].startswith("mantis-config-")]
    assert shared["data"]["ENVIRONMENT"] == "staging"


def test_ci_workflow_writes_the_review_of_a_pull_request_to_the_job_summary(
    cli: CliRun, checkout: Path, tmp_path: Path
) -> None:
    cli("render", "--all")

    def git(*arguments: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
            cwd=checkout,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    git("update-ref", "refs/remotes/origin/main", "HEAD")  # what actions/checkout fetches
    profile = checkout / "profiles/_base.yaml"
    profile.write_text(profile.read_text().replace("  port: 6379\n", "  port: 6380\n", 1))
    git("commit", "-qam", "redis on 6380")
    [step] = [s for s in workflow_steps() if s["name"].endswith("in the job summary")]
    summary = tmp_path / "summary.md"
    command = step["run"].replace("${{ github.base_ref }}", "main")
    result = subprocess.run(
        ["bash", "-e", "-c", command],
        cwd=checkout,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    text = summary.read_text()
    assert (tmp_path / "review.md").read_text() == text  # what the comment step posts
    assert text.startswith("### mantis-render: changes from `origin/main` to `HEAD`\n")
    assert "- development, production, staging: `~ REDIS_PORT: 6379 -> 6380" in text
