from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mantis_render.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of this repository's profiles, templates and example compose file."""
    root = tmp_path / "project"
    for folder in ("profiles", "templates", "compose"):
        shutil.copytree(REPO / folder, root / folder)
    return root


CliRun = Callable[..., Result]


@pytest.fixture
def cli(project: Path) -> CliRun:
    """Run mantis-render in ``project`` through click's runner; stderr is kept apart."""

    def run(*arguments: str) -> Result:
        return CliRunner().invoke(
            main, ["--root", str(project), *arguments], catch_exceptions=False
        )

    return run


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line of ``text`` containing ``needle``."""
    lines = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} is on lines {lines}"
    return lines[0]
