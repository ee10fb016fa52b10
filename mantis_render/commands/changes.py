"""What a change does to every environment: two renders of the project compared, for a reviewer.

Each side is a Project (the working tree, or a revision read by mantis_render.review.revision);
nothing contacts a secret store, and no secret value is ever kept here: a secret shows its
reference, or, for a development literal, only that its value changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import yaml

from ..errors import MantisRenderError, Problem, UnknownEnvironmentError, quoted
from ..layout import DEFAULT_OUTPUT
from ..outputs.render import (
    EXTERNAL_SECRET,
    KUSTOMIZATION,
    LITERAL_SECRET,
    PRIVATE_OUTPUTS,
    TLS_EXTERNAL_SECRET,
    TLS_LITERAL_SECRET,
)
from ..outputs.stack import in_containers_name
from ..outputs.writing import read_environment
from ..profiles import ENVIRONMENT_NAME
from ..profiles.composed import SECTION as COMPOSED
from ..profiles.composed import flattened, placeholders
from ..profiles.variables import Variable
from ..project import Project, RenderedEnvironment
from ..review.compare import compare_files, unified_diff
from ..review.masking import Masker, secret_lines

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
    # By name, what Kubernetes does: each ConfigMap whose content changes (kustomize renames it
    # and the pods using it roll), each ExternalSecret that re-syncs, each Secret manifest that
    # changes (pods read it when they start).
    configmaps: list[str] = field(default_factory=list)
    external_secrets: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    file_diffs: list[str] = field(default_factory=list)  # masked: a template-only change
    problems: dict[str, list[str]] = field(default_factory=dict)  # "base"/"head" -> lines
    stale: list[str] = field(default_factory=list)  # committed files at head not current
    findings_introduced: list[str] = field(default_factory=list)  # policy, as at head
    findings_fixed: list[str] = field(default_factory=list)  # policy, as at base
    errors_introduced: bool = False  # an error-level policy finding is among the introduced
    waivers_added: list[str] = field(default_factory=list)  # "rule: reason"
    waivers_removed: list[str] = field(default_factory=list)


@dataclass
class Review:
    base: str
    head: str
    environments: list[EnvironmentChanges]

    def fails_policy_gate(self) -> bool:
        """What --fail-on policy fails on: an error-level finding the change introduces, or an
        environment that does not build at head (a profile that no longer parses is worse)."""
        return any(
            environment.errors_introduced or "head" in environment.problems
            for environment in self.environments
        )

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
    known = sorted(set(base.profiles.environments()) | set(head.profiles.environments()))
    for name in names:
        if not ENVIRONMENT_NAME.fullmatch(name) or name not in known:
            raise UnknownEnvironmentError(
                f"no environment {quoted(name)} at either revision (known: {', '.join(known)})"
            )
    chosen = list(dict.fromkeys(names)) or known
    environments = [_environment_changes(base, head, name) for name in chosen]
    return Review(base_label, head_label, environments)


def _environment_changes(base: Project, head: Project, name: str) -> EnvironmentChanges:
    before, before_problems = _build(base, name)
    after, after_problems = _build(head, name)
    # What keeps a side from building, but policy findings: those are compared below.
    problems = {
        side: [str(p) for p in found if not p.rule]
        for side, found in (("base", before_problems), ("head", after_problems))
        if any(not p.rule for p in found)
    }
    exists = (name in base.profiles.environments(), name in head.profiles.environments())
    status = {(False, True): "added", (True, False): "removed"}.get(exists, "changed")
    result = EnvironmentChanges(name, status, problems=problems)  # type: ignore[arg-type]
    if exists[1]:
        result.stale = _stale(head, name, after)
    old_findings = _findings(before, before_problems)
    new_findings = _findings(after, after_problems)
    introduced = [p for key, p in new_findings.items() if key not in old_findings]
    result.findings_introduced = [str(p) for p in introduced]
    result.findings_fixed = [str(p) for key, p in old_findings.items() if key not in new_findings]
    result.errors_introduced = any(p.severity == "error" for p in introduced)
    old_waivers, new_waivers = _waivers(base, name), _waivers(head, name)
    result.waivers_added = [w for w in new_waivers if w not in old_waivers]
    result.waivers_removed = [w for w in old_waivers if w not in new_waivers]
    if (exists[0] and before is None) or (exists[1] and after is None):
        return result  # a side that does not build: its findings say why; no variables compared
    result.tier = (
        before.profile.data["tier"] if before else None,
        after.profile.data["tier"] if after else None,
    )
    old = {v.name: v for v in before.variables} if before else {}
    new = {v.name: v for v in after.variables} if after else {}
    result.variables = _variable_changes(old, new, before, after)
    old_files = _committable(before)
    new_files = _committable(after)
    result.configmaps = _changed(
        _config_maps(old_files.get(KUSTOMIZATION)), _config_maps(new_files.get(KUSTOMIZATION))
    )
    result.external_secrets = _changed(
        *(
            _objects(files, (EXTERNAL_SECRET, TLS_EXTERNAL_SECRET))
            for files in (old_files, new_files)
        )
    )
    result.secrets = _changed(
        *(_objects(files, (LITERAL_SECRET, TLS_LITERAL_SECRET)) for files in (old_files, new_files))
    )
    result.configmap_rolls = bool(result.configmaps)
    result.secrets_resync = bool(result.external_secrets)
    names = _with_readers([change.name for change in result.variables], after)
    # a composed secret's containers' form, which .env holds for compose's interpolation too
    names += [in_containers_name(head.catalogue(), name) for name in names]
    result.compose_services = _changed_services(
        old_files.get(COMPOSE_OVERRIDE), new_files.get(COMPOSE_OVERRIDE), names
    )
    if not result.variables and old_files != new_files and before and after:
        prefix = f"{DEFAULT_OUTPUT}/{name}/"
        masker = _masker(base, head, name)
        result.file_diffs = unified_diff(new_files, old_files, prefix, masker)
    if status == "changed" and not (
        result.variables
        or result.file_diffs
        or result.tier[0] != result.tier[1]
        or problems
        or result.findings_introduced
        or result.findings_fixed
        or result.waivers_added
        or result.waivers_removed
    ):
        result.status = "unchanged"
    return result


def _masker(base: Project, head: Project, name: str) -> Masker:
    """What hides the secrets of both sides (mantis_render.review.masking): their names and known
    values, and where each side's files hold one."""
    base_names, base_values, base_marked = base.secret_traits(name)
    head_names, head_values, head_marked = head.secret_traits(name)
    return Masker(
        [*base_names, *head_names],
        [*base_values, *head_values],
        new=secret_lines(head_marked),
        old=secret_lines(base_marked),
    )


