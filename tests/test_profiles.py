"""extends: deep merge, the environment wins, lists replace, and every value keeps its origin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mantis_render.profiles import Location, ProfileSet

from .conftest import REPO, CliRun


@pytest.fixture
def profiles(tmp_path: Path) -> ProfileSet:
    (tmp_path / "_root.yaml").write_text("a:\n  x: 1\n  y: [1, 2]\n  z: {p: 1}\nb: base\n")
    (tmp_path / "_mid.yaml").write_text("extends: _root\na:\n  x: 2\n")
    (tmp_path / "env.yaml").write_text("extends: _mid\n\na:\n  y: [3]\n  z: flat\nc: own\n")
    shutil.copy(REPO / "profiles/_catalogue.yaml", tmp_path)  # loading reads it; merging not
    return ProfileSet(tmp_path)


def test_merge_is_deep_environment_wins_and_lists_replace(profiles: ProfileSet) -> None:
    assert profiles.load("env").data == {
        "a": {"x": 2, "y": [3], "z": "flat"},
        "b": "base",
        "c": "own",
    }


def test_every_key_points_at_the_file_and_line_that_set_it(profiles: ProfileSet) -> None:
    locations = profiles.load("env").locations
    assert locations == {
        ("a",): Location("profiles/env.yaml", 3),
        ("a", "x"): Location("profiles/_mid.yaml", 3),
        ("a", "y"): Location("profiles/env.yaml", 4),
        ("a", "y", 0): Location("profiles/env.yaml", 4),
        ("a", "z"): Location("profiles/env.yaml", 5),
        ("b",): Location("profiles/_root.yaml", 5),
        ("c",): Location("profiles/env.yaml", 6),
    }


def test_sources_list_the_chain_base_first(profiles: ProfileSet) -> None:
    assert profiles.load("env").sources == (
        "profiles/_root.yaml",
        "profiles/_mid.yaml",
        "profiles/env.yaml",
    )


def test_partial_profiles_are_not_environments(profiles: ProfileSet) -> None:
    assert profiles.environments() == ["env"]


def test_misnamed_profile_files_are_reported_not_skipped(
    profiles: ProfileSet, tmp_path: Path
) -> None:
    (tmp_path / "QA.yaml").write_text("a: 1\n")
    (tmp_path / "qa.yml").write_text("a: 1\n")
    problems = [str(problem) for problem in profiles.misnamed_files()]
    assert problems == [
        "profiles/QA.yaml: an environment name is lowercase letters, digits and '-' (at most 56), "
        "and a partial profile's name starts with '_'",
        "profiles/qa.yml: profiles use the .yaml extension",
    ]


def test_secret_variables_are_the_secrets_of_environment_variables() -> None:
    """Other environments are kept for the run as their secrets only: the same variables."""
    from mantis_render.profiles.variables import environment_variables, secret_variables

    profiles = ProfileSet(REPO / "profiles")
    for name in profiles.environments():
        profile = profiles.load(name)
        # (not the composed ones: made from these, never compared across environments)
        secrets = [v for v in environment_variables(profile) if v.secret and v.source != "composed"]
        assert secret_variables(profile) == secrets
        assert len(secrets) == 9


def test_a_reference_replaces_the_reference_it_overrides_whole(project: Path, cli: CliRun) -> None:
    """{aws: ...} over a base's {vault: ..., key: ...} is the AWS secret, not both."""
    assert cli("new", "qa", "--from", "staging").exit_code == 0
    # qa's profile becomes a partial one that qa2 alone extends: no secret is shared.
    (project / "profiles/qa.yaml").rename(project / "profiles/_qa.yaml")
    (project / "profiles/qa2.yaml").write_text(
        "extends: _qa\npostgres:\n  password: {aws: mantis/qa2/postgres}\n"
        "redis:\n  password: {env: MANTIS_QA2_REDIS}\n"
        "secrets:\n  stores:\n    vault:\n      mount: kv\n"
    )
    result = cli("explain", "qa2", "POSTGRES_PASSWORD")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "POSTGRES_PASSWORD = aws:mantis/qa2/postgres"
    assert cli("explain", "qa2", "REDIS_PASSWORD").stdout.splitlines()[0] == (
        "REDIS_PASSWORD = env:MANTIS_QA2_REDIS"
    )
    # A mapping of settings that names a store still merges: without the base's
    # external_secrets beside the new mount, secrets.stores.vault would be invalid.
    validated = cli("validate", "qa2")
    assert (validated.exit_code, validated.stderr) == (0, "")
