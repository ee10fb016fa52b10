"""The command line: commands, exit statuses, and where files go."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mantis_render.cli import main

from .conftest import CliRun, line_of


def test_list_prints_environments_without_partials(cli: CliRun) -> None:
    result = cli("list")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "development\nproduction\nstaging\n",
        "",
    )


def test_validate_checks_every_environment_when_none_is_named(cli: CliRun, project: Path) -> None:
    result = cli("validate")
    assert (result.exit_code, result.stdout) == (
        0,
        "development: valid\nproduction: valid\nstaging: valid\n",
    )
    assert not (project / "rendered").exists()


@pytest.mark.parametrize("command", [["validate"], ["render", "--all"]])
def test_a_mistake_in_the_base_profile_is_one_line_for_all_its_environments(
    cli: CliRun, project: Path, command: list[str]
) -> None:
    base = project / "profiles" / "_base.yaml"
    text = base.read_text()
    base.write_text(text.replace("{postgres.host}", "{postgres.hots}", 1))
    line = line_of(base.read_text(), "{postgres.hots}")

    result = cli(*command)

    assert (result.exit_code, result.stdout, result.stderr) == (
        1,
        "",
        f"profiles/_base.yaml:{line}: composed.DATABASE_URL.template: {{postgres.hots}} names "
        "no setting; did you mean {postgres.host}?\n",
    )
    assert not (project / "rendered").exists()


def test_render_writes_each_environment_to_its_folder(cli: CliRun, project: Path) -> None:
    result = cli("render", "staging", "development")
    assert result.exit_code == 0
    assert result.stdout == (
        f"staging: wrote 5 files to {project / 'rendered/staging'}\n"
        f"development: wrote 5 files to {project / 'rendered/development'}\n"
    )
    assert result.stderr == (
        "staging: note: .env not written: its Vault references need Vault (set VAULT_ADDR, and "
        "VAULT_TOKEN, ~/.vault-token or VAULT_ROLE_ID and VAULT_SECRET_ID)\n"
    )
    assert sorted(path.name for path in (project / "rendered").iterdir()) == [
        "development",
        "staging",
    ]


def test_render_out_puts_nothing_outside_the_chosen_folder(
    cli: CliRun, project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "elsewhere"
    before = sorted(project.rglob("*"))
    assert cli("render", "--all", "--out", str(out)).exit_code == 0
    assert sorted(project.rglob("*")) == before
    assert sorted(path.name for path in out.iterdir()) == ["development", "production", "staging"]


def test_dotenv_is_private_and_other_files_are_readable(cli: CliRun, project: Path) -> None:
    cli("render", "development")
    folder = project / "rendered/development"
    assert stat.S_IMODE((folder / ".env").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "k8s/kustomization.yaml").stat().st_mode) == 0o644
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_rerender_replaces_files_a_render_no_longer_produces(cli: CliRun, project: Path) -> None:
    cli("render", "staging")
    stray = project / "rendered/staging/k8s/old.yaml"
    stray.write_text("kind: Old\n")
    cli("render", "staging")
    assert not stray.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["render", "qa"],
            "Invalid value for ENV: no profile for environment 'qa' in profiles/ "
            "(known: development, production, staging)",
        ),
        (
            ["render", "../staging"],
            "Invalid value for ENV: '../staging' is not an environment name: an "
            "environment name is lowercase letters, digits and '-' (at most 56), "
            "and a partial profile's name starts with '_'",
        ),
        (
            ["validate", "/etc/passwd"],
            "Invalid value for ENV: '/etc/passwd' is not an environment name: an "
            "environment name is lowercase letters, digits and '-' (at most 56), "
            "and a partial profile's name starts with '_'",
        ),
        (
            ["render", "_base"],
            "Invalid value for ENV: '_base' is not an environment name: an environment "
            "name is lowercase letters, digits and '-' (at most 56), and a partial "
            "profile's name starts with '_'",
        ),
        (["render"], "name at least one environment, or pass --all"),
        (["render", "--all", "staging"], "give environment names or --all, not both"),
        (["frobnicate"], "No such command 'frobnicate'."),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(
    cli: CliRun, project: Path, arguments: list[str], message: str
) -> None:
    result = cli(*arguments)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: {message}"
    assert "Traceback" not in result.output
    assert not (project / "rendered").exists()


@pytest.mark.parametrize("command", [[], ["render"], ["validate"], ["list"]])
def test_help_everywhere(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: main {' '.join(command)}".rstrip() + " ")


def test_main_help_documents_exit_statuses() -> None:
    help_lines = CliRunner().invoke(main, ["--help"]).stdout.splitlines()
    assert (
        "  Exit status: 0 success, 1 invalid input (one line per problem), 2 usage error."
        in help_lines
    )


def test_unwritable_output_is_one_line_and_exit_1(cli: CliRun, project: Path) -> None:
    (project / "rendered").write_text("a file where the output folder should be")
    result = cli("render", "staging")
    assert result.exit_code == 1
    assert result.stderr == f"{project / 'rendered'}: cannot write: File exists\n"


def test_no_profiles_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "validate"])
    assert result.exit_code == 2
    assert (
        result.stderr.splitlines()[-1]
        == f"Error: no environment profiles in {tmp_path / 'profiles'}"
    )


def test_list_without_profiles_is_the_same_usage_error(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "Staging.yaml").write_text("log_level: INFO\n")
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "list"])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0].startswith("profiles/Staging.yaml: an environment name is")
    assert (
        result.stderr.splitlines()[-1]
        == f"Error: no environment profiles in {tmp_path / 'profiles'}"
    )


def test_missing_templates_folder_is_reported(cli: CliRun, project: Path) -> None:
    shutil.rmtree(project / "templates")
    result = cli("validate", "staging")
    assert (result.exit_code, result.stderr) == (
        1,
        "templates/: no templates folder here; run from the project root or pass --root\n",
    )


def test_a_broken_template_names_the_template_and_line(cli: CliRun, project: Path) -> None:
    template = project / "templates/k8s/kustomization.yaml.j2"
    text = template.read_text().replace(
        "namespace: {{ namespace | yaml }}", "namespace: {{ namespcae | yaml }}"
    )
    template.write_text(text)
    result = cli("render", "staging")
    assert result.exit_code == 1
    line = line_of(text, "namespcae")
    assert (
        result.stderr == f"templates/k8s/kustomization.yaml.j2:{line}: 'namespcae' is undefined\n"
    )
    assert not (project / "rendered/staging").exists()


def test_a_template_that_renders_invalid_yaml_is_caught_before_writing(
    cli: CliRun, project: Path
) -> None:
    template = project / "templates/k8s/externalsecret.yaml.j2"
    template.write_text(
        template.read_text().replace("kind: ExternalSecret", "kind: [ExternalSecret")
    )
    result = cli("render", "staging")
    assert result.exit_code == 1
    assert result.stderr == (
        "rendered/staging/k8s/externalsecret.yaml:8: rendered YAML does not parse: "
        "did not find expected ',' or ']' (while parsing a flow sequence started on line 7) "
        "(written by templates/k8s/externalsecret.yaml.j2)\n"
    )
    assert not (project / "rendered/staging").exists()


def _run_as_user(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        arguments, cwd=cwd, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}
    )


def test_installed_console_script_renders_from_the_current_directory(project: Path) -> None:
    script = shutil.which("mantis-render", path=str(Path(sys.executable).parent))
    assert script, "mantis-render console script is not installed beside this Python"
    result = _run_as_user([script, "render", "development"], cwd=project)
    assert (result.returncode, result.stdout) == (
        0,
        "development: wrote 5 files to rendered/development\n",
    )
    assert (project / "rendered/development/.env").is_file()


def test_python_dash_m_runs_the_cli_and_user_mistakes_print_no_traceback(project: Path) -> None:
    result = _run_as_user([sys.executable, "-m", "mantis_render", "validate", "nope"], cwd=project)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "Error: Invalid value for ENV: no profile for environment 'nope'"
    )


# -- one way to name the project and the environments, for every command ----------------------

VALID = "development: valid\nproduction: valid\nstaging: valid\n"


def test_the_project_folder_may_follow_the_command_or_come_from_the_environment(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no profiles/ here
    runner = CliRunner()
    environment = {"VAULT_ADDR": None, "VAULT_TOKEN": None, "MANTIS_RENDER_ROOT": None}

    after = runner.invoke(main, ["validate", "--root", str(project)], env=environment)
    assert (after.exit_code, after.stdout) == (0, VALID)
    from_variable = runner.invoke(
        main, ["validate"], env={**environment, "MANTIS_RENDER_ROOT": str(project)}
    )
    assert (from_variable.exit_code, from_variable.stdout) == (0, VALID)
    nested = runner.invoke(
        main, ["secrets", "audit", "--root", str(project), "staging"], env=environment
    )
    assert (nested.exit_code, nested.stderr) == (
        1,
        "profiles/staging.yaml: audit: its Vault references need Vault (set VAULT_ADDR, and "
        "VAULT_TOKEN, ~/.vault-token or VAULT_ROLE_ID and VAULT_SECRET_ID)\n",
    )
    here = runner.invoke(main, ["validate"], env=environment)
    assert here.exit_code == 2
    assert here.stderr.endswith("Error: no environment profiles in profiles\n")


@pytest.mark.parametrize("command", ["validate", "check", "diff", "verify"])
def test_every_environment_by_default_or_with_all_and_never_both(
    project: Path, cli: CliRun, command: str
) -> None:
    assert cli("render", "--all").exit_code == 0
    default, every = cli(command), cli(command, "--all")
    assert (default.exit_code, default.output) == (every.exit_code, every.output)
    assert default.exit_code == 0
    if command in ("validate", "check"):
        assert sorted(line.split(":")[0] for line in default.stdout.splitlines()) == [
            "development",
            "production",
            "staging",
        ]

    both = cli(command, "staging", "--all")
    assert both.exit_code == 2
    assert "give environment names or --all, not both" in both.stderr


def test_diff_of_every_environment_shows_each_change(project: Path, cli: CliRun) -> None:
    assert cli("render", "--all").exit_code == 0
    base = project / "profiles/_base.yaml"
    base.write_text(base.read_text().replace("  port: 6379\n", "  port: 6380\n", 1))

    result = cli("diff")

    assert result.exit_code == 1
    changed = [line for line in result.stdout.splitlines() if line.startswith("+++ ")]
    folders = {re.search(r"rendered/([a-z]+)/", line) for line in changed}
    assert sorted({match.group(1) for match in folders if match}) == [
        "development",
        "production",
        "staging",
    ]


def test_metavars_say_what_an_option_takes() -> None:
    runner = CliRunner()
    changes = runner.invoke(main, ["changes", "--help"]).stdout
    assert "--base REV" in changes and "--head REV" in changes
    assert "--as-of DATE" in runner.invoke(main, ["secrets", "audit", "--help"]).stdout


def test_secrets_audit_in_json_prints_a_document_even_when_no_store_answers(
    cli: CliRun,
) -> None:
    result = cli("secrets", "audit", "staging", "--format", "json")

    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document == {
        "environment": "staging",
        "secrets": [],
        "certificate": None,
        "problems": [
            {
                "file": "profiles/staging.yaml",
                "line": 0,
                "key": "",
                "message": "audit: its Vault references need Vault (set VAULT_ADDR, and "
                "VAULT_TOKEN, ~/.vault-token or VAULT_ROLE_ID and VAULT_SECRET_ID)",
                "rule": "",
                "severity": "error",
            }
        ],
    }


def test_explain_in_json_prints_a_document_when_the_profile_is_broken(
    project: Path, cli: CliRun
) -> None:
    staging = project / "profiles/staging.yaml"
    staging.write_text(staging.read_text().replace("tier: staging", "tier: stagin", 1))

    result = cli("explain", "staging", "LOG_LEVEL", "--format", "json")

    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["key"], problem["message"]) == (
        "tier",
        "must be one of development, staging, production, not 'stagin'",
    )
