"""Parse YAML text into plain data plus the line of every key, refusing duplicate keys.

Scalars follow the YAML 1.2 core schema, not PyYAML's YAML 1.1 defaults: ``off``, ``no`` and
``yes`` stay strings, ``0123`` is the decimal 123 and ``22:22`` is not a sexagesimal number.
Profiles use words like ``off`` as values, and YAML 1.1 would silently turn them into booleans.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from .errors import Problem

# libyaml parses several times faster and reports the same lines; PyYAML may be built without it.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KeyPath = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"


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


@dataclass(frozen=True)
class ParsedYaml:
    """A YAML document as plain data, and the 1-based line where each key path was written."""

    data: Any
    lines: dict[KeyPath, int]


class YamlProblems(Exception):
    """Raised with every problem found while parsing one document."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def parse_yaml(text: str, display_name: str) -> ParsedYaml:
    """Parse one YAML document; raise YamlProblems naming ``display_name`` on any problem."""
    try:
        root = yaml.compose(text, Loader=_CoreSchemaLoader)
    except yaml.MarkedYAMLError as error:
        line, reason = describe_yaml_error(error)
        raise YamlProblems([Problem(display_name, line, "", f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as error:  # e.g. a character YAML does not allow
        raise YamlProblems([Problem(display_name, 0, "", f"invalid YAML: {error}")]) from None
    if root is None:
        return ParsedYaml(None, {})
    builder = _Builder(display_name)
    data = builder.build(root, ())
    if builder.problems:
        raise YamlProblems(builder.problems)
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
    """``('kafka', 'bootstrap_servers', 0)`` -> ``kafka.bootstrap_servers[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class _Builder:
    def __init__(self, display_name: str) -> None:
        self.display_name = display_name
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index)))
            return items
        assert isinstance(node, yaml.ScalarNode)  # the composer makes no other kind
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(line, path, "a key must be a plain word, not a list or mapping")
                continue
            # Keys are taken as written, so `on:` or `1:` is the key "on" or "1", not a bool or int.
            key = key_node.value
            key_path = (*path, key)
            if key in result:
                first = self.lines[key_path]
                self._problem(line, key_path, f"duplicate key (first defined on line {first})")
                continue
            self.lines[key_path] = line
            result[key] = self.build(value_node, key_path)
        return result

    def _scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        tag, value = node.tag, node.value
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
            self._problem(
                node.start_mark.line + 1, path, f"{value!r} is not a valid {tag.removeprefix(_TAG)}"
            )
            return None
        self._problem(node.start_mark.line + 1, path, f"unsupported YAML tag {tag}")
        return None

    def _problem(self, line: int, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.display_name, line, format_key_path(path), message))


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