def _build(project: Project, name: str) -> tuple[RenderedEnvironment | None, list[Problem]]:
    if name not in project.profiles.environments():
        return None, []
    try:
        return project.build(name, verify=False), []
    except MantisRenderError as error:
        return None, list(error.problems)


def _findings(
    environment: RenderedEnvironment | None, problems: list[Problem]
) -> dict[tuple[str, str, str], Problem]:
    """Policy findings by (rule, key, message): what fails a build, and what only warns."""
    found = [p for p in problems if p.rule]
    if environment is not None:
        found += environment.policy.problems
    return {(p.rule, p.key, p.message): p for p in found}


def _waivers(project: Project, name: str) -> list[str]:
    if name not in project.profiles.environments():
        return []
    try:
        waivers = project.profiles.load(name).data.get("waivers") or []
    except MantisRenderError:
        return []
    return [f"{w.get('rule')}: {w.get('reason')}" for w in waivers if isinstance(w, dict)]


def _committable(environment: RenderedEnvironment | None) -> dict[str, str]:
    if environment is None:
        return {}
    return {path: text for path, text in environment.files.items() if path not in PRIVATE_OUTPUTS}


def _stale(project: Project, name: str, rendered: RenderedEnvironment | None) -> list[str]:
    """The committed files of ``name`` at this side that are not what it renders."""
    if rendered is None:
        return []
    on_disk = read_environment(project.root / DEFAULT_OUTPUT, name)
    statuses = compare_files(_committable(rendered), on_disk, f"{DEFAULT_OUTPUT}/{name}/")
    return [f"{status.path}: {status.status}" for status in statuses]


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


def _changed(old: dict[str, object], new: dict[str, object]) -> list[str]:
    """The names whose object differs between the sides (added and removed ones too)."""
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def _config_maps(text: str | None) -> dict[str, object]:
    """The kustomization's generated ConfigMaps, by name: what each holds."""
    if not text:
        return {}
    document = _load(text)
    generated = document.get("configMapGenerator") if isinstance(document, dict) else None
    return {
        str(entry.get("name")): entry
        for entry in generated or []
        if isinstance(entry, dict) and entry.get("name")
    }


def _objects(files: dict[str, str], paths: tuple[str, ...]) -> dict[str, object]:
    """The Kubernetes objects of these files, by name (a file may hold several documents)."""
    found: dict[str, object] = {}
    for path in paths:
        text = files.get(path)
        if not text:
            continue
        for document in yaml.load_all(text, Loader=_LOADER):
            if isinstance(document, dict):
                name = (document.get("metadata") or {}).get("name")
                found[str(name)] = document
    return found


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str) -> object:
    return yaml.load(text, Loader=_LOADER)


def _with_readers(names: list[str], after: RenderedEnvironment | None) -> list[str]:
    """``names`` and the composed variables that read one of them: their value changes with
    it, though their template does not."""
    if after is None:
        return names
    paths = {v.path for v in after.variables if v.path and v.name in names}
    declared = after.profile.data.get(COMPOSED) or {}
    readers = [
        name
        for name in declared
        if name not in names
        and any(part.path in paths for part in placeholders(flattened(declared, name)))
    ]
    return [*names, *readers]


def _changed_services(before: str | None, after: str | None, changed: list[str]) -> list[str]:
    """The compose services `docker compose up -d` recreates: those whose configuration in the
    override differs, and those whose configuration reads a changed variable of .env — by
    interpolation (a secret, as ${NAME:?...}) or through env_file."""
    old, new = _services(before), _services(after)
    names = {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}
    if changed:
        reads = re.compile(r"\$\{(?:" + "|".join(map(re.escape, changed)) + r")[}:?-]")
        for name, service in new.items():
            text = json.dumps(service)
            if '"env_file"' in text or reads.search(text):
                names.add(name)
    return sorted(names)


def _services(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    document = _load(text)
    services = document.get("services") if isinstance(document, dict) else None
    return dict(services) if isinstance(services, dict) else {}
