"""`mantis-render changes`: a change reviewed across git revisions, in real git repositories."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mantis_render.cli import main

from .conftest import REPO, VAULT_VARIABLES, line_of

Run = Callable[..., Result]


def git(folder: Path, *arguments: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A repository holding this project, its rendered/ current, in one commit."""
    root = tmp_path / "repo"
    for folder in ("profiles", "templates", "compose", "rendered"):
        shutil.copytree(REPO / folder, root / folder)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    return root


@pytest.fixture
def run(repository: Path) -> Run:
    def invoke(*arguments: str) -> Result:
        environment: dict[str, str | None] = dict.fromkeys(VAULT_VARIABLES)
        return CliRunner().invoke(main, ["--root", str(repository), *arguments], env=environment)

    return invoke


def edit(root: Path, path: str, old: str, new: str) -> str:
    file = root / path
    text = file.read_text()
    assert old in text, old
    file.write_text(text.replace(old, new, 1))
    return file.read_text()


def commit(root: Path, run: Run, message: str) -> None:
    """Commit the change with its rendered output current, as the project asks."""
    assert run("render", "--all", "--no-resolve").exit_code in (0, 1)
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def test_a_base_change_is_reported_once_for_every_environment(repository: Path, run: Run) -> None:
    base = edit(
        repository,
        "profiles/_base.yaml",
        "    features_computed: features-data\n",
        "    features_computed: features-v2\n",
    )
    commit(repository, run, "the features' topic, version 2")

    result = run("changes", "--base", "HEAD~1", "--head", "HEAD")

    assert result.exit_code == 0, result.output
    line = line_of(base, "features-v2")
    # The topic is read by three services (one writes it, two read it): their ConfigMaps and
    # containers, and the shared ConfigMap.
    effects = [
        "  (and the changes shared with other environments, above)",
        "  -> kustomize renames the changed ConfigMaps and the pods using them roll: "
        "mantis-anomaly-detection-config, mantis-config, mantis-feature-extraction-config, "
        "mantis-rul-prediction-config",
        "  -> docker compose up -d recreates: anomaly-detection, feature-extraction, "
        "rul-prediction",
    ]
    assert result.stdout.splitlines() == [
        "Changes from HEAD~1 to HEAD",
        "development, production, staging: ~ KAFKA_TOPIC_FEATURES_COMPUTED: features-data -> "
        f"features-v2  (profiles/_base.yaml:{line})",
        "development:",
        *effects,
        "production:",
        *effects,
        "staging:",
        *effects,
    ]


def test_secrets_show_their_reference_or_only_that_the_value_changed(
    repository: Path, run: Run
) -> None:
    staging = edit(
        repository,
        "profiles/staging.yaml",
        "{vault: mantis/staging/postgres, key: password}",
        "{vault: mantis/staging/db, key: password}",
    )
    development = edit(
        repository,
        "profiles/development.yaml",
        "  password: mantis_dev_password\n",
        "  password: a-new-dev-secret-4711\n",
    )

    result = run("changes", "--base", "HEAD", "staging", "development")

    assert result.exit_code == 0, result.output
    assert "mantis_dev_password" not in result.output
    assert "a-new-dev-secret-4711" not in result.output
    readers = "dashboard-api-secrets, mantis-ingestion-iiot-secrets, mantis-orchestrator-secrets, "
    recreated = (
        "  -> docker compose up -d recreates: dashboard-api, ingestion-iiot, mlflow, orchestrator, "
        "postgres, preprocessing"
    )
    lines = result.stdout.splitlines()
    assert lines[lines.index("staging:") + 1 :][:3] == [
        f"  ~ POSTGRES_PASSWORD: vault:mantis/staging/postgres#password -> "
        f"vault:mantis/staging/db#password  (profiles/staging.yaml:{line_of(staging, 'staging/db')})",
        f"  -> the changed ExternalSecrets re-sync their secrets: mantis-{readers}"
        "mantis-preprocessing-secrets",
        recreated,
    ]
    assert (
        f"  ~ POSTGRES_PASSWORD: (value changed)  "
        f"(profiles/development.yaml:{line_of(development, 'a-new-dev-secret')})"
    ) in lines
    assert lines[-2:] == [
        "  -> the changed Secrets reach running pods only when they restart: "
        f"mantis-{readers}mantis-preprocessing-secrets",
        recreated,
    ]


