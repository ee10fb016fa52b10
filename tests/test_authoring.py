"""docs, schema, new, and the command line's manners: version, completion, quiet, verbose, colour."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from mantis_render import __version__
from mantis_render.catalogue.json_schema import profile_json_schema
from mantis_render.cli import common, main
from mantis_render.errors import MantisRenderError
from mantis_render.profiles import ProfileSet
from mantis_render.profiles.validation import validate_profile
from mantis_render.project import Project
from mantis_render.yaml_source import parse_yaml

from .conftest import REPO, CliRun
from .test_broken_profiles import CASES, STAGING

CATALOGUE = ProfileSet(REPO / "profiles").catalogue  # the shipped one
PROFILE_FILES = sorted(p for p in (REPO / "profiles").glob("*.yaml") if p.stem != "_catalogue")


def test_committed_variable_reference_is_current() -> None:
    assert (REPO / "docs/variables.md").read_text() == Project(REPO).variable_reference(), (
        "run: mantis-render docs"
    )


def test_variable_reference_reproduces_the_guides_tables_without_secrets() -> None:
    text = (REPO / "docs/variables.md").read_text()
    assert (
        "| `KAFKA_PARTITIONS` | Partitions per topic | integer 1 to 2147483647 |  | 3 | 6 | 12 |"
        in text
    )
    assert (
        "| `REPLICAS` | Replicas of each MANTIS service | integer 1 to 2147483647 |  | 1 | 2 | 3 |"
        in text
    )
    assert (
        "| `MONITORING_ELK` | ELK stack | off / optional / recommended / required |  | off | optional | required |"
        in text
    )
    assert (
        "| `POSTGRES_PASSWORD` | PostgreSQL password | text or reference | yes | (literal, hidden) | "
        "`vault:mantis/staging/postgres#password` | `vault:mantis/production/postgres#password` |"
    ) in text
    assert "mantis_dev_password" not in text


def test_docs_check_fails_when_stale(cli: CliRun, project: Path) -> None:
    assert cli("docs").exit_code == 0
    assert cli("docs", "--check").exit_code == 0
    profile = project / STAGING
    profile.write_text(profile.read_text().replace("  partitions: 6", "  partitions: 8"))
    result = cli("docs", "--check")
    assert (result.exit_code, result.stderr) == (
        1,
        f"{project / 'docs/variables.md'}: stale; run: mantis-render docs\n",
    )


def test_committed_json_schemas_are_current() -> None:
    for name, per_file in (("profile.schema.json", False), ("profile-file.schema.json", True)):
        committed = json.loads((REPO / "schemas" / name).read_text())
        assert committed == profile_json_schema(CATALOGUE, per_file), (
            f"run: mantis-render schema ({name})"
        )


def test_every_profile_names_the_schema_for_its_editor() -> None:
    for path in PROFILE_FILES:
        assert (
            path.read_text().splitlines()[0]
            == "# yaml-language-server: $schema=../schemas/profile-file.schema.json"
        )


def test_editor_schema_accepts_every_shipped_file_as_written() -> None:
    validator = jsonschema.Draft202012Validator(profile_json_schema(CATALOGUE, per_file=True))
    for path in PROFILE_FILES:
        assert list(validator.iter_errors(parse_yaml(path.read_text(), path.name).data)) == [], (
            path.name
        )


def _verdicts(profiles: ProfileSet, name: str) -> tuple[bool, bool] | None:
    """(cerberus says valid, JSON Schema says valid) for a merged profile; None if it does not load."""
    try:
        profile = profiles.load(name)
    except MantisRenderError:
        return None  # YAML syntax, duplicate keys, extends: neither schema is reached
    cerberus_valid = not [
        p for p in validate_profile(profile) if "gives the variable" not in p.message
    ]
    json_valid = jsonschema.Draft202012Validator(profile_json_schema(CATALOGUE)).is_valid(
        profile.data
    )
    return cerberus_valid, json_valid


def test_json_schema_and_cerberus_agree_on_the_shipped_profiles() -> None:
    profiles = ProfileSet(REPO / "profiles")
    for name in profiles.environments():
        assert _verdicts(profiles, name) == (True, True), name


# What JSON Schema cannot say: JSON has no NaN or infinity, so the editor's schema takes YAML's
# `.nan` for a number (and `.inf` where no maximum bounds it); the command line refuses both.
JSON_SCHEMA_CANNOT_TELL = {"not a number: NaN where a number is expected"}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_json_schema_and_cerberus_agree_on_every_broken_profile(
    case: object, tmp_path: Path
) -> None:
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    profile = tmp_path / STAGING
    profile.write_text(case.edit(profile.read_text()))  # type: ignore[attr-defined]
    verdicts = _verdicts(ProfileSet(tmp_path / "profiles"), "staging")
    if case.id in JSON_SCHEMA_CANNOT_TELL:  # type: ignore[attr-defined]
        assert verdicts == (False, True)
    elif verdicts is not None:
        cerberus_valid, json_valid = verdicts
        assert cerberus_valid == json_valid


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"mantis-render, version {__version__}\n")


def test_help_fits_one_screen_and_shows_the_workflows() -> None:
    lines = CliRunner().invoke(main, ["--help"]).stdout.splitlines()
    assert len(lines) <= 45
    listed = lines[lines.index("Commands:") + 1 :]
    assert [line.split()[0] for line in listed] == sorted(main.commands)
    assert [line for line in listed if line.endswith("...")] == []  # whole summaries
    assert (
        "    mantis-render check                 is the committed rendered/ current? (CI, pre-commit)"
        in lines
    )


def test_tab_completion_offers_environment_names(project: Path) -> None:
    script = shutil.which("mantis-render", path=str(Path(sys.executable).parent))
    assert script
    environment = {
        **os.environ,
        "_MANTIS_RENDER_COMPLETE": "bash_complete",
        "COMP_WORDS": "mantis-render render st",
        "COMP_CWORD": "2",
    }
    result = subprocess.run(
        [script], cwd=project, env=environment, capture_output=True, text=True, check=True
    )
    assert result.stdout == "plain,staging\n"
    environment |= {"COMP_WORDS": "mantis-render explain ", "COMP_CWORD": "2"}
    result = subprocess.run(
        [script], cwd=project, env=environment, capture_output=True, text=True, check=True
    )
    assert result.stdout == "plain,development\nplain,production\nplain,staging\n"


def test_quiet_prints_problems_only_and_verbose_lists_files(cli: CliRun, project: Path) -> None:
    quiet = cli("-q", "render", "--all")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    profile = project / STAGING
    profile.write_text(profile.read_text().replace("  partitions: 6", "  partitions: 8"))
    verbose = cli("-v", "render", "staging")
    out = project / "rendered/staging"
    assert verbose.stdout.splitlines() == [
        f"staging: wrote 3 files to {out}",
        f"  wrote {out / '.env.example'}",
        f"  wrote {out / 'docker-compose.override.yml'}",
        f"  wrote {out / 'k8s/kustomization.yaml'}",
    ]
    profile.write_text(profile.read_text().replace("log_level: INFO", "log_level: LOUD"))
    assert cli("-q", "validate", "staging").stderr.startswith("profiles/staging.yaml:")


@pytest.mark.parametrize(
    ("tty", "no_color", "expected"), [(True, None, True), (True, "1", False), (False, None, False)]
)
def test_colour_only_on_a_terminal_without_no_color(
    tty: bool, no_color: str | None, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    assert common.use_color() is expected


def test_new_environment_from_staging_is_valid_and_has_its_own_vault_paths(
    cli: CliRun, project: Path
) -> None:
    result = cli("new", "qa", "--from", "staging")

    assert (result.exit_code, result.stdout) == (
        0,
        f"qa: created {project / 'profiles/qa.yaml'} from staging; next: mantis-render validate qa\n",
    )
    text = (project / "profiles/qa.yaml").read_text()
    assert text.splitlines()[:2] == [
        "# yaml-language-server: $schema=../schemas/profile-file.schema.json",
        "# Created from profiles/staging.yaml by `mantis-render new qa --from staging`.",
    ]
    assert "tier: staging\n" in text
    assert "  password: {vault: mantis/qa/postgres, key: password}\n" in text
    assert "  host: postgres.qa.mantis.internal\n" in text
    assert (
        cli("validate").stdout
        == "development: valid\nproduction: valid\nqa: valid\nstaging: valid\n"
    )


def test_a_new_development_environment_gets_fresh_literal_secrets(
    cli: CliRun, project: Path
) -> None:
    """Copied, development's literal passwords would be shared by two environments
    (no-shared-secrets): each is generated anew, as secrets init would."""
    from mantis_render.policy.staging import MIN_CLASSES, MIN_LENGTH
    from mantis_render.profiles import ProfileSet
    from mantis_render.profiles.variables import environment_variables

    assert cli("new", "sandbox", "--from", "development").exit_code == 0
    text = (project / "profiles/sandbox.yaml").read_text()
    assert text.count("  # generated by mantis-render new\n") == 9  # every literal secret
    profiles = ProfileSet(project / "profiles")
    old, new = (
        {v.name: v.value for v in environment_variables(profiles.load(name)) if v.secret}
        for name in ("development", "sandbox")
    )
    for name in (
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "MINIO_SECRET_KEY",
        "INFLUXDB_TOKEN",
        "MQTT_PASSWORD",
        "JWT_SECRET",
    ):
        value = new[name]
        assert value != old[name] and value is not None and value.isalnum()
        kinds = sum(any(t(c) for c in value) for t in (str.islower, str.isupper, str.isdigit))
        assert len(value) >= MIN_LENGTH and kinds >= MIN_CLASSES
    assert cli("validate", "sandbox", "development").exit_code == 0


def test_new_never_overwrites_and_checks_its_names(cli: CliRun, project: Path) -> None:
    result = cli("new", "production", "--from", "staging")
    assert (result.exit_code, result.stderr) == (
        1,
        f"{project / 'profiles/production.yaml'}: exists already; choose another name\n",
    )
    assert cli("new", "QA", "--from", "staging").exit_code == 2
    assert cli("new", "qa", "--from", "nope").exit_code == 2
    assert not (project / "profiles/qa.yaml").exists()


def test_schema_check_fails_when_stale_and_writes_nothing(cli: CliRun, project: Path) -> None:
    result = cli("schema", "--check")
    assert result.exit_code == 1
    assert (
        result.stderr.splitlines()[0]
        == f"{project / 'schemas/profile.schema.json'}: stale; run: mantis-render schema"
    )
    assert not (project / "schemas").exists()
    assert cli("schema").exit_code == 0
    assert (cli("schema", "--check").exit_code, cli("schema", "--check").stderr) == (0, "")
