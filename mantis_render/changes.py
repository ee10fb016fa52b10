"""What a change does to every environment: two renders of the project compared, for a reviewer.

Each side is a Project (the working tree, or a revision read by mantis_render.revision); nothing
contacts a secret store, and no secret value is ever kept here: a secret shows its reference,
or, for a development literal, only that its value changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import yaml

from .compare import unified_diff
from .errors import MantisRenderError
from .layout import DEFAULT_OUTPUT
from .project import Project, RenderedEnvironment
from .render import EXTERNAL_SECRET
from .schema import settings
from .variables import Variable

Kind = Literal["added", "removed", "changed"]
COMPOSE_OVERRIDE = "docker-compose.override.yml"
SECRET_CHANGED = "(value changed)"


@dataclass(frozen=True)
class VariableChange:
    """One variable of one environment: what it was and what it is (secrets as references)."""

    name: str
    kind: Kind
    before: str | None
    after: str | None
    where: str  # file:line that sets it at head (at base, for a removed one)


@dataclass
class EnvironmentChanges:
    name: str
    status: Literal["added", "removed", "changed", "unchanged"]
    tier: tuple[str | None, str | None] = (None, None)
    variables: list[VariableChange] = field(default_factory=list)
    configmap_rolls: bool = False
    secrets_resync: bool = False
    compose_services: list[str] = field(default_factory=list)
    file_diffs: list[str] = field(default_factory=list)  # masked: a template-only change
    problems: dict[str, list[str]] = field(default_factory=dict)  # "base"/"head" -> lines
    stale: list[str] = field(default_factory=list)  # committed files at head not current


@dataclass
class Review:
    base: str
    head: str
    environments: list[EnvironmentChanges]

    def shared_changes(self) -> list[tuple[VariableChange, list[str]]]:
        """Identical changes that land in several environments (typically from _base.yaml),
        each with the environments, in the order first seen."""
        seen: dict[VariableChange, list[str]] = {}
        for environment in self.environments:
            for change in environment.variables:
                seen.setdefault(change, []).append(environment.name)
        return [(change, names) for change, names in seen.items() if len(names) > 1]


def review(
    base: Project, head: Project, names: Iterable[str], base_label: str, head_label: str
) -> Review:
    """The changes from ``base`` to ``head`` for ``names`` (all of both sides when empty)."""
    chosen = list(names) or sorted(
        set(base.profiles.environments()) | set(head.profiles.environments())
    )
    secret_names = [setting.env for setting in settings() if setting.secret_kind]
    environments = [_environment_changes(base, head, name, secret_names) for name in chosen]
    return Review(base_label, head_label, environments)


def _environment_changes(
    base: Project, head: Project, name: str, secret_names: list[str]
) -> EnvironmentChanges:
    before, before_problems = _build(base, name)
    after, after_problems = _build(head, name)
    problems = {
        side: lines
        for side, lines in (("base", before_problems), ("head", after_problems))
        if lines
    }
    exists = (name in base.profiles.environments(), name in head.profiles.environments())
    status = {(False, True): "added", (True, False): "removed"}.get(exists, "changed")
    result = EnvironmentChanges(name, status, problems=problems)  # type: ignore[arg-type]
    if exists[1]:
        result.stale = _stale(head, name)
    if before is None and after is None:
        return result
    result.tier = (
        before.profile.data["tier"] if before else None,
        after.profile.data["tier"] if after else None,
    )
    old = {v.name: v for v in before.variables} if before else {}
    new = {v.name: v for v in after.variables} if after else {}
    result.variables = _variable_changes(old, new, before, after)
    old_files = _committable(before)
    new_files = _committable(after)
    result.configmap_rolls = any(
        (old.get(c.name) or new.get(c.name)).source == "setting"  # type: ignore[union-attr]
        for c in result.variables
    )
    result.secrets_resync = old_files.get(EXTERNAL_SECRET) != new_files.get(EXTERNAL_SECRET)
    result.compose_services = _changed_services(
        old_files.get(COMPOSE_OVERRIDE), new_files.get(COMPOSE_OVERRIDE)
    )
    if not result.variables and old_files != new_files and before and after:
        prefix = f"{DEFAULT_OUTPUT}/{name}/"
        result.file_diffs = unified_diff(new_files, old_files, prefix, secret_names)
    if status == "changed" and not (
        result.variables or result.file_diffs or result.tier[0] != result.tier[1] or problems
    ):
        result.status = "unchanged"
    return result


def _build(project: Project, name: str) -> tuple[RenderedEnvironment | None, list[str]]:
    if name not in project.profiles.environments():
        return None, []
    try:
        return project.build(name, verify=False), []
    except MantisRenderError as error:
        return None, [str(problem) for problem in error.problems]


def _committable(environment: RenderedEnvironment | None) -> dict[str, str]:
    if environment is None:
        return {}
    return {path: text for path, text in environment.files.items() if path != ".env"}


def _stale(project: Project, name: str) -> list[str]:
    """The committed files of ``name`` at this side that are not what it renders."""
    try:
        statuses = project.check(name, project.root / DEFAULT_OUTPUT)
    except MantisRenderError:
        return []
    root = str(project.root)
    return [f"{status.path.removeprefix(root + '/')}: {status.status}" for status in statuses]


def _variable_changes(
    old: dict[str, Variable],
    new: dict[str, Variable],
    before: RenderedEnvironment | None,
    after: RenderedEnvironment | None,
) -> list[VariableChange]:
    changes = []
    order = list(new) + [name for name in old if name not in new]  # the outputs' order
    for name in order:
        was, now = old.get(name), new.get(name)
        if was is not None and now is not None:
            before_text, after_text = _shown(was), _shown(now)
            if was.value == now.value and before_text == after_text:
                continue
            if was.secret and was.reference is None and now.reference is None:
                before_text = after_text = SECRET_CHANGED
            changes.append(
                VariableChange(name, "changed", before_text, after_text, _where(after, now))
            )
        elif now is not None:
            changes.append(VariableChange(name, "added", None, _shown(now), _where(after, now)))
        elif was is not None:
            changes.append(VariableChange(name, "removed", _shown(was), None, _where(before, was)))
    return changes


def _shown(variable: Variable) -> str:
    """A variable as a reviewer may read it: a secret by its reference, never by its value."""
    if variable.reference is not None:
        return str(variable.reference)
    if variable.secret:
        return "(secret)"
    return variable.value or ""


def _where(environment: RenderedEnvironment | None, variable: Variable) -> str:
    if environment is None or variable.path is None:
        return environment.profile.file if environment else ""
    location = environment.profile.locations.get(variable.path)
    if location is None:
        return environment.profile.file
    return f"{location.file}:{location.line}"


def _changed_services(before: str | None, after: str | None) -> list[str]:
    """The compose services whose configuration differs: `docker compose up -d` recreates them."""
    if before == after:
        return []
    old = _services(before)
    new = _services(after)
    return sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))


def _services(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    services = (document or {}).get("services") or {}
    return dict(services) if isinstance(services, dict) else {}