def test_a_template_change_shows_its_masked_diff(repository: Path, run: Run) -> None:
    edit(
        repository,
        "templates/k8s/secret.yaml.j2",
        "stringData:\n{% for name, value in service.literal %}",
        "# reviewed\nstringData:\n{% for name, value in service.literal %}",
    )

    result = run("changes", "--base", "HEAD", "development")

    assert result.exit_code == 0, result.output
    assert "mantis_dev_password" not in result.output
    lines = result.stdout.splitlines()
    assert lines.count("  +# reviewed") == 4  # one Secret for each service that reads one
    assert "     SPRING_DATASOURCE_PASSWORD: ***" in lines
    assert "     MQTT_PASSWORD: ***" in lines


def test_environments_added_and_removed(repository: Path, run: Run) -> None:
    assert run("new", "qa", "--from", "staging").exit_code == 0
    git(repository, "rm", "-q", "profiles/production.yaml")

    result = run("changes", "--base", "HEAD")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "production: removed (was tier production)" in lines
    assert "qa: added (tier staging)" in lines


def test_an_invalid_profile_at_head_is_a_finding_not_a_crash(repository: Path, run: Run) -> None:
    text = edit(repository, "profiles/staging.yaml", "log_level: INFO", "log_level: LOUD")

    result = run("changes", "--base", "HEAD", "staging")

    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:3] == [
        "staging:",
        f"  invalid at head: profiles/staging.yaml:{line_of(text, 'LOUD')}: log_level: must be one "
        "of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'LOUD'",
    ]


def test_stale_committed_output_is_said_first(repository: Path, run: Run) -> None:
    edit(repository, "profiles/staging.yaml", "log_level: INFO", "log_level: ERROR")

    result = run("changes", "--base", "HEAD", "staging")

    assert result.stdout.splitlines()[1] == (
        "stale at the working tree: rendered/staging/.env.example: stale "
        "(rendered/ is not what the profiles render)"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--base", "no-such-branch"], "Error: unknown revision 'no-such-branch'"),
        (["--head", "v9.9"], "Error: unknown revision 'v9.9'"),
    ],
)
def test_unknown_revisions_are_usage_errors(run: Run, arguments: list[str], message: str) -> None:
    result = run("changes", *arguments)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == message


def test_outside_a_repository_it_says_so(tmp_path: Path) -> None:
    for folder in ("profiles", "templates"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "changes", "--base", "HEAD"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: {tmp_path} is not in a git repository; changes compares git revisions"
    )


def test_a_shallow_clone_without_the_base_says_how_to_fetch_it(
    repository: Path, run: Run, tmp_path: Path
) -> None:
    edit(repository, "profiles/_base.yaml", "  port: 6379\n", "  port: 6380\n")
    commit(repository, run, "second")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repository}", str(shallow))

    result = CliRunner().invoke(main, ["--root", str(shallow), "changes", "--base", "HEAD~1"])

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: unknown revision 'HEAD~1': this clone is shallow; fetch the history it needs "
        "(git fetch --unshallow, or git fetch --deepen=50), then run again"
    )


def test_the_default_base_is_the_commit_before_without_an_upstream(
    repository: Path, run: Run
) -> None:
    edit(repository, "profiles/_base.yaml", "  port: 6379\n", "  port: 6380\n")
    commit(repository, run, "second")

    result = run("changes")

    first = git(repository, "rev-parse", "HEAD~1").strip()[:12]
    assert result.stdout.splitlines()[0] == f"Changes from {first} to the working tree"
    assert "REDIS_PORT: 6379 -> 6380" in result.stdout


