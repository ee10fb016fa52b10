"""Reports for people and pipelines: one class per output format, chosen by name."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .errors import Problem
from .review.compare import FileStatus
from .review.explain import Explanation
from .secrets.audit import CertificateAge, SecretAge

if TYPE_CHECKING:
    from .commands.changes import EnvironmentChanges, Review, VariableChange
    from .commands.doctor import Check


@dataclass(frozen=True)
class ValidationResult:
    """An environment's verdict: its problems (errors and warnings) and its waived findings."""

    valid: bool
    problems: list[Problem]
    waived: list[Problem]


class TextReporter:
    def audit(
        self, environment: str, ages: list[SecretAge], certificate: CertificateAge | None = None
    ) -> str:
        text = self._secret_ages(ages) if ages else ""
        if certificate is not None:
            header = ("CERTIFICATE", "NAMES", "EXPIRES", "LEFT", "RENEW", "STATUS")
            row = (
                certificate.subject,
                ",".join(certificate.hosts) or "-",
                certificate.expires,
                f"{certificate.days_left}d",
                f"{certificate.renew_before_days}d",
                certificate.status,
            )
            text += ("\n" if text else "") + _table([header, row])
        return text

    def _secret_ages(self, ages: list[SecretAge]) -> str:
        header = ("VARIABLE", "REFERENCE", "AGE", "LIMIT", "STATUS")
        rows = [
            (
                age.variable,
                age.reference,
                "-" if age.age_days is None else f"{age.age_days}d",
                f"{age.max_age_days}d",
                age.status,
            )
            for age in ages
        ]
        return _table([header, *rows])

    def doctor(self, environment: str, checks: list[Check], color: bool = False) -> str:
        """``color``: the marks in green and red (on a terminal, unless NO_COLOR is set)."""
        marks = {"ok": "✓", "failed": "✗", "skipped": "-"}
        if color:
            marks = {status: _ANSI[status].format(mark) for status, mark in marks.items()}
        lines = []
        for check in checks:
            line = f"{marks[check.status]} {check.detail}"
            lines.append(
                f"{line}; fix: {check.fix}" if check.fix and check.status == "failed" else line
            )
        return "\n".join(lines) + "\n"

    def check(self, results: dict[str, list[FileStatus]]) -> str:
        lines = []
        for environment, statuses in results.items():
            if not statuses:
                lines.append(f"{environment}: up to date")
            lines += [f"{status.path}: {status.status}" for status in statuses]
        return "\n".join(lines) + "\n" if lines else ""

    def explain(self, explanation: Explanation) -> str:
        lines = [f"{explanation.variable} = {explanation.value}"]
        origin = explanation.set_by
        if explanation.setting is None and origin is not None:
            lines.append(f"  derived from  the file name of {origin.file}")
        elif origin is not None:
            lines.append(f"  set by        {origin.file}:{origin.line}  {explanation.setting}")
        for overridden in explanation.overrides:
            lines.append(f"  overrides     {overridden.file}:{overridden.line}  {overridden.value}")
        if explanation.in_containers is not None:
            lines.append(
                f"  containers    {explanation.in_containers}  ({explanation.in_containers_why})"
            )
        for part in explanation.parts:
            lines.append(f"  part          {part.file}:{part.line}  {part.value}")
        if explanation.services:
            lines.append(f"  services      {', '.join(explanation.services)}")
        lines.append(f"  lands in      {', '.join(explanation.lands_in) or '(no output)'}")
        lines.append(f"  named in      {', '.join(explanation.named_in) or '(no output)'}")
        return "\n".join(lines) + "\n"


_ANSI = {"ok": "\x1b[32m{}\x1b[0m", "failed": "\x1b[31m{}\x1b[0m", "skipped": "{}"}


