"""Problems a user can fix, as values that carry their location."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import NamedTuple

# A file with a million mistakes is reported by its first ones and a count: one line per
# problem for this many, then the count, so that neither the report nor its memory grows.
PROBLEM_LIMIT = 100


class Problem(NamedTuple):
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


QUOTED_LIMIT = 40


def quoted(value: object, limit: int = QUOTED_LIMIT) -> str:
    """``repr(value)`` for a message, shortened to its first ``limit`` characters and its length
    when longer: an error line never echoes a whole megabyte."""
    text = repr(value)
    if len(text) <= limit + 2:
        return text
    shown = str(value)[:limit]
    return f"{shown!r}... ({len(str(value)):,} characters)"


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` a mistyped ``word`` was most likely meant to be, if any is close.
    (difflib is imported here: only a run with a mistake in it needs it.)"""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None


def first_problems(
    problems: Iterable[Problem], limit: int = PROBLEM_LIMIT, total: int = 0
) -> list[Problem]:
    """The first ``limit`` problems by position, and a line counting the others, kept in
    bounded memory whatever the number. The count sorts first (line 0) and reads as a header.
    ``total``: how many there were, when ``problems`` holds only the first of them."""
    counted = 0

    def counting() -> Iterable[Problem]:
        nonlocal counted
        for problem in problems:
            counted += 1
            yield problem

    first = heapq.nsmallest(limit, counting())
    counted = max(counted, total)
    if counted <= limit:
        return first
    more = f"{counted - limit:,} more problems than the {limit} below; fix these first"
    return [Problem(first[0].file, 0, "", more), *first]


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
