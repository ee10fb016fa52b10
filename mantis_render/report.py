"""Reports for people and pipelines: one class per output format, chosen by name."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from .audit import SecretAge
from .compare import FileStatus
from .explain import Explanation


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


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


REPORTER_BY_NAME: dict[str, TextReporter | JsonReporter] = {
    "text": TextReporter(),
    "json": JsonReporter(),
}
