"""The locks in requirements/ agree with pyproject.toml (`make lock` keeps them so)."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .conftest import REPO

# Each lock, and the extras of pyproject.toml it is made from (`make lock`).
LOCKS = {"render": (), "test": ("test",), "dev": ("dev",), "bench": ("bench",)}
PROJECT = "mantis-render"


def direct_requirements(extras: tuple[str, ...]) -> dict[str, Requirement]:
    """What pyproject.toml asks for with ``extras``, a self-reference's extras included."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted, pending, seen = {}, list(extras), set()
    requirements = [Requirement(text) for text in project["dependencies"]]
    while pending:
        extra = pending.pop()
        if extra not in seen:
            seen.add(extra)
            requirements += [
                Requirement(t) for t in project["optional-dependencies"].get(extra, [])
            ]
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name == PROJECT:
            pending.extend(requirement.extras)
            requirements += [
                Requirement(t)
                for extra in requirement.extras
                for t in project["optional-dependencies"][extra]
            ]
            continue
        wanted[name] = requirement
    return wanted


class Lock:
    """A uv requirements lock: each pin, its hashes, and whether pyproject.toml asked for it."""

    PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)")
    BY_PYPROJECT = f"{PROJECT} (pyproject.toml)"

    def __init__(self, text: str) -> None:
        self.versions: dict[str, Version] = {}
        self.hashes: dict[str, int] = {}
        self.direct: set[str] = set()
        current = ""
        for line in text.splitlines():
            pin = self.PIN.match(line)
            if pin:
                current = canonicalize_name(pin.group(1))
                self.versions[current] = Version(pin.group(2))
                self.hashes[current] = 0
            elif line.strip().startswith("--hash=sha256:"):
                self.hashes[current] += 1
            elif line.strip().lstrip("#").strip().removeprefix("via ") == self.BY_PYPROJECT:
                self.direct.add(current)


def lock_problems(text: str, extras: tuple[str, ...]) -> list[str]:
    lock, wanted = Lock(text), direct_requirements(extras)
    problems = [
        f"{name}: in pyproject.toml, not in the lock" for name in sorted(set(wanted) - lock.direct)
    ]
    problems += [
        f"{name}: locked as a requirement of pyproject.toml, which no longer asks for it"
        for name in sorted(lock.direct - set(wanted))
    ]
    problems += [
        f"{name}: locked at {lock.versions[name]}, outside {requirement.specifier}"
        for name, requirement in sorted(wanted.items())
        if name in lock.versions and lock.versions[name] not in requirement.specifier
    ]
    problems += [f"{name}: no hash" for name, count in sorted(lock.hashes.items()) if not count]
    return problems


@pytest.mark.parametrize("lock_name", LOCKS)
def test_each_lock_pins_exactly_what_pyproject_asks_for(lock_name: str) -> None:
    text = (REPO / f"requirements/{lock_name}.txt").read_text()
    assert lock_problems(text, LOCKS[lock_name]) == [], (
        f"requirements/{lock_name}.txt is out of date; run `make lock`"
    )


def test_the_lock_check_names_a_missing_pin_a_version_out_of_range_and_a_missing_hash() -> None:
    text = (REPO / "requirements/render.txt").read_text()
    without_jinja2 = re.sub(r"(?ms)^jinja2==.*?(?=^[a-z])", "", text)
    assert lock_problems(without_jinja2, ()) == ["jinja2: in pyproject.toml, not in the lock"]
    old_click = re.sub(r"(?m)^click==\S+", "click==7.1.2", text)
    assert lock_problems(old_click, ()) == ["click: locked at 7.1.2, outside >=8.1"]
    unhashed = re.sub(r"(?m)^(pyyaml==\S+) \\\n(    --hash=.*\n)+", r"\1\n", text)
    assert lock_problems(unhashed, ()) == ["pyyaml: no hash"]
    assert lock_problems(text, ("test",)) == [
        f"{name}: in pyproject.toml, not in the lock"
        for name in sorted(set(direct_requirements(("test",))) - set(direct_requirements(())))
    ]


def test_make_installs_dependencies_from_the_locks_only() -> None:
    makefile = (REPO / "Makefile").read_text()
    installs = [
        line.strip()
        for line in makefile.splitlines()
        if "pip" in line.lower() and " install" in line
    ]
    assert installs and all(
        "--no-deps" in line or "LOCKED" in line or "uv==" in line for line in installs
    ), installs
