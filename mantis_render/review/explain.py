"""Provenance of a variable: its value, where it was set, what it overrode, where it lands."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import closest, quoted
from ..outputs.stack import ContainerValue, container_values
from ..profiles import Layer, Profile
from ..profiles.services import receivers, service_environments
from ..profiles.variables import Variable, environment_variables, value_at
from ..secrets.references import (
    KUBERNETES_ONLY,
    EnvReference,
    FileReference,
    StoreReference,
    parse_reference,
)
from ..yaml_source import format_key_path

HIDDEN = "(secret, hidden)"
SENTINEL_TEXT = "mantis-render-explain-sentinel"


@dataclass(frozen=True)
class Origin:
    """A value as one profile file wrote it."""

    file: str
    line: int
    value: str


@dataclass(frozen=True)
class Explanation:
    variable: str
    setting: str | None  # the profile key, or None when derived from the file name
    value: str  # secrets are shown as their reference, or hidden
    secret: bool
    set_by: Origin | None
    overrides: list[Origin]  # from the nearest base outwards
    lands_in: list[str]  # outputs whose content depends on the value
    named_in: list[str]  # outputs that mention the variable by name
    # What the MANTIS services' containers are told instead, and why (None: the same value).
    in_containers: str | None = None
    in_containers_why: str | None = None
    # A composed variable's parts: each setting it reads, where that is set, and its value.
    parts: list[Origin] = dataclasses.field(default_factory=list)
    # The declared services given it: "service" or "service as NAME" (the name it reads).
    services: list[str] = dataclasses.field(default_factory=list)


class UnknownVariable(LookupError):
    def __init__(self, name: str, known: list[str], why: str | None = None) -> None:
        close = closest(name, known)
        hint = f"; did you mean {close}?" if close else ""
        super().__init__(why or f"no variable or setting named {quoted(name)}{hint}")


Render = Callable[[Profile, list[Variable]], dict[str, str]]


def explain(profile: Profile, name: str, render: Render) -> Explanation:
    """Explain variable ``name`` (like DATABASE_HOST) or setting (like database.host) of a profile.

    ``render`` renders every output (the .env included) from a profile and variables; the outputs
    a value lands in are those whose text changes when only that value changes.
    """
    variables = environment_variables(profile)
    variable = _find(variables, _source_of(profile, variables, name))
    baseline = render(profile, _filled(variables))
    changed_profile, changed_variables = _with_sentinel(profile, variables, variable)
    changed = render(changed_profile, changed_variables)
    lands_in = sorted(
        path for path in set(baseline) | set(changed) if baseline.get(path) != changed.get(path)
    )
    reference = variable.reference
    if isinstance(reference, StoreReference) and reference.store in KUBERNETES_ONLY:
        lands_in.remove(".env")  # External Secrets alone reads it: never resolved locally
    word = re.compile(rf"\b{re.escape(variable.name)}\b")
    named_in = sorted(path for path, text in baseline.items() if word.search(text))
    origins = _origins(profile.layers, variable)
    inside = {value.name: value for value in container_values(profile.catalogue, profile.data)}.get(
        variable.name
    )
    if inside is None:
        inside = _composed_inside(profile, variables, variable)
    return Explanation(
        variable=variable.name,
        setting=format_key_path(variable.path) if variable.path else None,
        value=_shown(variable, _final_value(profile, variable)),
        secret=variable.secret,
        set_by=origins[-1] if origins else None,
        overrides=list(reversed(origins[:-1])),
        lands_in=lands_in,
        named_in=named_in,
        in_containers=inside.value if inside else None,
        in_containers_why=inside.reason if inside else None,
        parts=_parts(profile, variables, variable),
        services=[
            service if read == variable.name else f"{service} as {read}"
            for service, read in receivers(profile.catalogue, variable)
        ],
    )


def _source_of(profile: Profile, variables: list[Variable], name: str) -> str:
    """``name``, or, for a name only declared services read, the variable they are all given
    it from; UnknownVariable when they are given it from different places (say which)."""
    if any(name == variable.name for variable in variables):
        return name
    known = {variable.name for variable in variables}
    sources: dict[str, list[str]] = {}
    for service, given in service_environments(profile, variables).items():
        for entry in given:
            if entry.name == name:
                source = entry.variable.name
                if source not in known and entry.variable.path:  # its own value
                    source = format_key_path(entry.variable.path)
                sources.setdefault(source, []).append(service)
    if len(sources) == 1 and next(iter(sources)) in known:
        return next(iter(sources))
    if sources:
        each = "; ".join(f"{', '.join(by)}: {source}" for source, by in sources.items())
        why = f"{name} is read by services, each given its own ({each})"
        if all(source in known for source in sources):
            why += "; explain one of those"
        raise UnknownVariable(name, [], why)
    return name


def _composed_inside(
    profile: Profile, variables: list[Variable], variable: Variable
) -> ContainerValue | None:
    """A composed variable that reads a loopback address, as the containers are told it."""
    from ..outputs.stack import container_data
    from ..profiles.composed import container_forms

    for form in container_forms(
        profile.data, container_data(profile.catalogue, profile.data), variables
    ):
        if form.name == variable.name:
            value = HIDDEN if form.secret else str(form.value)
            where = "the compose override"
            if form.secret:
                from ..outputs.stack import in_containers_name

                where = (
                    f".env as {in_containers_name(profile.catalogue, form.name)}, for compose"
                    if profile.catalogue.services
                    else "containers.env"
                )
            why = f"it reads a store's loopback address; made for the compose network, in {where}"
            return ContainerValue(form.name, value, "", why)
    return None


def _parts(profile: Profile, variables: list[Variable], variable: Variable) -> list[Origin]:
    """Each setting a composed variable reads, in the order its template names them."""
    from ..profiles.composed import SECTION, parse, placeholders

    if variable.path is None or variable.path[0] != SECTION:
        return []
    by_path = {v.path: v for v in variables if v.path}
    template = value_at(profile.data, variable.path)["template"]
    parts = []
    for placeholder in placeholders(parse(template)):
        used = by_path[placeholder.path]
        location = profile.locations[placeholder.path]
        shown = _shown(used, _final_value(profile, used))
        parts.append(Origin(location.file, location.line, f"{placeholder.shown} = {shown}"))
    return parts


def _find(variables: list[Variable], name: str) -> Variable:
    for variable in variables:
        if name == variable.name or (variable.path and name == format_key_path(variable.path)):
            return variable
    raise UnknownVariable(name, [variable.name for variable in variables])


def _final_value(profile: Profile, variable: Variable) -> Any:
    return value_at(profile.data, variable.path) if variable.path else variable.value


def _origins(layers: tuple[Layer, ...], variable: Variable) -> list[Origin]:
    """Each file of the extends chain that wrote this setting, base first."""
    if variable.path is None:
        last = layers[-1]
        return [Origin(last.file, 0, _shown(variable, variable.value))]
    return [
        Origin(
            layer.file,
            layer.lines[variable.path],
            _shown(variable, value_at(layer.data, variable.path)),
        )
        for layer in layers
        if variable.path in layer.lines
    ]


def _shown(variable: Variable, value: Any) -> str:
    if isinstance(value, dict) and "template" in value:  # a composed variable: its template
        return str(value["template"])
    if isinstance(value, dict):
        return str(parse_reference(value))
    if variable.secret:
        return HIDDEN
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _filled(variables: list[Variable], sentinel_for: str | None = None) -> list[Variable]:
    """Unresolved references get a stand-in value, so that the .env renders too."""
    return [
        v
        if v.value is not None
        else v._replace(value=SENTINEL_TEXT if v.name == sentinel_for else f"resolved {v.name}")
        for v in variables
    ]


def _with_sentinel(
    profile: Profile, variables: list[Variable], variable: Variable
) -> tuple[Profile, list[Variable]]:
    """The profile and variables with only ``variable``'s value changed."""
    if variable.path is None:  # derived from the file name: change the variable alone
        changed = [v._replace(value=SENTINEL_TEXT) if v is variable else v for v in variables]
        return profile, _filled(changed)
    data = copy.deepcopy(profile.data)
    parent = value_at(data, variable.path[:-1])
    parent[variable.path[-1]] = _sentinel(parent[variable.path[-1]])
    changed_profile = profile._replace(data=data)
    return changed_profile, _filled(
        environment_variables(changed_profile), sentinel_for=variable.name
    )


def _sentinel(value: Any) -> Any:
    """A value of the same kind as ``value`` that differs from it."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 7919
    if isinstance(value, list):
        return [f"{SENTINEL_TEXT}:1"]
    if isinstance(value, dict) and "template" in value:  # a composed variable
        return {**value, "template": value["template"] + SENTINEL_TEXT}
    if isinstance(value, dict):
        reference = parse_reference(value)
        if isinstance(reference, StoreReference):
            return {reference.store: f"{SENTINEL_TEXT}-name", "key": "key"}
        if isinstance(reference, EnvReference):
            return {"env": "MANTIS_RENDER_SENTINEL"}
        assert isinstance(reference, FileReference)
        return {"file": SENTINEL_TEXT}
    return SENTINEL_TEXT
