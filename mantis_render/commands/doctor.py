"""mantis-render doctor: the guide's troubleshooting ("Dépannage") as checks, each one line.

Each check says what it found and, when it fails, how to fix it. A check that cannot apply here
(docker compose not installed, a store the environment does not use) is skipped, and says why.
"""

from __future__ import annotations

import concurrent.futures
import errno
import os
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ..errors import MantisRenderError

if TYPE_CHECKING:
    from ..catalogue import Store
    from ..profiles import Profile
    from ..profiles.variables import Variable
    from ..project import Project

Status = Literal["ok", "failed", "skipped"]
CONNECT_TIMEOUT = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def diagnose(project: Project, name: str, environ: Mapping[str, str]) -> list[Check]:
    """Every check of environment ``name``, in the guide's order."""
    from ..outputs.render import COMPOSE_OVERRIDE_FILE, DOTENV

    checks: list[Check] = []
    try:  # the stack's shape needs no secret
        shape = project.build(name, verify=False)
    except MantisRenderError as error:
        fix = f"mantis-render validate {name}"
        return [Check("profile", "failed", _first(error), fix), _committed(project, name)]
    resolved: list[Variable] | None = None
    try:
        built = project.developer_build(name, environ)
        rendered, resolved = built.files.get(DOTENV), built.variables
    except MantisRenderError as error:  # a secret that does not resolve, said once here
        rendered = None
        checks.append(Check("secrets", "failed", _first(error), f"mantis-render render {name}"))
    checks += _root_env(project, name, rendered)
    checks += _ports_free(shape.files[COMPOSE_OVERRIDE_FILE], name)
    checks.append(_compose_config(project, name))
    checks += _reachable(shape.profile, resolved)
    checks += _stores(project, name, environ)
    checks.append(_committed(project, name))
    return checks


def _first(error: MantisRenderError) -> str:
    more = len(error.problems) - 1
    first = str(error.problems[0]) if error.problems else "it does not build"
    return f"{first} (and {more} more)" if more > 0 else first


# -- the root .env ----------------------------------------------------------------------------


def _root_env(project: Project, name: str, rendered: str | None) -> Iterator[Check]:
    path = project.root / ".env"
    fix = f"./scripts/setup-environment.sh {name}"
    if not (path.exists() or path.is_symlink()):
        yield Check(".env", "failed", "no .env at the project root", fix)
        return
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file"
        yield Check(".env", "failed", f".env is {what}", f"move it aside, then {fix}")
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o600:
        yield Check(
            ".env mode", "failed", f".env is mode {mode:04o}: others can read it", "chmod 600 .env"
        )
    else:
        yield Check(".env mode", "ok", ".env is mode 0600")
    yield _git_ignored(project.root)
    if rendered is None:
        yield Check(
            ".env current",
            "skipped",
            f"the current render of {name} holds unresolved secrets: nothing to compare with",
        )
    elif _text(path, len(rendered.encode("utf-8")) + 1) != rendered:
        yield Check(
            ".env current", "failed", f".env differs from the current render of {name}", fix
        )
    else:
        yield Check(".env current", "ok", f".env is the current render of {name}")


def _text(path: Path, limit: int) -> str | None:
    """At most ``limit`` bytes of the file as text: one more than the render it is compared
    with says it differs, however large it is."""
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None  # unreadable: not the current render, whatever it holds


def _git_ignored(root: Path) -> Check:
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return Check(".env in git", "skipped", "not a git repository")
    tracked = subprocess.run(
        [git, "ls-files", "--error-unmatch", ".env"], cwd=root, capture_output=True, check=False
    )
    if tracked.returncode == 0:
        return Check(
            ".env in git",
            "failed",
            ".env is tracked by git: its secrets are in the history",
            "git rm --cached .env, and rotate its secrets",
        )
    ignored = subprocess.run(
        [git, "check-ignore", "-q", ".env"], cwd=root, capture_output=True, check=False
    )
    if ignored.returncode != 0:
        return Check(".env in git", "failed", ".env is not git-ignored", "add /.env to .gitignore")
    return Check(".env in git", "ok", ".env is git-ignored and untracked")