class JsonReporter:
    def audit(
        self,
        environment: str,
        ages: list[SecretAge],
        certificate: CertificateAge | None = None,
        problems: Sequence[Problem] = (),
    ) -> str:
        return _json(
            {
                "environment": environment,
                "secrets": [asdict(age) for age in ages],
                "certificate": asdict(certificate) if certificate else None,
                "problems": [problem._asdict() for problem in problems],
            }
        )

    def doctor(self, environment: str, checks: list[Check], color: bool = False) -> str:
        return _json(
            {
                "environment": environment,
                "healthy": all(check.status != "failed" for check in checks),
                "checks": [asdict(check) for check in checks],
            }
        )

    def check(self, results: dict[str, list[FileStatus]]) -> str:
        return _json(
            {
                "up_to_date": not any(results.values()),
                "environments": {
                    name: [asdict(status) for status in statuses]
                    for name, statuses in results.items()
                },
            }
        )

    def explain(self, explanation: Explanation) -> str:
        return _json(asdict(explanation))

    def problems(self, problems: list[Problem]) -> str:
        return _json({"problems": [problem._asdict() for problem in problems]})

    def validate(self, results: dict[str, ValidationResult], misnamed: list[Problem]) -> str:
        return _json(
            {
                "valid": not misnamed and all(result.valid for result in results.values()),
                "environments": {
                    name: {
                        "valid": result.valid,
                        "problems": [problem._asdict() for problem in result.problems],
                        "waived": [problem._asdict() for problem in result.waived],
                    }
                    for name, result in results.items()
                },
                "files": [problem._asdict() for problem in misnamed],
            }
        )


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


JSON_REPORTER = JsonReporter()
REPORTER_BY_NAME: dict[str, TextReporter | JsonReporter] = {
    "text": TextReporter(),
    "json": JSON_REPORTER,
}


# -- changes: a review of what a change does to every environment -----------------------------


def _change_line(change: VariableChange) -> str:
    if change.kind == "added":
        return f"+ {change.name} = {change.after}  ({change.where})"
    if change.kind == "removed":
        return f"- {change.name} (was {change.before})  ({change.where})"
    if change.before == change.after:  # a literal secret: never either value
        return f"~ {change.name}: {change.after}  ({change.where})"
    return f"~ {change.name}: {change.before} -> {change.after}  ({change.where})"


def _effects(environment: EnvironmentChanges) -> list[str]:
    effects = []
    if environment.configmaps:
        effects.append(
            "kustomize renames the changed ConfigMaps and the pods using them roll: "
            + ", ".join(environment.configmaps)
        )
    if environment.external_secrets:
        effects.append(
            "the changed ExternalSecrets re-sync their secrets: "
            + ", ".join(environment.external_secrets)
        )
    if environment.secrets:
        effects.append(
            "the changed Secrets reach running pods only when they restart: "
            + ", ".join(environment.secrets)
        )
    if environment.compose_services:
        names = ", ".join(environment.compose_services)
        effects.append(f"docker compose up -d recreates: {names}")
    return effects


def _findings(environment: EnvironmentChanges) -> list[tuple[str, str]]:
    """(label, text) of what keeps a side from building, policy findings and waivers."""
    notes = [
        (f"invalid at {side}", problem)
        for side, problems in environment.problems.items()
        for problem in problems
    ]
    notes += [("policy, new", finding) for finding in environment.findings_introduced]
    notes += [("policy, fixed", finding) for finding in environment.findings_fixed]
    notes += [("waiver added", waiver) for waiver in environment.waivers_added]
    notes += [("waiver removed", waiver) for waiver in environment.waivers_removed]
    return notes


def _heading(environment: EnvironmentChanges) -> str:
    before, after = environment.tier
    if environment.status == "added":
        return f"{environment.name}: added" + (f" (tier {after})" if after else "")
    if environment.status == "removed":
        return f"{environment.name}: removed" + (f" (was tier {before})" if before else "")
    tier = f" (tier {before} -> {after})" if before and after and before != after else ""
    return (
        f"{environment.name}:{tier}"
        if environment.status == "changed"
        else (f"{environment.name}: no change")
    )


class ChangesTextReporter:
    def changes(self, review: Review) -> str:
        lines = [f"Changes from {review.base} to {review.head}"]
        for environment in review.environments:
            for stale in environment.stale:
                lines.append(
                    f"stale at {review.head}: {stale} (rendered/ is not what the profiles render)"
                )
        shared = review.shared_changes()
        shared_keys = {change for change, _ in shared}
        for change, names in shared:
            lines.append(f"{', '.join(names)}: {_change_line(change)}")
        for environment in review.environments:
            lines.append(_heading(environment))
            lines += [f"  {label}: {text}" for label, text in _findings(environment)]
            lines += [f"  {_change_line(c)}" for c in environment.variables if c not in shared_keys]
            if any(c in shared_keys for c in environment.variables):
                lines.append("  (and the changes shared with other environments, above)")
            lines += [f"  -> {effect}" for effect in _effects(environment)]
            lines += [f"  {line.rstrip()}" for line in environment.file_diffs]
        return "\n".join(lines) + "\n"


# GitHub refuses a pull-request comment longer than this; the summary is kept, the rest cut.
COMMENT_LIMIT = 65_536
_CUT_NOTE_ROOM = 600