def test_json_has_the_documented_shape_and_markdown_a_table(repository: Path, run: Run) -> None:
    edit(repository, "profiles/_base.yaml", "  port: 6379\n", "  port: 6380\n")

    document = json.loads(run("changes", "--base", "HEAD", "--format", "json").stdout)
    markdown = run("changes", "--base", "HEAD", "--format", "markdown").stdout

    schema = json.loads((REPO / "schemas/changes.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert [e["name"] for e in document["environments"]] == ["development", "production", "staging"]
    assert document["shared"][0]["environments"] == ["development", "production", "staging"]
    assert "| environment | status | added | changed | removed | rolls |" in markdown
    assert "<details><summary><b>staging</b>: changed</summary>" in markdown


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.text(
        st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="'\\$`"),
        min_size=12,
        max_size=24,
    ),
    after=st.text(
        st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="'\\$`"),
        min_size=12,
        max_size=24,
    ),
)
def test_no_secret_value_appears_in_any_format(
    tmp_path_factory: pytest.TempPathFactory, before: str, after: str
) -> None:
    # A marker of its own: a value like "kustomizatio" is also part of a file name printed.
    before, after = f"Qz~{before}", f"Qz~{after}"
    root = tmp_path_factory.mktemp("secret-repo")
    for folder in ("profiles", "templates", "compose"):
        shutil.copytree(REPO / folder, root / folder)
    profile = root / "profiles/development.yaml"
    original = profile.read_text()
    profile.write_text(original.replace("mantis_dev_password", f"'{before}'"))
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    profile.write_text(original.replace("mantis_dev_password", f"'{after}'"))
    for output in ("text", "markdown", "json"):
        result = CliRunner().invoke(
            main, ["--root", str(root), "changes", "--base", "HEAD", "--format", output]
        )
        assert result.exit_code == 0, result.output
        assert before not in result.output and after not in result.output


def test_policy_findings_introduced_and_waivers_added_are_reported(
    repository: Path, run: Run
) -> None:
    text = edit(repository, "profiles/staging.yaml", "security:\n", "security:\n  tls: false\n")
    production = (repository / "profiles/production.yaml").read_text() + (
        "waivers:\n  - rule: production-replicas\n    reason: single-node pilot until March\n"
    )
    (repository / "profiles/production.yaml").write_text(production)

    result = run("changes", "--base", "HEAD", "staging", "production")
    gated = run("changes", "--base", "HEAD", "--fail-on", "policy")

    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert (
        f"  policy, new: profiles/staging.yaml:{line_of(text, 'tls: false')}: security.tls: "
        "must be true in staging [staging-tls]"
    ) in lines
    assert "  waiver added: production-replicas: single-node pilot until March" in lines
    assert gated.exit_code == 1


def test_a_policy_error_fixed_is_reported_and_does_not_fail_the_gate(
    repository: Path, run: Run
) -> None:
    path = repository / "profiles/staging.yaml"
    original = path.read_text()
    edit(repository, "profiles/staging.yaml", "security:\n", "security:\n  tls: false\n")
    commit(repository, run, "tls off")
    path.write_text(original)

    result = run("changes", "--base", "HEAD", "--fail-on", "policy", "staging")

    assert result.exit_code == 0
    assert any(line.startswith("  policy, fixed: ") for line in result.stdout.splitlines())


@pytest.mark.parametrize("name", ["nosuch", "../x"])
def test_an_environment_at_neither_revision_is_a_usage_error(run: Run, name: str) -> None:
    result = run("changes", "--base", "HEAD", name)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for ENV: no environment '{name}' at either revision "
        "(known: development, production, staging)"
    )


# -- revisions are read from the git objects as committed ------------------------------------


@pytest.mark.parametrize("target", ["/etc/hostname", "../../outside.yaml"])
def test_a_committed_profile_symlink_out_of_the_tree_is_that_environment_s_finding(
    repository: Path, run: Run, target: str
) -> None:
    (repository / "profiles/zz.yaml").symlink_to(target)
    git(repository, "add", "-A")
    git(repository, "commit", "-qm", "a link")
    edit(repository, "profiles/_base.yaml", "  port: 6379\n", "  port: 6380\n")
    commit(repository, run, "redis on 6380")

    result = run("changes", "--base", "HEAD~1", "--head", "HEAD")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    finding = (
        f"profiles/zz.yaml: not a profile: a symlink to {target}, outside the repository: a "
        "revision is read as committed, and what it points to is not"
    )
    assert lines[-3:] == ["zz:", f"  invalid at base: {finding}", f"  invalid at head: {finding}"]
    assert "development, production, staging: ~ REDIS_PORT: 6379 -> 6380" in result.stdout


