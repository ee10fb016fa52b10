"""An existing env file read as python-dotenv reads it, and where bash and docker compose differ.

The value of each assignment is python-dotenv's (``dotenv_values``): an optional ``export``, a
key, ``=``, then a single-quoted value (``\\'`` and ``\\\\`` decoded), a double-quoted one
(``\\n``, ``\\t``, ``\\"`` … decoded; it may span lines) or an unquoted one (up to a ``#`` that
follows whitespace, trailing whitespace dropped); ``${NAME}`` and ``${NAME:-default}`` are
replaced, in every form, by what the file set earlier. Nothing in the file is run.

The same line can mean something else to the two other readers of an env file, and import says
so rather than guess which one the team relies on: ``source .env`` in bash runs an unquoted value
with a space in it as a command (``JAVA_OPTS=-Xms256m -Xmx1g`` runs ``-Xmx1g``) and expands
``$NAME``; docker compose expands ``$NAME`` too, and reads escapes and single quotes its own way.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple

_SPACE = re.compile(r"\s*", re.MULTILINE)
_EXPORT = re.compile(r"(?:export[^\S\r\n]+)?")
_QUOTED_KEY = re.compile(r"'([^']+)'")
_KEY = re.compile(r"([^=\#\s]+)")
_BLANKS = re.compile(r"[^\S\r\n]*")
_EQUALS = re.compile(r"=[^\S\r\n]*")
_SINGLE = re.compile(r"'((?:\\.|[^'\\])*)'", re.DOTALL)
_DOUBLE = re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL)
_UNQUOTED = re.compile(r"[^\r\n]*")
_COMMENT = re.compile(r"(?:[^\S\r\n]*#[^\r\n]*)?")
_END = re.compile(r"[^\S\r\n]*(?:\r\n|\n|\r|$)")
_REST = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")
_SINGLE_ESCAPES = re.compile(r"\\[\\']")
_DOUBLE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
INTERPOLATION = re.compile(r"\$\{(?P<name>[^}:]*)(?::-(?P<default>[^}]*))?\}")
# A commented-out assignment: "# NAME=value" (a comment that reads as one).
_COMMENTED = re.compile(r"#+[^\S\r\n]*(?:export[^\S\r\n]+)?([A-Za-z_][A-Za-z0-9_]*)=")
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What bash reads as syntax in an unquoted value (an assignment is not globbed).
_SHELL_SYNTAX = re.compile(r"[$`\\\"'|&;<>()]")


class Entry(NamedTuple):
    """One assignment: where it is, its name, python-dotenv's value (None for a name with no
    ``=``) and what the other readers make of the line (empty when they agree)."""

    line: int
    name: str
    value: str | None
    quote: str  # "'", '"' or "" (unquoted)
    raw: str | None  # the value before ${NAME} is replaced (escapes decoded)
    interpolated: tuple[str, ...]  # the names ${NAME} reads
    differs: tuple[str, ...]


class EnvFile(NamedTuple):
    path: str
    entries: list[Entry]  # every assignment in file order, a name set twice included
    commented: list[tuple[int, str]]  # commented-out assignments: line, name
    unreadable: list[int]  # lines python-dotenv skips with a warning

    def values(self) -> dict[str, Entry]:
        """Each name's entry as the readers take it: the last one."""
        return {entry.name: entry for entry in self.entries}


def read_env_file(path: str, text: str, environ: Mapping[str, str] | None = None) -> EnvFile:
    """``text`` as python-dotenv reads it; ``${NAME}`` of a name the file has not set is
    ``environ``'s (none: empty, as python-dotenv reads it with no such variable)."""
    entries: list[Entry] = []
    commented: list[tuple[int, str]] = []
    unreadable: list[int] = []
    known: dict[str, str] = {}
    position = 0
    while position < len(text):
        position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
        if position >= len(text):
            break
        line = text.count("\n", 0, position) + 1
        start = position
        try:
            binding = _binding(text, position)
        except _Unreadable as error:  # python-dotenv skips the rest of the line it got to
            unreadable.append(line)
            position = _REST.match(text, error.position).end()  # type: ignore[union-attr]
            continue
        position, name, raw, quote, source = binding
        if name is None:
            found = _COMMENTED.match(text, start)
            if found:
                commented.append((line, found[1]))
            continue
        value, names = (None, ()) if raw is None else _interpolate(raw, known, environ or {})
        if value is not None:
            known[name] = value
        differs = tuple(_differs(name, source, quote))
        entries.append(Entry(line, name, value, quote, raw, names, differs))
    return EnvFile(path, entries, commented, unreadable)


