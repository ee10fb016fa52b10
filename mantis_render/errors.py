"""Problems a user can fix, as values that carry their location."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, printed as ``file:line: key: message [rule]``.

    Fields are ordered so that sorting a list of problems sorts them by position. Policy
    problems carry the id of their rule, and a severity: only errors fail a command.
    """

    file: str
    line: int
    key: str
    message: str
    rule: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        if self.severity == "warning":
            text = f"{text} (warning)"
        return f"{text} [{self.rule}]" if self.rule else text


class MantisRenderError(Exception):
    """An expected failure: the CLI prints its problems, one per line, and exits 1."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))


class ProfileError(MantisRenderError):
    """A profile cannot be loaded or does not match the schema."""


class SecretError(MantisRenderError):
    """A secret reference could not be resolved (the messages never hold a secret value)."""


class PolicyError(MantisRenderError):
    """An environment breaks an error-level policy rule (the problems include its warnings)."""


class RenderError(MantisRenderError):
    """A template failed, or a value cannot be written exactly in some output format."""


class UnknownEnvironmentError(Exception):
    """The environment named on the command line has no profile (a usage error)."""
