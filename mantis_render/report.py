"""Reports for people and pipelines: one class per output format, chosen by name."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from .audit import SecretAge
from .compare import FileStatus
from .errors import Problem
from .explain import Explanation


@dataclass(frozen=True)
class ValidationResult:
    """An environment's verdict: its problems (errors and warnings) and its waived findings."""

    valid: bool
    problems: list[Problem]
    waived: list[Problem]


class TextReporter:
    def audit(self, environment: str, ages: list[SecretAge]) -> str:
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
        lines.append(f"  lands in      {', '.join(explanation.lands_in) or '(no output)'}")
        lines.append(f"  named in      {', '.join(explanation.named_in) or '(no output)'}")
        return "\n".join(lines) + "\n"


class JsonReporter:
    def audit(self, environment: str, ages: list[SecretAge]) -> str:
        return _json({"environment": environment, "secrets": [asdict(age) for age in ages]})

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
        return _json({"problems": [asdict(problem) for problem in problems]})

    def validate(self, results: dict[str, ValidationResult], misnamed: list[Problem]) -> str:
        return _json(
            {
                "valid": not misnamed and all(result.valid for result in results.values()),
                "environments": {
                    name: {
                        "valid": result.valid,
                        "problems": [asdict(problem) for problem in result.problems],
                        "waived": [asdict(problem) for problem in result.waived],
                    }
                    for name, result in results.items()
                },
                "files": [asdict(problem) for problem in misnamed],
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
