"""Read rendered text back before it is written, so a broken template never reaches the disk."""

from __future__ import annotations

import yaml

from .errors import Problem
from .yaml_source import describe_yaml_error

YAML_SUFFIXES = (".yaml", ".yml")


def verify_rendered(files: dict[str, str], display_prefix: str) -> list[Problem]:
    """Problems with the rendered files: today, YAML outputs that do not parse."""
    problems = []
    for path, text in files.items():
        if path.endswith(YAML_SUFFIXES):
            try:
                yaml.safe_load(text)
            except yaml.MarkedYAMLError as error:
                line, reason = describe_yaml_error(error)
                problems.append(
                    Problem(
                        display_prefix + path, line, "", f"rendered YAML does not parse: {reason}"
                    )
                )
    return problems
