"""The classes of bad input a hostile run found, each fixed as a class (the profile-value classes
are in test_broken_profiles.py's catalogue): many problems, odd entries in profiles/ and
rendered/, templates that are not text, values kustomize or UTF-8 cannot carry, bad options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mantis_render.catalogue.types import MAX_COUNT, MAX_CPUS, MAX_MEMORY_MB
from mantis_render.profiles import problems as schema_problems
from mantis_render.yaml_source import parse_yaml

from .conftest import REPO, CliRun, line_of
from .readers import compose_config, kustomize

QA = "profiles/qa.yaml"


def write_qa(project: Path, body: str) -> str:
    """A qa environment extending development; the schema is checked before any policy."""
    text = "extends: development\n" + body
    (project / QA).write_text(text)
    return text


# 4. Many problems: found in one pass, reported by the first ones and a count.


def test_unknown_keys_are_found_without_cerberus_and_reported_first_and_counted(
    project: Path, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors_recorded = []
    record = schema_problems._ProfileValidator._error
    monkeypatch.setattr(
        schema_problems._ProfileValidator,
        "_error",
        lambda self, *args: (errors_recorded.append(args), record(self, *args))[1],
    )
    text = write_qa(project, "".join(f"unknown_{i}: {i}\n" for i in range(5000)))

    result = cli("validate", "qa")

    assert result.exit_code == 1
    assert errors_recorded == []  # cerberus sorted its list at every error: quadratic
    lines = result.stderr.splitlines()
    assert lines[0] == f"{QA}: 4,900 more problems than the 100 below; fix these first"
    assert lines[1:] == [
        f"{QA}:{line_of(text, f'unknown_{i}:')}: unknown_{i}: unknown key" for i in range(100)
    ]


def test_a_typo_among_many_unknown_keys_still_gets_its_suggestion(
    project: Path, cli: CliRun
) -> None:
    text = write_qa(project, "loglevel: INFO\n" + "".join(f"x{i}: 1\n" for i in range(200)))

    lines = cli("validate", "qa").stderr.splitlines()

    assert (
        lines[1]
        == f"{QA}:{line_of(text, 'loglevel')}: loglevel: unknown key; did you mean 'log_level'?"
    )


def test_a_hundred_thousand_duplicate_keys_are_counted_not_listed(
    project: Path, cli: CliRun
) -> None:
    write_qa(project, "debug: true\n" * 100_001)

    lines = cli("validate", "qa").stderr.splitlines()

    assert lines[0] == f"{QA}: 99,900 more problems than the 100 below; fix these first"
    assert lines[1] == f"{QA}:3: debug: duplicate key (first defined on line 2)"
    assert len(lines) == 101


def test_a_profile_larger_than_any_project_needs_is_refused_before_it_is_parsed(
    project: Path, cli: CliRun
) -> None:
    write_qa(project, "# padding\n" * 1_700_000)
    size = (project / QA).stat().st_size

    result = cli("validate", "qa")

    assert (result.exit_code, result.stderr) == (
        1,
        f"{QA}: {size:,} bytes; a profile is at most 16 MiB (some 45,000 services)\n",
    )


def test_aliases_that_multiply_are_refused_not_expanded(project: Path, cli: CliRun) -> None:
    laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 7)
    )
    text = write_qa(project, laughs)

    result = cli("validate", "qa")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{QA}:{line_of(text, 'a4: &a4')}: a4[7]: aliases repeat more than 100,000 values; "
        "write them out"
    )


# 5. An entry of profiles/ named like a profile that is not a file.


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda path: path.mkdir(), "a folder"),
        (
            lambda path: path.symlink_to("/nonexistent/qa.yaml"),
            "a symlink to /nonexistent/qa.yaml, which does not exist",
        ),
    ],
    ids=["folder", "dangling symlink"],
)
@pytest.mark.parametrize("command", ["render", "validate", "check"])
def test_a_profile_that_is_not_a_file_is_reported_once_and_the_others_work(
    project: Path, cli: CliRun, make: object, why: str, command: str
) -> None:
    make(project / QA)  # type: ignore[operator]
    cli("render", "--all")

    result = cli(command, "staging")
    everything = cli(command, "--all") if command == "render" else cli(command)

    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("Traceback") == 0
    assert everything.stderr.count(f"{QA}: not a profile: {why}") == 1
    assert "staging" in everything.stdout or command == "check"
    named = cli("render", "qa")
    assert named.exit_code == 2
    assert f"{QA} is not a profile: {why}; a profile is a YAML file (or a symlink to one)" in (
        named.stderr
    )


# 6. Templates that are not text, and where a template mistake is.


def test_a_template_that_is_not_utf8_is_one_line_naming_it(project: Path, cli: CliRun) -> None:
    header = project / "templates/_header.j2"
    header.write_bytes(header.read_bytes() + b"# caf\xe9\n")
    lines = header.read_bytes().count(b"\n")

    result = cli("render", "development")

    assert (result.exit_code, result.stderr) == (
        1,
        f"templates/_header.j2:{lines}: not UTF-8 text (invalid continuation byte)\n",
    )
    assert not (project / "rendered").exists()


def test_an_undefined_name_in_an_included_template_is_reported_where_it_is(
    project: Path, cli: CliRun
) -> None:
    header = project / "templates/_header.j2"
    header.write_text(header.read_text() + "{{ not_defined }}\n")
    line = line_of(header.read_text(), "not_defined")

    result = cli("render", "development")

    assert (result.exit_code, result.stderr) == (
        1,
        f"templates/_header.j2:{line}: 'not_defined' is undefined\n",
    )


# 7. rendered/<env> that is not a folder.


def test_a_file_where_the_output_folder_goes_is_refused_and_kept(
    project: Path, cli: CliRun
) -> None:
    (project / "rendered").mkdir()
    (project / "rendered/development").write_text("mine\n")

    result = cli("render", "development")

    assert result.exit_code == 1
    assert result.stderr == (
        f"{project}/rendered/development: cannot write: is a file, not a folder: move it aside "
        "(render replaces the folder whole)\n"
    )
    assert sorted(os.listdir(project / "rendered")) == ["development"]
    assert (project / "rendered/development").read_text() == "mine\n"


def test_a_symlinked_output_folder_is_written_where_it_points_and_stays_a_link(
    project: Path, cli: CliRun, tmp_path: Path
) -> None:
    outside = tmp_path / "gitops/development"
    outside.mkdir(parents=True)
    (project / "rendered").mkdir()
    (project / "rendered/development").symlink_to(outside)

    first = cli("render", "development")
    header = project / "templates/_header.j2"
    header.write_text(header.read_text() + "# changed\n")
    second = cli("render", "development")

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert os.listdir(project / "rendered") == ["development"]
    assert (project / "rendered/development").is_symlink()
    assert sorted(os.listdir(tmp_path / "gitops")) == ["development"]
    assert "# changed\n" in (outside / ".env.example").read_text()
    inside = {p.stat().st_ino for p in project.rglob("*") if p.is_file()}
    assert not inside & {p.stat().st_ino for p in outside.rglob("*")}


def test_a_dangling_symlink_for_the_output_folder_is_refused(project: Path, cli: CliRun) -> None:
    (project / "rendered").mkdir()
    missing = project.parent / "missing"
    (project / "rendered/development").symlink_to(missing)

    result = cli("render", "development")

    assert result.exit_code == 1
    assert result.stderr == (
        f"{project}/rendered/development: cannot write: is a symlink to {missing}, "
        "which is not a folder\n"
    )
    assert not missing.exists()
    assert os.listdir(project / "rendered") == ["development"]


# 8. Values the consumers cannot carry.


def test_a_value_kustomize_cannot_generate_is_refused_with_its_key(
    project: Path, cli: CliRun
) -> None:
    profile = project / "profiles/development.yaml"
    old = "  orchestrator:\n    variables: {JAVA_OPTS: -Xms256m -Xmx512m}\n"
    assert old in profile.read_text()
    text = profile.read_text().replace(
        old, '  orchestrator:\n    variables: {JAVA_OPTS: "\\tone\\ntwo"}\n'
    )
    profile.write_text(text)

    result = cli("render", "development")

    assert (result.exit_code, result.stderr) == (
        1,
        f"profiles/development.yaml:{line_of(text, 'tone')}: "
        "services.orchestrator.variables.JAVA_OPTS: cannot be written to the ConfigMap "
        "(JAVA_OPTS): contains a tab at its start and a line feed, which kubectl "
        "kustomize cannot build into a ConfigMap (its generator fails on it)\n",
    )
    assert not (project / "rendered").exists()


def test_a_resolved_secret_that_is_not_text_is_refused_never_written(
    project: Path, cli: CliRun
) -> None:
    profile = project / "profiles/development.yaml"
    text = profile.read_text().replace(
        "  password: mantis_dev_password\n", "  password: {env: DEV_POSTGRES_PASSWORD}\n"
    )
    profile.write_text(text)

    # An undecodable byte in the environment reaches Python as a lone surrogate.
    result = cli("render", "development", env={"DEV_POSTGRES_PASSWORD": "pw\udc80d"})

    assert (result.exit_code, result.stderr) == (
        1,
        f"profiles/development.yaml:{line_of(text, 'DEV_POSTGRES')}: postgres.password: cannot "
        "be written to .env (POSTGRES_PASSWORD): contains a lone surrogate (U+DC80), which no "
        "UTF-8 file can hold\n",
    )


def test_every_numeric_setting_at_its_bound_reaches_compose_and_kustomize(
    project: Path, cli: CliRun
) -> None:
    base = project / "profiles/_base.yaml"
    data = parse_yaml(base.read_text(), "_base.yaml").data
    for section in data.values():
        if isinstance(section, dict) and "limits" in section:
            section["limits"] = {"cpus": MAX_CPUS, "memory_mb": MAX_MEMORY_MB}
    for service in data["services"].values():
        service["limits"] = {"cpus": MAX_CPUS, "memory_mb": MAX_MEMORY_MB}
    base.write_text(yaml.safe_dump(data, sort_keys=False))
    profile = project / "profiles/development.yaml"
    counted = parse_yaml(profile.read_text(), "development.yaml").data
    for section in ("resources", "performance"):
        counted[section] = dict.fromkeys(counted[section], MAX_COUNT)
    counted["kafka"]["partitions"] = MAX_COUNT
    profile.write_text(yaml.safe_dump(counted, sort_keys=False))

    result = cli("render", "development")

    assert result.exit_code == 0, result.stderr
    folder = project / "rendered/development"
    model = compose_config(
        folder, [REPO / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    )
    limits = model["services"]["orchestrator"]["deploy"]
    assert limits["replicas"] == MAX_COUNT
    assert limits["resources"]["limits"]["memory"] == str(MAX_MEMORY_MB * 2**20)
    assert float(limits["resources"]["limits"]["cpus"]) == MAX_CPUS
    objects = kustomize(folder / "k8s")
    [configmap] = [o for o in objects if o["metadata"]["name"].startswith("mantis-config-")]
    assert configmap["data"]["REPLICAS"] == str(MAX_COUNT)


# Options and references: the judgement calls.


def test_a_missing_root_names_the_missing_folder(cli: CliRun, tmp_path: Path) -> None:
    result = cli("--root", str(tmp_path / "nowhere"), "render", "staging")

    assert result.exit_code == 2
    assert (
        f"no profiles folder {tmp_path}/nowhere/profiles: run from the project root or pass --root"
        in result.stderr
    )


def test_an_empty_out_is_a_usage_error(project: Path, cli: CliRun) -> None:
    result = cli("render", "development", "--out", "")

    assert result.exit_code == 2
    assert "Invalid value for '--out': is empty; name a folder (or leave --out out)" in (
        result.stderr
    )
    assert sorted(os.listdir(project)) == ["compose", "profiles", "templates"]


@pytest.mark.parametrize("spelled", ["~/.mantis/postgres", "{home}/.mantis/postgres"])
def test_a_file_reference_may_point_outside_the_project(
    project: Path, cli: CliRun, tmp_path: Path, spelled: str
) -> None:
    home = tmp_path / "home"
    (home / ".mantis").mkdir(parents=True)
    (home / ".mantis/postgres").write_text("from-outside-7\n")
    profile = project / "profiles/development.yaml"
    profile.write_text(
        profile.read_text().replace(
            "  password: mantis_dev_password\n",
            f"  password: {{file: '{spelled.format(home=home)}'}}\n",
        )
    )

    result = cli("render", "development", env={"HOME": str(home)})

    assert result.exit_code == 0, result.stderr
    assert (
        "POSTGRES_PASSWORD='from-outside-7'\n"
        in (project / "rendered/development/.env").read_text()
    )


def test_a_file_reference_to_something_huge_is_refused(project: Path, cli: CliRun) -> None:
    profile = project / "profiles/development.yaml"
    text = profile.read_text().replace(
        "  password: mantis_dev_password\n", "  password: {file: /dev/zero}\n"
    )
    profile.write_text(text)

    result = cli("render", "development")

    assert (result.exit_code, result.stderr) == (
        1,
        f"profiles/development.yaml:{line_of(text, '/dev/zero')}: postgres.password: "
        "POSTGRES_PASSWORD (file:/dev/zero): /dev/zero is larger than 1 MiB; a secret is short\n",
    )


def test_nothing_is_left_beside_the_environment_folders(project: Path) -> None:
    """After renders that fail in each way above, rendered/ holds only environment folders."""
    rendered = project / "rendered"
    rendered.mkdir()
    (rendered / "staging").write_text("x")
    (rendered / "production").symlink_to(project / "elsewhere")
    command = [str(Path(sys.executable).parent / "mantis-render"), "--root", str(project)]

    for _ in range(2):
        result = subprocess.run([*command, "render", "--all", "--no-resolve"], capture_output=True)
        assert result.returncode == 1

    assert sorted(os.listdir(rendered)) == ["development", "production", "staging"]