def test_a_profile_symlink_inside_the_tree_is_read_as_what_it_points_to(
    repository: Path, run: Run
) -> None:
    assert run("new", "qa", "--from", "staging").exit_code == 0  # its own secret references
    (repository / "profiles/kept").mkdir()
    (repository / "profiles/qa.yaml").rename(repository / "profiles/kept/qa.yaml")
    (repository / "profiles/qa.yaml").symlink_to("kept/qa.yaml")
    commit(repository, run, "qa, kept in a folder")
    edit(repository, "profiles/kept/qa.yaml", "log_level: INFO", "log_level: ERROR")
    commit(repository, run, "quieter")

    result = run("changes", "--base", "HEAD~1", "--head", "HEAD", "qa")

    assert result.exit_code == 0, result.output
    assert "  ~ LOG_LEVEL: INFO -> ERROR  (profiles/qa.yaml:" in result.stdout


def test_gitattributes_do_not_change_what_a_revision_holds(repository: Path, run: Run) -> None:
    # git archive honours both: export-ignore hides files, export-subst rewrites them.
    (repository / ".gitattributes").write_text(
        "rendered/** export-ignore\nprofiles/_base.yaml export-ignore\n"
        "profiles/staging.yaml export-subst\n"
    )
    edit(repository, "profiles/staging.yaml", "log_level: INFO", "log_level: INFO  # $Format:%H$")
    commit(repository, run, "attributes")
    edit(repository, "profiles/_base.yaml", "  port: 6379\n", "  port: 6380\n")
    commit(repository, run, "redis on 6380")

    result = run("changes", "--base", "HEAD~1", "--head", "HEAD")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert not [line for line in lines if "stale" in line or "removed" in line or "invalid" in line]
    assert lines[1].startswith("development, production, staging: ~ REDIS_PORT: 6379 -> 6380")


# -- the gate, its options, and the size of a comment ----------------------------------------


def test_the_policy_gate_fails_when_a_profile_no_longer_parses_at_head(
    repository: Path, run: Run
) -> None:
    edit(repository, "profiles/staging.yaml", "log_level: INFO", "log_level: [INFO")

    gated = run("changes", "--base", "HEAD", "--fail-on", "policy")
    report = run("changes", "--base", "HEAD")

    assert (gated.exit_code, report.exit_code) == (1, 0)
    assert "staging:\n  invalid at head: profiles/staging.yaml:" in gated.stdout


@pytest.mark.parametrize("option", ["--base", "--head"])
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_revision_is_a_usage_error(run: Run, option: str, value: str) -> None:
    result = run("changes", option, value)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: {option} is empty: name a revision, or leave {option} out"
    )


def test_a_markdown_comment_stays_under_githubs_limit_and_says_what_was_cut(
    repository: Path, run: Run
) -> None:
    template = repository / "templates/k8s/kustomization.yaml.j2"
    padding = "".join(f"# padding line {i:05} of a long template change\n" for i in range(2000))
    template.write_text(padding + template.read_text())
    commit(repository, run, "a long template change")

    markdown = run("changes", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown")
    text = run("changes", "--base", "HEAD~1", "--head", "HEAD")

    assert markdown.exit_code == 0, markdown.output
    assert len(markdown.stdout) <= 65_536
    lines = markdown.stdout.splitlines()
    assert "| development | changed | 0 | 0 | 0 | — |" in lines
    assert "| staging | changed | 0 | 0 | 0 | — |" in lines
    assert lines[-1].startswith("> **Cut to fit a comment (65,536 characters)**: ")
    assert lines[-1].endswith(
        "The whole report: `mantis-render changes --format text` (or `--format json`)."
    )
    assert lines.count("- (its diff is cut to fit the comment)") >= 1
    assert text.stdout.count("padding line 01999") == 3  # the text report keeps every diff
