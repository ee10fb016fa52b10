"""Go's text/template with sprig, as External Secrets (engine v2) evaluates a template: a small
program (tests/go/evaluate.go) built once per test session with Debian's golang-go and
golang-github-masterminds-sprig-dev (make test installs them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).parent / "go" / "evaluate.go"
GOPATH = Path("/usr/share/gocode")  # where Debian's Go library packages put their sources


def build(folder: Path) -> Path:
    go = shutil.which("go")
    if go is None or not (GOPATH / "src/github.com/Masterminds/sprig").is_dir():
        raise AssertionError(
            "the Go template tests need go and sprig: apt-get install golang-go "
            "golang-github-masterminds-sprig-dev (make test does)"
        )
    binary = folder / "evaluate"
    environment = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": str(GOPATH),
        "GOCACHE": str(folder / "cache"),
        "GOFLAGS": "",
    }
    subprocess.run(
        [go, "build", "-o", str(binary), str(SOURCE)],
        env=environment,
        check=True,
        capture_output=True,
    )
    return binary


def evaluate(binary: Path, template: str, data: dict[str, str]) -> str:
    result = subprocess.run(
        [str(binary)],
        input=json.dumps({"template": template, "data": data}),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"Go could not evaluate the template: {result.stderr}")
    return result.stdout
