"""What each declared service is given in the outputs, and nothing more (least privilege).

In the compose override, each service's ``environment`` lists exactly its variables: the plain
ones as the container sees them (a loopback store address becomes the store's service), each
secret as an interpolation of the .env variable that holds it (``${DATABASE_PASSWORD:?...}``), so
no secret is written there and a service that does not use a store is given none of its
secrets. In Kubernetes, a ConfigMap per service (its plain variables) and a Secret or
ExternalSecret per service holding only its keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ..profiles import Profile
from ..profiles.composed import SECTION as COMPOSED
from ..profiles.composed import (
    ContainerForm,
    flattened,
    go_template,
    placeholders,
)
from ..profiles.services import Given
from ..profiles.values import as_text, value_at
from ..profiles.variables import Variable
from ..secrets.references import STORE_KINDS, SecretReference
from ..yaml_source import KeyPath
from .stack import in_containers_name, used_by_services


class ComposeEntry(NamedTuple):
    """One line of a service's environment in the override: a value, or the .env variable
    compose interpolates (a secret)."""

    name: str
    value: str | None
    from_env: str | None = None


class ComposeService(NamedTuple):
    environment: list[ComposeEntry]
    depends_on: list[str]  # the stores it uses, by compose service


class StoreKey(NamedTuple):
    """A key of a service's ExternalSecret: its name, and where External Secrets reads it."""

    name: str
    reference: SecretReference


class KubernetesService(NamedTuple):
    """A service's part of the manifests: its ConfigMap's literals and its secrets."""

    name: str  # the service's name in Kubernetes (like feature-extraction)
    config: list[tuple[str, str]]
    literal: list[tuple[str, str]]  # literal secrets: a Secret
    stored: list[StoreKey]  # secrets read from a store: an ExternalSecret
    templates: dict[str, str]  # composed secrets External Secrets makes (Go templates)
    local: list[str]  # secrets only a local .env can carry (env and file references)


def _composed(
    profile: Profile, by_path: Mapping[Any, Variable], name: str
) -> tuple[str, list[StoreKey]] | str | None:
    """How Kubernetes gets a secret composed variable: None where only a local .env can carry
    it, "literal" when its secrets are literals, else its Go template and the keys it reads."""
    flat = flattened(profile.data.get(COMPOSED) or {}, name)
    used = [by_path[p.path] for p in placeholders(flat) if by_path[p.path].secret]
    sources = {part.source for part in used}
    if sources & {"env", "file"}:
        return None
    if sources == {"literal"}:
        return "literal"
    fetched: dict[KeyPath, str] = {}
    keys = []
    for part in used:
        if part.path and part.source != "literal" and part.reference is not None:
            fetched[part.path] = part.name
            keys.append(StoreKey(part.name, part.reference))

    def value_of(placeholder: Any) -> Any:
        part = by_path[placeholder.path]
        return part.value if part.secret else value_at(profile.data, placeholder.path)

    return go_template(flat, value_of, fetched), keys


def kubernetes_name(service: str) -> str:
    return service.replace("_", "-")


def _sections_of(profile: Profile, given: Sequence[Given]) -> set[str]:
    declared = profile.data.get(COMPOSED) or {}
    sections: set[str] = set()
    for entry in given:
        path = entry.variable.path
        if not path:
            continue
        if path[0] == COMPOSED:
            sections |= {str(p.path[0]) for p in placeholders(flattened(declared, str(path[1])))}
        else:
            sections.add(str(path[0]))
    return sections


def container_entry(
    profile: Profile, variable: Variable, inside: Mapping[str, Any], forms: Sequence[ContainerForm]
) -> ComposeEntry:
    """``variable`` as a container is given it in the override: a plain value as the container
    sees it (a loopback store address becomes the store's service), a secret as the
    interpolation of the .env variable that holds it."""
    catalogue, path = profile.catalogue, variable.path
    if variable.secret:
        source = str(path[1]) if path and path[0] == COMPOSED else variable.name
        if path and path[0] != COMPOSED:
            source = catalogue.env_of.get(path, variable.name)
        if any(form.secret and form.name == source for form in forms):
            source = in_containers_name(catalogue, source)  # .env holds the containers' form
        return ComposeEntry(variable.name, None, source)
    if path is None:
        return ComposeEntry(variable.name, variable.value)
    if path[0] == COMPOSED:
        plain = {form.name: form.value for form in forms if not form.secret}
        return ComposeEntry(variable.name, plain.get(str(path[1]), variable.value))
    return ComposeEntry(variable.name, as_text(value_at(inside, path)))


def compose_services(
    profile: Profile,
    environments: Mapping[str, list[Given]],
    inside: Mapping[str, Any],
    forms: Sequence[ContainerForm],
) -> dict[str, ComposeService]:
    """Each service's environment as the override writes it. ``inside``: the profile's data as
    containers see it; ``forms``: the composed variables that differ there."""
    stores = used_by_services(profile.catalogue)
    services: dict[str, ComposeService] = {}
    for name, given in environments.items():
        environment = [
            container_entry(profile, entry.variable, inside, forms)._replace(name=entry.name)
            for entry in given
        ]
        sections = _sections_of(profile, given)
        depends_on = [s.service for s in stores if s.section in sections and s.wait]
        services[name] = ComposeService(environment, depends_on)
    return services


def kubernetes_services(
    profile: Profile, environments: Mapping[str, list[Given]], variables: Sequence[Variable]
) -> list[KubernetesService]:
    """Each service's ConfigMap literals and secrets, by where each secret comes from."""
    by_path = {variable.path: variable for variable in variables if variable.path}
    found = []
    for name, given in environments.items():
        config, literal, stored, local = [], [], [], []
        templates: dict[str, str] = {}
        parts: dict[str, StoreKey] = {}
        for entry in given:
            variable = entry.variable
            if not variable.secret:
                config.append((entry.name, variable.value or ""))
            elif variable.source == "literal":
                literal.append((entry.name, variable.value or ""))
            elif variable.source in STORE_KINDS:
                assert variable.reference is not None
                stored.append(StoreKey(entry.name, variable.reference))
            elif variable.source in ("env", "file"):
                local.append(entry.name)
            else:  # composed from secrets
                assert variable.path is not None
                how = _composed(profile, by_path, str(variable.path[1]))
                if how is None:
                    local.append(entry.name)
                elif isinstance(how, str):
                    literal.append((entry.name, variable.value or ""))
                else:
                    templates[entry.name], fetched = how
                    parts.update((key.name, key) for key in fetched)
        if templates:  # the Secret holds the service's keys only: every key templated
            for key in stored:
                templates.setdefault(key.name, "{{ ." + key.name + " }}")
            known = {key.name for key in stored}
            stored += [key for key in parts.values() if key.name not in known]
        found.append(
            KubernetesService(kubernetes_name(name), config, literal, stored, templates, local)
        )
    return found
