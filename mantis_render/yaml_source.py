"""Parse YAML text into plain data plus the line of every key, refusing duplicate keys.

Scalars follow the YAML 1.2 core schema, not PyYAML's YAML 1.1 defaults: ``off``, ``no`` and
``yes`` stay strings, ``0123`` is the decimal 123 and ``22:22`` is not a sexagesimal number.
Profiles use words like ``off`` as values, and YAML 1.1 would silently turn them into booleans.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar, NamedTuple

import yaml

from .errors import PROBLEM_LIMIT, Problem, first_problems, quoted

# libyaml parses several times faster and reports the same lines; PyYAML may be built without it.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
# Profiles nest a few levels; anything this deep is a mistake, and is refused before the builder,
# the merge or cerberus (each of which descends it) run out of stack. libyaml's own limit is 1,000.
MAX_DEPTH = 64


class _CoreSchemaLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Resolves plain scalars by the YAML 1.2 core schema."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


for _tag, _pattern, _first in [
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
]:
    _CoreSchemaLoader.add_implicit_resolver(_TAG + _tag, re.compile(_pattern), _first)


class ParsedYaml(NamedTuple):
    """A YAML document as plain data, and the 1-based line where each key path was written."""

    data: Any
    lines: dict[KeyPath, int]


class YamlProblems(Exception):
    """Raised with every problem found while parsing one document."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def parse_yaml(text: str, display_name: str, with_lines: bool = True) -> ParsedYaml:
    """Parse one YAML document; raise YamlProblems naming ``display_name`` on any problem.

    ``with_lines=False`` records no line (``lines`` is empty), for a reader that needs them only
    when something is wrong and can parse again then: most of the memory a parse takes.

    Built from libyaml's events as they come, with no node graph held and no recursion: a
    million keys take a fraction of the memory and time of composing nodes first, and nesting is
    refused past MAX_DEPTH instead of running out of stack.
    """
    builder = _Builder(display_name, with_lines)
    loader = _CoreSchemaLoader(text)
    try:
        data = builder.build(loader)
    except yaml.MarkedYAMLError as error:
        line, reason = describe_yaml_error(error)
        raise YamlProblems([Problem(display_name, line, "", f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as error:  # e.g. a character YAML does not allow
        raise YamlProblems([Problem(display_name, 0, "", f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise YamlProblems(first_problems(builder.problems, total=builder.found))
    return ParsedYaml(data, builder.lines)


def describe_yaml_error(error: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The 1-based line and a one-line reason for a YAML syntax error."""
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark else 0
    reason = error.problem or error.context or "not valid YAML"
    if error.context and error.problem and not error.context.startswith("while"):
        reason = f"{error.context}, {error.problem}"  # e.g. "expected a single document, but ..."
    elif error.context and error.context_mark and error.context_mark.line + 1 != line:
        # PyYAML notices an unclosed bracket or quote later on; say where it began.
        reason += f" ({error.context} started on line {error.context_mark.line + 1})"
    return line, reason


def format_key_path(path: KeyPath) -> str:
    """``('broker', 'servers', 0)`` -> ``broker.servers[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


_COLLECTION_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
# Aliases may repeat what an anchor holds; past this many values, and ten times what the
# document itself writes, it is refused rather than expanded (the "billion laughs" of nested
# aliases grows exponentially; a large compose override that aliases one mapping per service,
# linearly).
MAX_ALIASED_VALUES = 100_000
ALIAS_GROWTH = 10


class _Open:
    """A mapping or sequence being built: its value, path, and the key awaiting its value.
    (One for every collection of every file parsed, hence the slots.)"""

    __slots__ = ("anchor", "first_line", "key", "path", "size", "skip_value", "value")

    def __init__(
        self, value: dict[str, Any] | list[Any], path: KeyPath, anchor: str | None, first_line: int
    ) -> None:
        self.value = value
        self.path = path
        self.anchor = anchor
        self.first_line = first_line  # index into _Builder.order: this collection's own entries
        self.key: str | None = None
        self.skip_value = False  # the key was refused: drop the value that follows it
        self.size = 0  # values inside, at any depth (what an alias to it repeats)


class _Builder:
    def __init__(self, display_name: str, with_lines: bool = True) -> None:
        self.display_name = display_name
        self.with_lines = with_lines
        self.lines: dict[KeyPath, int] = {}
        self.order: list[KeyPath] = []  # the key paths of ``lines``, in the order recorded
        self.problems: list[Problem] = []
        # anchor -> (value, the lines below it, relative to it, and the number of values in it)
        self.anchors: dict[str, tuple[Any, list[tuple[KeyPath, int]], int]] = {}
        self.last_size = 0  # values inside the value just built (an alias's or a collection's)
        self.texts: dict[str, str] = {}
        self.aliased = 0
        self.events = 0
        self.refused_aliases = False
        self.found = 0  # problems found; only the first are kept

    def build(self, loader: Any) -> Any:
        """The document's data, from the loader's events (one document, or none)."""
        loader.get_event()  # StreamStartEvent
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # DocumentStartEvent
        stack: list[_Open] = []
        root: Any = None
        while not loader.check_event(yaml.DocumentEndEvent):
            event = loader.get_event()
            self.events += 1
            top = stack[-1] if stack else None
            if isinstance(event, _COLLECTION_ENDS):
                done = stack.pop()
                self._finish(done)
                value: Any = done.value
                self.last_size = done.size
                top = stack[-1] if stack else None
            elif top is not None and isinstance(top.value, dict) and top.key is None:
                self._take_key(loader, top, event)
                continue
            elif top is not None and top.skip_value:
                _skip(loader, event)
                top.key, top.skip_value = None, False
                continue
            else:
                path = self._child_path(top)
                if top is not None and isinstance(top.value, list):
                    self._record(path, _line(event))
                if isinstance(event, _COLLECTION_STARTS):
                    if len(path) < MAX_DEPTH:
                        container: dict[str, Any] | list[Any] = (
                            {} if isinstance(event, yaml.MappingStartEvent) else []
                        )
                        stack.append(_Open(container, path, event.anchor, len(self.order)))
                        continue
                    message = f"nested more than {MAX_DEPTH} levels deep; a profile needs a few"
                    self._problem(_line(event), path[:1], message)
                    _skip(loader, event)
                    value, self.last_size = None, 0
                else:
                    self.last_size = 0
                    value = self._node_value(loader, event, path)
            if top is not None:
                top.size += 1 + self.last_size
            if top is None:
                root = value
            elif isinstance(top.value, dict):
                assert top.key is not None
                top.value[top.key] = value
                top.key = None
            else:
                top.value.append(value)
        loader.get_event()  # DocumentEndEvent
        if not loader.check_event(yaml.StreamEndEvent):
            extra = loader.get_event()
            reason = "expected a single document in the stream, but found another document"
            self.problems.append(
                Problem(self.display_name, _line(extra), "", f"invalid YAML: {reason}")
            )
        return root

    def _take_key(self, loader: Any, mapping: _Open, event: yaml.Event) -> None:
        """The next key of ``mapping``, or a problem and the key's value to be skipped."""
        line = _line(event)
        mapping.key = ""
        if not isinstance(event, yaml.ScalarEvent):
            self._problem(line, mapping.path, "a key must be a plain word, not a list or mapping")
            _skip(loader, event)
            mapping.skip_value = True
            return
        # Keys are taken as written, so `on:` or `1:` is the key "on" or "1", not a bool or int.
        key_path = (*mapping.path, event.value)
        if event.value in mapping.value:
            first = self.lines.get(key_path, "?")
            self._problem(line, key_path, f"duplicate key (first defined on line {first})")
            mapping.skip_value = True
            return
        mapping.key = self._shared(event.value)
        self._record(key_path, line)

    def _child_path(self, parent: _Open | None) -> KeyPath:
        """The path of the next value in ``parent``."""
        if parent is None:
            return ()
        if isinstance(parent.value, dict):
            assert parent.key is not None
            return (*parent.path, parent.key)
        return (*parent.path, len(parent.value))

    def _record(self, path: KeyPath, line: int) -> None:
        if self.with_lines:
            self.lines[path] = line
            self.order.append(path)

    def _finish(self, done: _Open) -> None:
        if done.anchor is not None:
            prefix = len(done.path)
            beneath = [(path[prefix:], self.lines[path]) for path in self.order[done.first_line :]]
            self.anchors[done.anchor] = (done.value, beneath, done.size)

    def _node_value(self, loader: Any, event: yaml.Event, path: KeyPath) -> Any:
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, path)
        assert isinstance(event, yaml.ScalarEvent)
        tag = event.tag
        if tag is None or tag == "!":
            tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        value = self._scalar(tag, event.value, _line(event), path)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, [], 0)
        return value

    def _alias(self, event: yaml.AliasEvent, path: KeyPath) -> Any:
        if event.anchor not in self.anchors:
            self._problem(_line(event), path, f"unknown alias *{event.anchor}")
            return None
        value, beneath, size = self.anchors[event.anchor]
        self.last_size = size
        self.aliased += 1 + size
        if self.aliased > max(MAX_ALIASED_VALUES, ALIAS_GROWTH * self.events):
            if not self.refused_aliases:
                self.refused_aliases = True
                message = f"aliases repeat more than {MAX_ALIASED_VALUES:,} values; write them out"
                self._problem(_line(event), path, message)
            return None
        for relative, line in beneath:
            self.lines[(*path, *relative)] = line
            self.order.append((*path, *relative))
        return value  # the anchored value itself, as YAML means it (nothing here mutates data)

    def _shared(self, key: str) -> str:
        """One object for each key: a large profile or manifest repeats the same keys (``port``,
        ``limits``, ``deploy``) tens of thousands of times."""
        return self.texts.setdefault(key, key)

    def _scalar(self, tag: str, value: str, line: int, path: KeyPath) -> Any:
        if tag == _TAG + "str":
            return value
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return value.lower() == "true"
        try:
            if tag == _TAG + "int":
                return _core_int(value)
            if tag == _TAG + "float":
                return _core_float(value)
        except ValueError:
            self._problem(line, path, f"{quoted(value)} is not a valid {tag.removeprefix(_TAG)}")
            return None
        self._problem(line, path, f"unsupported YAML tag {tag}")
        return None

    def _problem(self, line: int, path: KeyPath, message: str) -> None:
        # Found in line order, so the first ones are the ones shown; the rest are only counted.
        self.found += 1
        if len(self.problems) <= PROBLEM_LIMIT:
            self.problems.append(Problem(self.display_name, line, format_key_path(path), message))


def _line(event: yaml.Event) -> int:
    return int(event.start_mark.line) + 1 if event.start_mark else 0


def _skip(loader: Any, event: yaml.Event) -> None:
    """Consume the rest of the node that ``event`` starts (nothing more for a scalar)."""
    depth = 1 if isinstance(event, _COLLECTION_STARTS) else 0
    while depth:
        following = loader.get_event()
        if isinstance(following, _COLLECTION_STARTS):
            depth += 1
        elif isinstance(following, _COLLECTION_ENDS):
            depth -= 1


def _core_int(text: str) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _core_float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)
