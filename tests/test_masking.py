"""No secret value in review output, whatever a template looks like: diff and changes (every
format) in real git repositories, the templates' spelling of the Secret chosen by hypothesis."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mantis_render.cli import main

from .certificates import tls_pair
from .conftest import REPO, VAULT_VARIABLES

SECRET_TEMPLATE = "templates/k8s/secret.yaml.j2"
SECRET_LINE = "  {{ variable.name }}: {{ variable.value | yaml }}\n"
# Ways a template may spell the Secret's data: none of them is a plain `NAME: value` line.
SPELLINGS = [
    '  "{{ variable.name }}": {{ variable.value | yaml }}\n',
    "  '{{ variable.name }}': {{ variable.value | yaml }}\n",
    "  {{ variable.name | lower }}: {{ variable.value | tojson }}\n",
    "  # {{ variable.name }} is {{ variable.value | urlencode }}\n"
    "  {{ variable.name }}: {{ variable.value | yaml }}\n",
    "  {{ variable.name }}: >-\n    {{ variable.value }}\n",
    "  {{ variable.name }}:   {{ variable.value | yaml }}  # of {{ environment }}\n",
]
DEVELOPMENT_SECRETS = [
    "mantis_dev_password",
    "timescale_dev_password",
    "redis_dev_password",
    "minio_dev_password",
    "grafana_dev_password",
    "mantis_dev_jwt_secret",
]
# Text any output carries as it is (no quote, backslash or $: .env refuses some mixes of them).
ALPHABET = st.characters(
    codec="utf-8",
    categories=("L", "N", "Zs"),
    include_characters="-_.~!@#%^&*()+=[]{}:;,<>?/|",
    exclude_characters="\x85\xa0\u1680\u2028\u2029\u3000",
)
values = st.lists(
    st.text(ALPHABET, min_size=6, max_size=30).map(str.strip).filter(lambda text: len(text) >= 6),
    min_size=len(DEVELOPMENT_SECRETS),
    max_size=len(DEVELOPMENT_SECRETS),
)


def git(folder: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *arguments],
        cwd=folder,
        capture_output=True,
        check=True,
    )


def cli(root: Path, *arguments: str) -> Result:
    return CliRunner().invoke(
        main, ["--root", str(root), *arguments], env=dict.fromkeys(VAULT_VARIABLES)
    )


def with_secrets(text: str, secrets: list[str], marker: str) -> str:
    for index, (old, new) in enumerate(zip(DEVELOPMENT_SECRETS, secrets, strict=True)):
        text = text.replace(
            f" {old}\n", f" {json.dumps(secret_value(marker, index, new), ensure_ascii=False)}\n"
        )
    return text


def secret_value(marker: str, index: int, value: str) -> str:
    """Each distinct, and of this example only: no two secrets may share a value."""
    return f"Qz{marker}{index}~{value}"


def shown(result: Result) -> str:
    assert "Traceback" not in result.output
    return result.stdout + result.stderr


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spelling=st.sampled_from(SPELLINGS), before=values, after=values)
def test_no_secret_value_reaches_any_review_format(
    tmp_path_factory: object, spelling: str, before: list[str], after: list[str]
) -> None:
    root = tmp_path_factory.mktemp("masking")  # type: ignore[attr-defined]
    for folder in ("profiles", "templates", "compose"):
        shutil.copytree(REPO / folder, root / folder)
    template = root / SECRET_TEMPLATE
    template.write_text(template.read_text().replace(SECRET_LINE, spelling))
    profile = root / "profiles/development.yaml"
    original = profile.read_text()
    profile.write_text(with_secrets(original, before, "b"))
    assume(cli(root, "render", "development", "--no-resolve").exit_code == 0)  # YAML it accepts
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    secrets = [secret_value("b", index, value) for index, value in enumerate(before)]
    secrets += [secret_value("a", index, value) for index, value in enumerate(after)]

    # The values change: diff knows the new ones only; the committed files hold the old ones.
    profile.write_text(with_secrets(original, after, "a"))
    outputs = [shown(cli(root, "diff", "development"))]
    outputs += [
        shown(cli(root, "changes", "--base", "HEAD", "development", "--format", output))
        for output in ("text", "markdown", "json")
    ]
    # The template changes beside the secret lines: changes shows the Secret's diff, with them
    # as its context.
    git(root, "add", "-A")
    git(root, "commit", "-qm", "new values")
    template.write_text(template.read_text() + "# reviewed\n")
    outputs += [
        shown(cli(root, "changes", "--base", "HEAD", "development", "--format", output))
        for output in ("text", "markdown", "json")
    ]

    assert "k8s/secret.yaml" in outputs[-3]  # the template's diff is shown
    for output in outputs:
        leaked = [secret for secret in secrets if secret in output]
        assert leaked == [], output


def test_a_changed_development_tls_key_is_masked_in_diff_and_changes(tmp_path: Path) -> None:
    root = tmp_path / "project"
    for folder in ("profiles", "templates", "compose"):
        shutil.copytree(REPO / folder, root / folder)
    profile = root / "profiles/development.yaml"
    text = profile.read_text()
    old, new = tls_pair(["localhost"]), tls_pair(["localhost"])

    def with_tls(pair: dict[str, str]) -> str:
        return (
            text
            + f"tls:\n  certificate: {json.dumps(pair['certificate'])}\n"
            + f"  private_key: {json.dumps(pair['private_key'])}\n"
        )

    profile.write_text(with_tls(old))
    assert cli(root, "render", "development", "--no-resolve").exit_code == 0
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    profile.write_text(with_tls(new))

    diff = shown(cli(root, "diff", "development"))
    reviews = [
        shown(cli(root, "changes", "--base", "HEAD", "--format", output))
        for output in ("text", "markdown", "json")
    ]

    assert '-  tls.key: "***"' in diff.splitlines() or "-  tls.key: ***" in diff.splitlines()
    for output in (diff, *reviews):
        for pair in (old, new):
            body = pair["private_key"].splitlines()[1]  # a line of the key's base64
            assert body not in output
            assert body.replace("/", "\\/") not in output
