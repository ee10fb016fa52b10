"""Rendered output is checked as its readers will check it, before writing and on disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import CliRun, line_of


@dataclass
class Break:
    kind: str
    template: str
    old: str
    new: str
    environment: str
    output: str
    needle: str  # on the line of the rendered output the problem points at
    message: str


BREAKS = [
    Break(
        "Kubernetes Secret",
        "k8s/secret.yaml.j2",
        "type: Opaque\nstringData:\n{% for name, value in service.literal",
        "typ: Opaque\nstringData:\n{% for name, value in service.literal",
        "development",
        "k8s/secret.yaml",
        "typ: Opaque",
        "typ: Kubernetes 1.32.0 schema: Additional properties are not allowed ('typ' was unexpected)",
    ),
    Break(
        "ConfigMap (kustomize generator)",
        "k8s/kustomization.yaml.j2",
        "  - name: {{ project }}-config\n",
        "  - name: {{ project }}-config\n    behaviour: merge\n",
        "staging",
        "k8s/kustomization.yaml",
        "behaviour",
        "configMapGenerator[0].behaviour: kustomization: Additional properties are not allowed ('behaviour' was unexpected)",
    ),
    Break(
        "ConfigMap key",
        "k8s/kustomization.yaml.j2",
        "kustomize_literal(variable.name)",
        "kustomize_literal(variable.name ~ '!')",
        "staging",
        "k8s/kustomization.yaml",
        "ENVIRONMENT!=",
        'configMapGenerator[0].literals[0]: kustomization: "ENVIRONMENT!=staging" does not match "^[-._a-zA-Z0-9]+="',
    ),
    Break(
        "ConfigMap key given twice",
        "k8s/kustomization.yaml.j2",
        "    literals:\n",
        "    literals:\n      - ENVIRONMENT=again\n",
        "staging",
        "k8s/kustomization.yaml",
        '"ENVIRONMENT=staging"',
        "configMapGenerator[0].literals[1]: ENVIRONMENT is given twice",
    ),
    Break(
        "ExternalSecret",
        "k8s/externalsecret.yaml.j2",
        "    creationPolicy: Owner\n{% endif %}\n{% if service.templates %}",
        "    creationPolicy: Owned\n{% endif %}\n{% if service.templates %}",
        "staging",
        "k8s/externalsecret.yaml",
        "Owned",
        "spec.target.creationPolicy: ExternalSecret v1 CRD: 'Owned' is not one of Owner, Orphan, Merge, None",
    ),
    Break(
        "compose override",
        "docker-compose.override.yml.j2",
        "      resources:\n        limits:\n          cpus: {{ service",
        "      resources:\n        limit:\n          cpus: {{ service",
        "staging",
        "docker-compose.override.yml",
        "limit:",
        "services.anomaly-detection.deploy.resources.limit: compose specification: Additional properties are not allowed ('limit' was unexpected)",
    ),
    Break(
        ".env",
        "dotenv.j2",
        "{{ variable.name }}={{ variable.value | dotenv }}",
        "{{ variable.name }}={{ variable.value | dotenv }} # set",
        "development",
        ".env",
        "ENVIRONMENT=",
        ": ENVIRONMENT: has text after its closing quote",
    ),
    Break(
        ".env.example",
        "dotenv.example.j2",
        '("" if variable.secret else variable.value) | dotenv',
        '("x" if variable.secret else variable.value) | dotenv',
        "staging",
        ".env.example",
        "POSTGRES_PASSWORD=",
        "POSTGRES_PASSWORD: reads back differently from the profile's value",
    ),
]


@pytest.mark.parametrize("broken", BREAKS, ids=[broken.kind for broken in BREAKS])
def test_a_broken_template_fails_before_anything_is_written(
    broken: Break, cli: CliRun, project: Path
) -> None:
    assert cli("render", broken.environment).exit_code == 0
    out = project / "rendered" / broken.environment
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    template = project / "templates" / broken.template
    text = template.read_text()
    assert broken.old in text
    template.write_text(text.replace(broken.old, broken.new, 1))

    result = cli("render", broken.environment)

    assert result.exit_code == 1
    [problem] = [line for line in result.stderr.splitlines() if broken.message in line][:1] or [
        result.stderr
    ]
    rendered = _render_text(project, broken)
    first_line = next(n for n, line in enumerate(rendered.splitlines(), 1) if broken.needle in line)
    where = f"rendered/{broken.environment}/{broken.output}:{first_line}"
    separator = "" if broken.message.startswith(":") else ": "
    assert problem == f"{where}{separator}{broken.message} (written by templates/{broken.template})"
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def _render_text(project: Path, broken: Break) -> str:
    """The text the broken template produces, to find the line the problem names."""
    from mantis_render.outputs.render import Renderer, outputs_for
    from mantis_render.profiles import ProfileSet
    from mantis_render.profiles.variables import environment_variables
    from mantis_render.secrets.certificates import tls_files

    profile = ProfileSet(project / "profiles").load(broken.environment)
    variables, tls = environment_variables(profile), tls_files(profile)
    complete = all(variable.value is not None for variable in variables)
    files = Renderer(project / "templates").render(
        profile, variables, outputs_for(variables, complete, tls), tls
    )
    return files[broken.output]


def test_verify_passes_on_fresh_output(cli: CliRun, project: Path) -> None:
    cli("render", "--all")
    result = cli("verify")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "development, production, staging: verified\n",
        "",
    )


def test_verify_checks_what_is_on_disk(cli: CliRun, project: Path) -> None:
    cli("render", "staging", "development")
    external = project / "rendered/staging/k8s/externalsecret.yaml"
    external.write_text(  # the first service's
        external.read_text().replace("    creationPolicy: Owner", "    creationPolicy: Always", 1)
    )
    env_file = project / "rendered/development/.env"
    env_file.write_text(env_file.read_text().replace("LOG_LEVEL='DEBUG'", "LOG_LEVEL=DEBUG"))

    result = cli("verify", "staging", "development")

    out = project / "rendered"
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [  # in the order the environments were named
        f"{out}/staging/k8s/externalsecret.yaml:{line_of(external.read_text(), 'Always')}: spec.target.creationPolicy: "
        "ExternalSecret v1 CRD: 'Always' is not one of Owner, Orphan, Merge, None",
        f"{out}/development/.env:{line_of(env_file.read_text(), 'LOG_LEVEL=')}: is not NAME='value' or NAME=\"value\"",
    ]


def test_verify_json(cli: CliRun, project: Path) -> None:
    cli("render", "staging")
    kustomization = project / "rendered/staging/k8s/kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("  - externalsecret.yaml", "  - externalsecrets.yaml")
    )
    report = json.loads(cli("verify", "staging", "--format", "json").stdout)
    assert report == {
        "problems": [
            {
                "file": f"{project}/rendered/staging/k8s/kustomization.yaml",
                "line": line_of(kustomization.read_text(), "externalsecrets.yaml"),
                "key": "resources[0]",
                "message": "lists externalsecrets.yaml, which this render does not produce",
                "rule": "",
                "severity": "error",
            }
        ]
    }


def test_verify_before_any_render(cli: CliRun, project: Path) -> None:
    result = cli("verify", "staging")
    assert (result.exit_code, result.stderr) == (
        1,
        f"{project}/rendered/staging/: nothing rendered here yet; run: mantis-render render staging\n",
    )


def test_the_dotenv_reader_names_each_malformed_line_and_keeps_counting_lines() -> None:
    from mantis_render.outputs.verify import read_dotenv

    text = (
        "# header\n"
        "\n"
        "A='one'\n"
        'B="two\\\\ \\"lines\n'  # a double-quoted value over two lines, with both escapes
        'and more"\n'
        "C=bare\n"
        "E='x' trailing\n"
        "A='again'\n"
        'F="last"\n'
        "D='never closed"
    )
    values, errors = read_dotenv(text)
    assert values == {
        "A": ("again", 8),
        "B": ('two\\ "lines\nand more', 4),
        "F": ("last", 9),
    }
    assert errors == [
        (6, "is not NAME='value' or NAME=\"value\""),
        (7, "E: has text after its closing quote"),
        (8, "A is set twice"),
        (10, "D: its quoted value is not closed"),
    ]


def test_a_dotenv_is_compared_with_the_profile_only_once_it_reads_back() -> None:
    from mantis_render.outputs.verify import _check_dotenv

    expected = {"A": "one", "B": "two", "C": "three"}
    text = "A='one'\nB='TWO'\nD='four'\n"
    assert [str(p) for p in _check_dotenv(text, ".env", expected)] == [
        ".env:2: B: reads back differently from the profile's value",
        ".env:3: D: is not a variable of the profile",
        ".env: C: is missing",
    ]
    # Malformed or repeated lines are all that is said: the values they give are not trusted.
    text = "A='one'\nB='TWO'\nA='one'\nC=bare\n"
    assert [str(p) for p in _check_dotenv(text, ".env", expected)] == [
        ".env:3: A is set twice",
        ".env:4: is not NAME='value' or NAME=\"value\"",
    ]
    assert _check_dotenv("A='one'\nB='two'\nC='three'\n", ".env", expected) == []


def test_a_later_document_that_does_not_parse_is_one_line_at_its_line_of_the_file(
    cli: CliRun, project: Path
) -> None:
    assert cli("render", "staging").exit_code == 0
    external = project / "rendered/staging/k8s/externalsecret.yaml"
    text = external.read_text()
    second = text.index("\n---\n") + 5
    broken = text[:second] + text[second:].replace(
        "kind: ExternalSecret", "kind: [ExternalSecret", 1
    )
    external.write_text(broken)

    result = cli("verify", "staging")

    opened = line_of(broken, "kind: [ExternalSecret")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{external}:{opened + 1}: rendered YAML does not parse: did not find expected ',' or "
        f"']' (while parsing a flow sequence started on line {opened})\n"
    )
