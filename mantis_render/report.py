"""Reports for pipelines and people: one class per output format, chosen by name."""

from __future__ import annotations

import json
from dataclasses import asdict

from .audit import SecretAge


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
        widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]
        ]
        return "\n".join(lines) + "\n"


class JsonReporter:
    def audit(self, environment: str, ages: list[SecretAge]) -> str:
        secrets = [asdict(age) for age in ages]
        return json.dumps({"environment": environment, "secrets": secrets}, indent=2) + "\n"


REPORTER_BY_NAME: dict[str, TextReporter | JsonReporter] = {
    "text": TextReporter(),
    "json": JsonReporter(),
}
