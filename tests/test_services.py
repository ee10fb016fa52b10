"""Services are data: each gives PORT_<NAME> and its own variables, so the platform can grow.

A project whose catalogue declares no service (the starter `init` writes) gives each one
``<SERVICE>_<KEY>`` variables and the shared environment; the shipped MANTIS catalogue declares
what each service reads (tests/test_declared_services.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mantis_render.cli import main

from .conftest import REPO, CliRun, line_of
from .readers import read_with_python_dotenv


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A new project from the starter, whose catalogue declares no service."""
    root = tmp_path / "project"
    result = CliRunner().invoke(main, ["init", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return root


def add_service(project: Path, text: str) -> str:
    base = project / "profiles/_base.yaml"
    base.write_text(base.read_text().replace("services:\n", "services:\n" + text, 1))
    return base.read_text()


def test_a_new_service_brings_its_port_and_variables_everywhere(cli: CliRun, project: Path) -> None:
    add_service(
        project,
        "  alarm_router:\n    port: 8017\n    limits: {cpus: 0.5, memory_mb: 256}\n"
        "    variables: {QUEUE: alarms.high, RETRIES: 3}\n",
    )

    assert cli("render", "development").exit_code == 0

    values = read_with_python_dotenv(project / "rendered/development/.env")
    assert (
        values["PORT_ALARM_ROUTER"],
        values["ALARM_ROUTER_QUEUE"],
        values["ALARM_ROUTER_RETRIES"],
    ) == ("8017", "alarms.high", "3")
    override = (project / "rendered/development/docker-compose.override.yml").read_text()
    assert "  alarm-router:\n    env_file: [.env]\n" in override
    explained = cli("explain", "development", "ALARM_ROUTER_QUEUE").stdout.splitlines()[:2]
    assert explained[1].endswith("  services.alarm_router.variables.QUEUE")


def test_service_mistakes_are_located(cli: CliRun, project: Path) -> None:
    text = add_service(
        project,
        "  Alarm-Router: {port: 8007, limits: {cpus: 0.5, memory_mb: 256}}\n"
        "  router: {prot: 8008, limits: {cpus: 0.5, memory_mb: 256}}\n",
    )
    result = cli("validate", "development")
    assert result.stderr.splitlines() == [
        f"profiles/_base.yaml:{line_of(text, 'Alarm-Router')}: services.Alarm-Router: must match the pattern [a-z][a-z0-9_]{{0,40}}",
        # A part missing from an entry declared by name is reported at that entry, in the file
        # that declares it (other missing keys, in the environment's own file).
        f"profiles/_base.yaml:{line_of(text, 'prot:')}: services.router.port: required key is missing",
        f"profiles/_base.yaml:{line_of(text, 'prot:')}: services.router.prot: unknown key; did you mean 'port'?",
    ]


def test_a_service_variable_cannot_shadow_another_variable(cli: CliRun, project: Path) -> None:
    text = add_service(
        project,
        "  database:\n    port: 9101\n    limits: {cpus: 0.5, memory_mb: 128}\n    variables: {HOST: db.local}\n",
    )
    result = cli("validate", "development")
    assert result.stderr == (
        f"profiles/_base.yaml:{line_of(text, 'HOST: db.local')}: services.database.variables.HOST: gives the variable "
        "DATABASE_HOST, which database.host gives already\n"
    )


CORE_IMPORTS_PROBE = (
    "import sys; from mantis_render.cli import main; {command}; "
    "print(sorted(m for m in ('cerberus', 'jinja2', 'yaml', 'hvac', 'jsonschema') if m in sys.modules))"
)


def test_help_imports_none_of_the_core() -> None:
    """--help must cost little more than click: the pipeline is imported by the commands."""
    probe = CORE_IMPORTS_PROBE.format(command="pass")
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"


def test_list_imports_none_of_the_core() -> None:
    """list only reads the names in profiles/: no YAML parser, schema or template engine."""
    probe = CORE_IMPORTS_PROBE.format(
        command=f"main(['--root', {str(REPO)!r}, 'list'], standalone_mode=False)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout == "development\nproduction\nstaging\n[]\n"


def test_report_formats_match_the_reporters() -> None:
    from mantis_render.layout import REPORT_FORMATS
    from mantis_render.reporters import REPORTER_BY_NAME

    assert sorted(REPORT_FORMATS) == sorted(REPORTER_BY_NAME)


def test_benchmark_smoke_run(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench/run.py"),
            "--sizes",
            "10",
            "--runs",
            "1",
            "--no-peers",  # Kapitan is installed in .venv-bench only
            "--json",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[1].startswith(
        "| services | render --all | validate |   check | changes | peak memory |"
    )
    assert lines[3].startswith("|       10 |")
    assert lines[5].startswith("| target ")
    targets = [line.split("|")[1].strip() for line in lines[7:10]]
    assert targets == [
        "`render --all`, shipped profiles: well under 0.5 s (at most 0.35 s)",
        "`--help` under 1.3 x `python -c 'import click'`",
        "`list` under 1.3 x `python -c 'import click'`",
    ]
    report = json.loads((tmp_path / "r.json").read_text())
    assert [size["services"] for size in report["sizes"]] == [10]
    assert {"shipped_render_all_s", "help_s", "list_s", "import_click_s"} <= report.keys()