class _Unreadable(ValueError):
    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


def _binding(text: str, position: int) -> tuple[int, str | None, str | None, str, str | None]:
    """The assignment at ``position``: where the next starts, its name (None for a comment),
    its raw value (escapes decoded, before interpolation; None without ``=``), its quote, and
    the value as written between the quotes; _Unreadable where it stops parsing."""
    position = _EXPORT.match(text, position).end()  # type: ignore[union-attr]
    if text.startswith("#", position):
        return _REST.match(text, position).end(), None, None, "", None  # type: ignore[union-attr]
    key = (_QUOTED_KEY if text.startswith("'", position) else _KEY).match(text, position)
    if key is None:
        raise _Unreadable(position)
    name = key[1]
    position = _BLANKS.match(text, key.end()).end()  # type: ignore[union-attr]
    raw: str | None = None
    source: str | None = None
    quote = ""
    if text.startswith("=", position):
        equals = _EQUALS.match(text, position)
        assert equals is not None
        position = equals.end()
        if len(equals[0]) > 1 and text.startswith("#", position):
            raw = source = ""
        elif text.startswith("'", position) or text.startswith('"', position):
            quote = text[position]
            found = (_SINGLE if quote == "'" else _DOUBLE).match(text, position)
            if found is None:
                raise _Unreadable(position)
            escapes = _SINGLE_ESCAPES if quote == "'" else _DOUBLE_ESCAPES
            source = found[1]
            raw = escapes.sub(lambda m: codecs.decode(m[0], "unicode-escape"), found[1])
            position = found.end()
        else:
            found = _UNQUOTED.match(text, position)
            assert found is not None
            raw = source = re.sub(r"\s+#.*", "", found[0]).rstrip()
            position = found.end()
    position = _COMMENT.match(text, position).end()  # type: ignore[union-attr]
    end = _END.match(text, position)
    if end is None:
        raise _Unreadable(position)
    return end.end(), name, raw, quote, source


def _interpolate(
    raw: str, known: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[str, tuple[str, ...]]:
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        names.append(match["name"])
        value = known.get(match["name"], environ.get(match["name"]))
        if value is None:
            return match["default"] or ""
        return value

    return INTERPOLATION.sub(replace, raw), tuple(names)


def _differs(name: str, raw: str | None, quote: str) -> Iterator[str]:
    """How bash's ``source`` and docker compose read the assignment otherwise than
    python-dotenv (each a phrase naming the reader); ``raw``: the value as written."""
    if raw is None:
        yield "bash runs it as a command, and docker compose reads it from its own environment"
        return
    if not _SHELL_NAME.fullmatch(name):
        yield f"bash runs it as a command ({name} is not a shell variable's name)"
        return
    if quote != "'":  # ${NAME} and ${NAME:-default}: all three read them alike
        raw = INTERPOLATION.sub("x", raw)
    if quote == "":
        words = raw.split()
        if len(words) > 1:
            rest = " ".join(words[1:])
            yield f"bash runs {rest!r} as a command, with {name} set for it only"
        if "<" in raw or ">" in raw:
            yield (
                "bash reads < or > in it as a redirection: `source` stops at this line when "
                "no such file exists, and reads no line after it"
            )
        elif len(words) == 1 and (_SHELL_SYNTAX.search(raw) or raw.startswith("~")):
            yield "bash reads shell syntax in it (quote it in single quotes)"
        if re.search(r"\$(?!\{)", raw):
            yield "docker compose expands the $ in it"
    elif quote == '"':
        if "$" in raw or "`" in raw:
            yield "bash expands the $ or ` in it"
        if re.search(r"\$(?!\{)", raw):
            yield "docker compose expands the $ in it"
        if re.search(r"\\(?![\\\"])", raw) or any(c in raw for c in "\a\b\f\v"):
            yield "bash and docker compose read its escapes otherwise"
    else:
        if "\\" in raw or "${" in raw:
            yield "bash and docker compose read it literally (no ${} and no \\ escapes)"
