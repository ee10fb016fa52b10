"""Each declared service's environment: exactly the variables it reads, under the names it reads
them, with their values (mantis_render.catalogue.services says how a catalogue declares them).

The environment's variables (``environment_variables``) are the union a shell and compose
interpolation need; a service gets its own part of them, renamed where it reads another name,
and its own variables, which are no variable of the union.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..catalogue import Catalogue
from . import Profile
from .values import as_text, value_at
from .variables import Variable


class Given(NamedTuple):
    """One variable of a service's environment: the name it reads, and the environment's
    variable the value comes from (for an own variable, one made for it)."""

    name: str
    variable: Variable

    @property
    def secret(self) -> bool:
        return self.variable.secret

    @property
    def value(self) -> str | None:
        return self.variable.value


def service_environments(profile: Profile, variables: Iterable[Variable]) -> dict[str, list[Given]]:
    """The environment of each service the catalogue declares, in its declaration order (empty
    when it declares none). ``variables``: the environment's, resolved or not."""
    catalogue = profile.catalogue
    section = catalogue.services_section
    if not catalogue.services or section is None:
        return {}
    by_path: dict[object, Variable] = {}
    by_name: dict[str, Variable] = {}
    for variable in variables:
        if variable.path is not None:
            by_path[variable.path] = variable
        by_name[variable.name] = variable
    services = profile.data.get(section) or {}
    environments: dict[str, list[Given]] = {}
    for name, declaration in catalogue.services.items():
        given: list[Given] = []
        own = (services.get(name) or {}).get("variables") or {}
        for entry in declaration.receives:
            found: Variable | None
            if entry.kind == "setting":
                found = by_path.get(entry.source)  # an optional setting may be left out
            elif entry.kind == "variable":
                found = by_name.get(str(entry.source))
            elif entry.kind == "port":
                found = by_path.get((section, name, "port"))
            else:
                if entry.name not in own:
                    continue  # an optional own variable this profile leaves out
                path = (section, name, "variables", entry.name)
                found = Variable(entry.name, as_text(value_at(profile.data, path)), None, path)
            if found is not None:
                given.append(Given(entry.name, found))
        environments[name] = given
    return environments


def own_variables(profile: Profile) -> list[Variable]:
    """The declared services' own variables this profile sets, each by the name it is read."""
    return [
        given.variable
        for environment in service_environments(profile, ()).values()
        for given in environment
    ]


def receivers(catalogue: Catalogue, variable: Variable) -> list[tuple[str, str]]:
    """The declared services that receive ``variable``: (service, the name it reads)."""
    found = []
    for name, declaration in catalogue.services.items():
        for entry in declaration.receives:
            if (
                (entry.kind == "setting" and entry.source == variable.path)
                or (entry.kind == "variable" and entry.source == variable.name)
                or (
                    entry.kind == "port"
                    and variable.path
                    == (
                        catalogue.services_section,
                        name,
                        "port",
                    )
                )
            ):
                found.append((name, entry.name))
    return found