# -- ports ------------------------------------------------------------------------------------


def published_ports(override: str) -> list[int]:
    """The host ports the compose override publishes (a fixed `published:`)."""
    from ..yaml_source import parse_yaml

    document = parse_yaml(override, "override", with_lines=False).data
    ports = set()
    for service in (document.get("services") or {}).values():
        for port in (service or {}).get("ports") or []:
            if isinstance(port, dict) and str(port.get("published", "")).isdigit():
                ports.add(int(port["published"]))
    return sorted(ports)


# The programs Docker publishes a container's port with: the stack is running, not in the way.
DOCKER_PUBLISHERS = ("docker-proxy", "com.docker.backend", "rootlessport")


def _ports_free(override: str, name: str) -> Iterator[Check]:
    for port in published_ports(override):
        holder = port_holder(port)
        if holder is None:
            yield Check(f"port {port}", "ok", f"port {port} is free for the compose stack")
        elif holder.removeprefix(" by ").startswith(DOCKER_PUBLISHERS):
            yield Check(f"port {port}", "ok", f"port {port} is published by Docker{holder}")
        else:
            yield Check(
                f"port {port}",
                "failed",
                f"port {port} is in use{holder}",
                f"stop it, or publish another port in profiles/{name}.local.yaml "
                f"(mantis-render local {name})",
            )