class ChangesMarkdownReporter:
    """A pull-request comment: a summary table, then a collapsible section per environment;
    never longer than a comment may be (COMMENT_LIMIT), saying what was cut to fit."""

    def __init__(self, limit: int = COMMENT_LIMIT) -> None:
        self.limit = limit

    def changes(self, review: Review) -> str:
        comment = _Comment(self.limit - _CUT_NOTE_ROOM)
        comment.add([f"### mantis-render: changes from `{review.base}` to `{review.head}`", ""])
        stale = [f"`{s}`" for e in review.environments for s in e.stale]
        if stale:
            comment.add(
                [
                    f"> **The committed `rendered/` is stale at {review.head}**: "
                    f"{', '.join(stale[:50])}{' …' if len(stale) > 50 else ''}. "
                    "Run `make render` and commit it.",
                    "",
                ]
            )
        comment.add(
            [
                "| environment | status | added | changed | removed | rolls |",
                "|---|---|---:|---:|---:|---|",
            ]
        )
        cut = {"rows": 0, "shared": 0, "details": 0, "diffs": 0}
        for environment in review.environments:
            counts = {kind: 0 for kind in ("added", "changed", "removed")}
            for change in environment.variables:
                counts[change.kind] += 1
            rolls = "; ".join(_effects(environment)) or "—"
            row = (
                f"| {environment.name} | {environment.status} | {counts['added']} | "
                f"{counts['changed']} | {counts['removed']} | {rolls} |"
            )
            cut["rows"] += not comment.add([row])
        shared = review.shared_changes()
        if shared:
            comment.add(["", "**In several environments**", ""])
            for c, names in shared:
                cut["shared"] += not comment.add([f"- {', '.join(names)}: `{_change_line(c)}`"])
        for environment in review.environments:
            if environment.status == "unchanged":
                continue
            full, short = _details(environment)
            if comment.add(full):
                continue
            if short != full and comment.add(short):
                cut["diffs"] += 1
            else:
                cut["details"] += 1
        return comment.text(_cut_note(cut, self.limit))


def _details(environment: EnvironmentChanges) -> tuple[list[str], list[str]]:
    """An environment's section, with its file diffs and without them."""
    summary = f"<details><summary><b>{environment.name}</b>: {environment.status}</summary>"
    lines = ["", summary, ""]
    lines += [f"- {label}: `{text}`" for label, text in _findings(environment)]
    lines += [f"- `{_change_line(c)}`" for c in environment.variables]
    lines += [f"- {effect}" for effect in _effects(environment)]
    short = [*lines, "", "</details>"]
    if not environment.file_diffs:
        return short, short
    diff = ["", "```diff", *(line.rstrip("\n") for line in environment.file_diffs), "```"]
    return [*lines, *diff, "", "</details>"], [
        *lines,
        "- (its diff is cut to fit the comment)",
        "",
        "</details>",
    ]


def _cut_note(cut: dict[str, int], limit: int) -> list[str]:
    said = [
        f"{count} {what}"
        for count, what in (
            (cut["rows"], "summary rows"),
            (cut["shared"], "shared changes"),
            (cut["details"], "environments' details"),
            (cut["diffs"], "environments' diffs"),
        )
        if count
    ]
    if not said:
        return []
    return [
        "",
        f"> **Cut to fit a comment ({limit:,} characters)**: {', '.join(said)}. The whole "
        "report: `mantis-render changes --format text` (or `--format json`).",
    ]


class _Comment:
    """Lines added while they fit in ``budget`` characters (the text with line feeds)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.lines: list[str] = []
        self.size = 0

    def add(self, lines: list[str]) -> bool:
        size = sum(len(line) + 1 for line in lines)
        if self.size + size > self.budget:
            return False
        self.lines += lines
        self.size += size
        return True

    def text(self, note: list[str]) -> str:
        return "\n".join([*self.lines, *note]) + "\n"


class ChangesJsonReporter:
    def changes(self, review: Review) -> str:
        return _json(
            {
                "base": review.base,
                "head": review.head,
                "environments": [
                    {**asdict(environment), "effects": _effects(environment)}
                    for environment in review.environments
                ],
                "shared": [
                    {"change": asdict(change), "environments": names}
                    for change, names in review.shared_changes()
                ],
            }
        )


CHANGES_REPORTERS: dict[
    str, ChangesTextReporter | ChangesMarkdownReporter | ChangesJsonReporter
] = {
    "text": ChangesTextReporter(),
    "markdown": ChangesMarkdownReporter(),
    "json": ChangesJsonReporter(),
}
