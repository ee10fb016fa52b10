"""Writes are atomic and idempotent: unchanged files stay untouched, a kill leaves old or new."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mantis_render.outputs import writing as output
from mantis_render.outputs.writing import read_environment, write_environment

from .conftest import CliRun


def stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def test_rendering_unchanged_profiles_touches_nothing(cli: CliRun, project: Path) -> None:
    cli("render", "--all")
    out = project / "rendered"
    before = stats(out)
    folder_mtime = (out / "staging").stat().st_mtime_ns

    result = cli("render", "--all")

    assert result.stdout.splitlines() == [
        f"development: up to date in {out / 'development'}",
        f"production: up to date in {out / 'production'}",
        f"staging: up to date in {out / 'staging'}",
    ]
    assert stats(out) == before
    assert (out / "staging").stat().st_mtime_ns == folder_mtime


def test_only_changed_files_are_rewritten(cli: CliRun, project: Path) -> None:
    cli("render", "--all")
    out = project / "rendered"
    before = stats(out)
    profile = project / "profiles/staging.yaml"
    profile.write_text(profile.read_text().replace("  partitions: 6", "  partitions: 8"))

    result = cli("render", "staging")

    assert result.stdout == f"staging: wrote 3 files to {out / 'staging'}\n"
    after = stats(out)
    changed = sorted(path for path in after if after[path] != before.get(path))
    assert changed == [
        "staging",
        "staging/.env.example",
        "staging/docker-compose.override.yml",
        "staging/k8s",
        "staging/k8s/kustomization.yaml",
    ]  # the folders are the new ones swapped in; the other files are the same inodes
    assert sorted(p.name for p in out.iterdir()) == ["development", "production", "staging"]


def test_a_file_whose_mode_was_changed_is_rewritten(tmp_path: Path) -> None:
    write_environment(tmp_path, "dev", {".env": "A='1'\n"})
    (tmp_path / "dev/.env").chmod(0o644)
    written = write_environment(tmp_path, "dev", {".env": "A='1'\n"})
    assert written.changed == (".env",)
    assert (tmp_path / "dev/.env").stat().st_mode & 0o777 == 0o600


def test_an_interrupted_swap_is_recovered_on_the_next_write(tmp_path: Path) -> None:
    write_environment(tmp_path, "staging", {"a.txt": "old\n"})
    # What a kill between the two renames of the fallback leaves: the old folder moved aside.
    aside = tmp_path / ".staging.old-crash"
    aside.mkdir()
    os.rename(tmp_path / "staging", aside / "staging")
    (tmp_path / ".staging.new-crash").mkdir()

    written = write_environment(tmp_path, "staging", {"a.txt": "old\n", "b.txt": "new\n"})

    assert written.changed == ("b.txt",)
    assert read_environment(tmp_path, "staging") == {"a.txt": "old\n", "b.txt": "new\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["staging"]


def test_without_an_atomic_exchange_the_fallback_gives_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "_exchange", lambda first, second: False)
    write_environment(tmp_path, "staging", {"a.txt": "1\n", "gone.txt": "x\n"})
    written = write_environment(tmp_path, "staging", {"a.txt": "2\n"})
    assert (written.changed, written.removed) == (("a.txt",), ("gone.txt",))
    assert read_environment(tmp_path, "staging") == {"a.txt": "2\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["staging"]


KILL_LOOP = """
import json, sys
from pathlib import Path
from mantis_render.outputs.writing import write_environment
out, versions = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
while True:
    for files in versions:
        write_environment(out, "staging", files)
"""


def test_a_kill_at_any_moment_leaves_the_old_or_the_new_output(tmp_path: Path) -> None:
    """SIGKILL a process that keeps rewriting an environment; the folder is always whole."""
    versions = [
        {
            f"k8s/part-{i:03}.yaml": f"version: {version}\nindex: {i}\n" + "x" * 4000
            for i in range(60)
        }
        | {".env": f"V='{version}'\n"}
        for version in ("a", "b")
    ]
    versions_file = tmp_path / "versions.json"
    versions_file.write_text(json.dumps(versions))
    out = tmp_path / "out"
    write_environment(out, "staging", versions[0])
    script = tmp_path / "loop.py"
    script.write_text(KILL_LOOP)
    chance = random.Random(20261124)
    for _ in range(25):
        process = subprocess.Popen([sys.executable, str(script), str(out), str(versions_file)])
        time.sleep(0.25 + chance.random() * 0.25)  # past start-up, somewhere inside the loop
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert read_environment(out, "staging", include_private=True) in versions
    write_environment(out, "staging", versions[1])  # the next write clears what the kills left
    assert sorted(p.name for p in out.iterdir()) == ["staging"]