def port_holder(port: int) -> str | None:
    """None when the port can be bound on every address; else who holds it, where the system
    tells (Linux /proc), as text to append."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                return f" ({error.strerror})"
            process = _listening_process(port)
            return f" by {process}" if process else ""
    return None


def _listening_process(port: int) -> str | None:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    command = Path(f"/proc/{pid}/comm").read_text().strip()
                    return f"{command} (pid {pid})"
        except OSError:
            continue
    return None


# -- docker compose ---------------------------------------------------------------------------


def _compose_config(project: Project, name: str) -> Check:
    compose = _compose_command()
    if compose is None:
        return Check("compose", "skipped", "docker compose is not installed here")
    folder = project.root / "rendered" / name
    files = [project.root / "compose/docker-compose.yml", folder / "docker-compose.override.yml"]
    if (folder / "docker-compose.local.yml").is_file():
        files[1] = folder / "docker-compose.local.yml"
    arguments = [*compose, "--project-directory", str(folder)]
    for file in files:
        arguments += ["-f", str(file)]
    try:
        result = subprocess.run(
            [*arguments, "config", "--quiet"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return Check("compose", "failed", f"docker compose config did not run: {error}")
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["it failed"])[-1]
        return Check(
            "compose",
            "failed",
            f"docker compose config refuses the stack: {reason}",
            f"mantis-render render {name}",
        )
    return Check("compose", "ok", "docker compose config accepts the stack")


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


# -- reachability -----------------------------------------------------------------------------


class Target(NamedTuple):
    """An address doctor connects to: a store (with what logs in to it) or a service."""

    what: str
    host: str
    port: int
    store: Store | None = None


def addresses(profile: Profile) -> list[Target]:
    """Each store's address, and each service's in development (published on the host)."""
    from ..profiles.variables import value_at

    data, catalogue = profile.data, profile.catalogue
    found = []
    for store in catalogue.stores:
        if store.servers is not None:
            for server in value_at(data, store.servers):
                host, _, port = server.rpartition(":")
                found.append(Target(store.section, host, int(port), store))
        elif store.host is not None and store.port_setting is not None:
            host = str(value_at(data, store.host))
            found.append(
                Target(store.section, host, int(value_at(data, store.port_setting)), store)
            )
    if data["tier"] == "development" and catalogue.runs_once(data):
        assert catalogue.services_section is not None
        services = data[catalogue.services_section]
        found += [
            Target(service, "localhost", int(spec["port"])) for service, spec in services.items()
        ]
    return found


def _reachable(profile: Profile, resolved: list[Variable] | None) -> Iterator[Check]:
    """A TCP connect to each address (1 s, all at once), then, where the store's protocol
    makes it cheap, a login with its credentials (mantis_render.developer.probes)."""
    data = profile.data
    targets = addresses(profile)
    passwords = {v.path: v.value for v in resolved or [] if v.path and v.secret}
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        checks = list(pool.map(lambda target: _probe(target, data, passwords), targets))
    yield from checks


def _probe(
    target: Target, data: Mapping[str, object], passwords: Mapping[Any, str | None]
) -> Check:
    from ..developer.probes import Login, ProbeError, postgres_login, redis_login

    what, host, port = target.what, target.host, target.port
    name = f"{what} reachable"
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as error:
        failure = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        return Check(
            name,
            "failed",
            f"{what} does not answer at {host}:{port} ({failure.lower()})",
            "start it (docker compose up -d), or check the host and port in the profile",
        )
    if target.store is None:
        return Check(name, "ok", f"{what}: port {host}:{port} is open")
    store = target.store
    section = data[store.section]
    assert isinstance(section, dict)
    password = passwords.get((store.section, "password"))
    if not store.protocol:
        return Check(name, "ok", f"{what}: port {host}:{port} is open; credentials not checked")
    if password is None:
        return Check(
            name,
            "ok",
            f"{what}: port {host}:{port} is open; credentials not checked (its secrets did not "
            "resolve)",
        )
    try:
        if store.protocol == "postgresql":
            login: Login = postgres_login(
                host,
                port,
                str(section["user"]),
                password,
                str(section["database"]),
                CONNECT_TIMEOUT,
            )
        else:
            login = redis_login(host, port, password, CONNECT_TIMEOUT)
    except (OSError, ProbeError) as error:
        reason = "timed out" if isinstance(error, TimeoutError) else str(error)
        return Check(
            name,
            "failed",
            f"{what} at {host}:{port} did not finish a login ({reason})",
            f"check that {what} itself listens at {host}:{port}",
        )
    if login.verdict == "accepted":
        return Check(name, "ok", f"{what} answers at {host}:{port} and accepts its credentials")
    if login.verdict == "unchecked":
        return Check(
            name,
            "ok",
            f"{what}: port {host}:{port} is open; credentials not checked ({login.detail})",
        )
    return Check(
        name,
        "failed",
        f"{what} at {host}:{port} refuses the profile's credentials: {login.detail}",
        f"check {store.section}'s user, database and password, in the profile and in the store",
    )


# -- secret stores ----------------------------------------------------------------------------


def _stores(project: Project, name: str, environ: Mapping[str, str]) -> Iterator[Check]:
    from ..profiles.variables import environment_variables
    from ..secrets.references import (
        STORE_KINDS,
        SecretUnavailable,
        StoreNotConfigured,
        StoreReference,
        StoreUnusable,
    )

    profile = project.load_valid(name)
    used = {
        v.reference.store
        for v in environment_variables(profile)
        if isinstance(v.reference, StoreReference)
    }
    stores = project.stores(environ)  # the run's: a store that hung is not waited on again
    for kind in (kind for kind in STORE_KINDS if kind in used):
        product = STORE_KINDS[kind].product
        try:
            stores.get(profile, kind).check_access()
        except StoreNotConfigured as error:
            yield Check(product, "failed", str(error), "set what it names, then run doctor again")
        except StoreUnusable as error:
            yield Check(product, "failed", f"{product}: {error}", "fix that setting")
        except SecretUnavailable as error:
            detail = str(error) if str(error).startswith(product) else f"{product}: {error}"
            yield Check(product, "failed", detail, "check the address and the credentials")
        else:
            yield Check(product, "ok", f"{product} is reachable and its credentials are valid")


def _committed(project: Project, name: str) -> Check:
    from ..layout import DEFAULT_OUTPUT

    try:
        stale = project.check(name, project.root / DEFAULT_OUTPUT)
    except MantisRenderError as error:
        return Check(
            "committed output", "failed", str(error.problems[0]), f"mantis-render validate {name}"
        )
    if stale:
        files = ", ".join(f"{status.path} ({status.status})" for status in stale)
        return Check(
            "committed output", "failed", f"not current: {files}", f"mantis-render render {name}"
        )
    return Check("committed output", "ok", f"rendered/{name} is current")
