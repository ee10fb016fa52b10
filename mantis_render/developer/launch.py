"""mantis-render exec: an environment's variables, resolved as render resolves them, for a
program started with them in its environment. Nothing is written to disk.

With a service, only what that service gets: when the catalogue declares its services, exactly
the variables it reads, under the names it reads them (host-side values: the program runs on
the host); otherwise every shared variable and its own (PORT_<NAME>, <NAME>_*), not the other
services' own.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import MantisRenderError, Problem, closest, quoted
from ..profiles import Profile
from ..profiles.variables import Variable


def dotenv_text(values: Mapping[str, str]) -> str:
    """The variables as a .env holds them (docker compose reads an env_file of this text under
    exec); a value no .env can carry was refused when the environment was built."""
    from ..outputs.filters import quote_dotenv

    return "".join(f"{name}={quote_dotenv(value)}\n" for name, value in values.items())


def in_memory_file(text: str) -> str | None:
    """A file that lives in memory only (Linux memfd), kept open for the program exec starts:
    its path in that program, or None where the system has none."""
    import os

    if not hasattr(os, "memfd_create"):
        return None
    descriptor = os.memfd_create("mantis-render-env", 0)  # inheritable: no MFD_CLOEXEC
    os.write(descriptor, text.encode("utf-8"))
    return f"/proc/self/fd/{descriptor}"


class UnknownService(LookupError):
    """A --service that the environment's profile has no service named."""


def launch_environment(
    profile: Profile,
    variables: list[Variable],
    not_configured: Mapping[str, str],
    service: str | None = None,
) -> dict[str, str]:
    """The variables a program is started with; MantisRenderError when one has no value."""
    if not_configured:
        raise MantisRenderError(
            [
                Problem(profile.file, 0, "", f"exec needs every secret: {why}")
                for why in not_configured.values()
            ]
        )
    chosen = variables if service is None else _of_service(profile, variables, service)
    values = {variable.name: variable.value for variable in chosen}
    assert all(value is not None for value in values.values())  # resolved, else not_configured
    return values  # type: ignore[return-value]


def _of_service(profile: Profile, variables: list[Variable], service: str) -> list[Variable]:
    services = profile.data.get("services") or {}
    if service not in services and service.replace("-", "_") in services:
        service = service.replace("-", "_")  # as compose and Kubernetes name it
    if service not in services:
        known = list(services)
        close = closest(service, known)
        hint = f"; did you mean {close}?" if close else f" (services: {', '.join(known)})"
        raise UnknownService(f"no service {quoted(service)} in {profile.name}{hint}")
    if profile.catalogue.services:
        from ..profiles.services import service_environments

        given = service_environments(profile, variables)[service]
        return [entry.variable._replace(name=entry.name) for entry in given]
    others = {name for name in services if name != service}

    def belongs_to_another(variable: Variable) -> bool:
        path = variable.path
        return bool(path and path[0] == "services" and path[1] in others)

    return [variable for variable in variables if not belongs_to_another(variable)]
