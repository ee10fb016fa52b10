"""Composed variables: a value built from the profile's settings, secrets included.

    composed:
      DATABASE_URL:
        description: SQLAlchemy URL of PostgreSQL
        template: "postgresql://{postgres.user|urlencode}:{postgres.password|urlencode}@{postgres.host}:{postgres.port}/{postgres.database}"

A template is text with placeholders: ``{setting.path}`` is the setting's value as its own
variable carries it (a list comma-separated), ``{composed.NAME}`` another composed variable.
Filters follow a ``|``: ``urlencode`` percent-encodes every character but letters, digits and
``-._~`` (RFC 3986's unreserved: right for a user or password in a URL), ``join(SEP)`` joins a
list with SEP. ``{{`` and ``}}`` are a literal brace.

A composed variable that reads a secret, directly or through another composed variable, is a
secret: its value is made where the secrets are, never written in git. For Kubernetes that is the
External Secrets Operator, given the template in its own language (Go text/template, engine v2):
see ``go_template``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote

from ..errors import closest
from ..yaml_source import KeyPath
from .values import as_text, value_at

SECTION = "composed"
NAME_PATTERN = r"[A-Z][A-Z0-9_]{0,60}"
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FILTER = re.compile(r"(?P<name>[a-z_]+)(?:\((?P<argument>[^()]*)\))?")


class Filter(NamedTuple):
    name: str
    argument: str | None = None


class Placeholder(NamedTuple):
    path: KeyPath
    filters: tuple[Filter, ...]

    @property
    def shown(self) -> str:
        return ".".join(str(part) for part in self.path)


Part = str | Placeholder


class TemplateError(ValueError):
    """A template that cannot be read; the message says where in it and why."""


def urlencode(text: str) -> str:
    """Every character but letters, digits and -._~ as %XX of its UTF-8 bytes. Text with a lone
    surrogate (no UTF-8 for it) is left as it is: every output refuses it, naming the setting."""
    try:
        return quote(text, safe="")
    except UnicodeEncodeError:
        return text


FILTERS: dict[str, Callable[..., str]] = {"urlencode": urlencode}
FILTER_NAMES = ("urlencode", "join")


@functools.lru_cache(maxsize=1024)  # each template is read by several steps of a render
def parse(template: str) -> tuple[Part, ...]:
    """The literal texts and placeholders of ``template``, in order."""
    parts: list[Part] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        if match.start() > position:
            parts.append(template[position : match.start()])
        token = match.group()
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif token in ("{", "}"):
            where = match.start() + 1
            raise TemplateError(
                f"a lone '{token}' at character {where} (write {token}{token} for a brace)"
            )
        else:
            parts.append(_placeholder(match.group(1), match.start() + 1))
        position = match.end()
    if position < len(template):
        parts.append(template[position:])
    return tuple(_merged(parts))


def _placeholder(text: str, where: int) -> Placeholder:
    path, *filters = (piece.strip() for piece in text.split("|"))
    if not re.fullmatch(r"[a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+", path):
        raise TemplateError(
            f"'{{{text}}}' at character {where} does not name a setting, like {{postgres.host}}"
        )
    parsed = []
    for piece in filters:
        match = _FILTER.fullmatch(piece)
        if not match or match["name"] not in FILTER_NAMES:
            name = match["name"] if match else piece
            close = closest(name, FILTER_NAMES)
            hint = (
                f"; did you mean '{close}'?" if close else f" (filters: {', '.join(FILTER_NAMES)})"
            )
            raise TemplateError(f"no filter '{name}'{hint}")
        if (match["name"] == "join") != (match["argument"] is not None):
            raise TemplateError(
                "join takes its separator, like join(,)"
                if match["name"] == "join"
                else f"{match['name']} takes no argument"
            )
        parsed.append(Filter(match["name"], match["argument"]))
    return Placeholder(tuple(path.split(".")), tuple(parsed))


def _merged(parts: list[Part]) -> list[Part]:
    """Adjacent literal texts as one."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return merged


def placeholders(parts: Iterable[Part]) -> Iterator[Placeholder]:
    return (part for part in parts if isinstance(part, Placeholder))


def apply(placeholder: Placeholder, value: Any) -> str:
    """The text a placeholder stands for, given the raw value of its setting (a list stays a
    list until joined: by ``join``, or with commas as its variable carries it)."""

    text: Any = value
    for step in placeholder.filters:
        if step.name == "join":
            items = text if isinstance(text, list) else [text]
            text = (step.argument or "").join(as_text(item) for item in items)
        else:
            text = FILTERS[step.name](as_text(text))
    return as_text(text)


def compose(parts: Iterable[Part], value_of: Callable[[Placeholder], Any]) -> str:
    """The composed value, each placeholder's value given by ``value_of``."""
    return "".join(part if isinstance(part, str) else apply(part, value_of(part)) for part in parts)


def go_template(
    parts: list[Part], value_of: Callable[[Placeholder], Any], secret_key: Mapping[KeyPath, str]
) -> str:
    """The template in Go text/template, as External Secrets (engine v2, sprig) runs it: a secret
    part reads its key of the fetched data (``.DATABASE_PASSWORD``), a plain part is written as
    its text. ``urlencode`` is ``urlquery`` (Go's QueryEscape, which encodes exactly the same
    characters) with its ``+`` for a space made ``%20``; ``join`` needs a list, and a secret is
    never one. Literal text that holds ``{{`` is written as a Go string."""
    pieces = []
    for part in parts:
        if isinstance(part, Placeholder) and part.path in secret_key:
            action = f".{secret_key[part.path]}"
            for step in part.filters:
                assert step.name == "urlencode", step  # validation refuses join on a secret
                action += ' | urlquery | replace "+" "%20"'
            pieces.append("{{ " + action + " }}")
        else:
            text = part if isinstance(part, str) else apply(part, value_of(part))
            pieces.append(_go_literal(text))
    return "".join(pieces)


def _go_literal(text: str) -> str:
    # A trailing "{" would make "{{{" with the action after it.
    if "{{" not in text and not text.endswith("{"):
        return text
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}"


def check_templates(
    composed: Mapping[str, Mapping[str, Any]], secret_of: Mapping[KeyPath, bool]
) -> Iterator[tuple[KeyPath, str]]:
    """What is wrong with each composed variable: (where, message). ``secret_of`` says, for every
    setting a placeholder may name, whether it is a secret."""
    reads: dict[str, list[str]] = {}
    for name, spec in composed.items():
        where: KeyPath = (SECTION, name, "template")
        try:
            parts = parse(str(spec.get("template", "")))
        except TemplateError as error:
            yield where, str(error)
            continue
        reads[name] = []
        for placeholder in placeholders(parts):
            if (
                placeholder.path[0] == SECTION
                and len(placeholder.path) == 2
                and placeholder.path[1] in composed
            ):
                reads[name].append(str(placeholder.path[1]))
                if placeholder.filters:
                    yield where, f"{{{placeholder.shown}}} is used as it is: no filter applies"
                    continue
            elif placeholder.path not in secret_of:
                readable = [*secret_of, *((SECTION, name) for name in composed)]
                close = closest(placeholder.shown, (".".join(map(str, p)) for p in readable))
                hint = f"; did you mean {{{close}}}?" if close else ""
                yield where, f"{{{placeholder.shown}}} names no setting{hint}"
                continue
            if secret_of.get(placeholder.path) and any(
                f.name == "join" for f in placeholder.filters
            ):
                yield where, f"{{{placeholder.shown}}} is a secret, a text: join does not apply"
    cyclic = False
    for name in reads:
        cycle = _cycle(name, reads)
        if cycle:
            cyclic = True
            route = " -> ".join(f"composed.{step}" for step in cycle)
            yield (SECTION, name, "template"), f"reads itself: {route}"
    if not cyclic and len(reads) == len(composed):
        yield from _expansion_problems(composed)


# A composed value is made of its template's parts, a composed value it reads standing for all of
# its own: values that read another twice at each of a few dozen levels would be billions of
# parts. Past these, a template is refused (a ConfigMap holds 1 MiB in all).
MAX_EXPANDED_PARTS = 10_000
MAX_EXPANDED_TEXT = 1 << 20


def _expansion_problems(
    composed: Mapping[str, Mapping[str, Any]],
) -> Iterator[tuple[KeyPath, str]]:
    """Each composed value whose expanded template is past the bounds, counted without being
    expanded (each name's size from the sizes of those it reads)."""
    parts: dict[str, int] = {}
    text: dict[str, int] = {}
    for name in order(composed):
        parts[name] = text[name] = 0
        for part in parse(composed[name]["template"]):
            if isinstance(part, str):
                parts[name] += 1
                text[name] += len(part)
            elif part.path[0] == SECTION:  # one that is not there is said by check_templates
                parts[name] += parts.get(str(part.path[1]), 1)
                text[name] += text.get(str(part.path[1]), 0)
            else:
                parts[name] += 1
        if parts[name] > MAX_EXPANDED_PARTS or text[name] > MAX_EXPANDED_TEXT:
            what = (
                f"{parts[name]:,} parts (at most {MAX_EXPANDED_PARTS:,})"
                if parts[name] > MAX_EXPANDED_PARTS
                else f"{text[name]:,} characters of text (at most {MAX_EXPANDED_TEXT:,})"
            )
            yield (
                (SECTION, name, "template"),
                f"expands to {what}: composed values that read others several times multiply",
            )
            parts[name] = text[name] = 0  # said here, not again for each value reading it


def _cycle(start: str, reads: Mapping[str, list[str]]) -> list[str] | None:
    """The shortest path from ``start`` back to itself, if any (breadth first, each step's
    parent kept: no path is copied)."""
    parent: dict[str, str] = {}
    queue = [start]
    for name in queue:  # the queue grows as it is read
        for following in reads.get(name, []):
            if following == start:
                route = [name]
                while route[-1] != start:
                    route.append(parent[route[-1]])
                return [*reversed(route), start]
            if following not in parent:
                parent[following] = name
                queue.append(following)
    return None


def reads_of(composed: Mapping[str, Mapping[str, Any]], name: str) -> list[str]:
    """The composed variables ``name``'s template reads, in order (each once)."""
    reads = []
    for placeholder in placeholders(parse(str(composed[name].get("template", "")))):
        if placeholder.path[0] == SECTION and str(placeholder.path[1]) in composed:
            reads.append(str(placeholder.path[1]))
    return list(dict.fromkeys(reads))


def order(composed: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The composed names, each after the ones it reads (validated: no cycle). No recursion:
    a chain of thousands of values, each reading the next, is as deep as it is long."""
    done: dict[str, None] = {}
    for root in composed:
        if root in done:
            continue
        stack = [(root, iter(reads_of(composed, root)))]
        on_path = {root}
        while stack:
            name, following = stack[-1]
            step = next(following, None)
            if step is None:
                stack.pop()
                on_path.discard(name)
                done[name] = None
            elif step not in done and step not in on_path:
                on_path.add(step)
                stack.append((step, iter(reads_of(composed, step))))
    return list(done)


class KubernetesComposed(NamedTuple):
    """Where each secret composed variable goes in Kubernetes: made by External Secrets from
    the fetched values (``templates``: name -> Go template), written in the plain Secret (every
    secret part a literal: development), or nowhere (a part is an env or file reference)."""

    templates: dict[str, str]
    literal: list[Any]  # Variables
    local: list[str]


def kubernetes_composed(data: Mapping[str, Any], variables: list[Any]) -> KubernetesComposed:

    declared = data.get(SECTION) or {}
    by_path = {variable.path: variable for variable in variables if variable.path}
    templates: dict[str, str] = {}
    literal, local = [], []
    for name in declared:
        variable = by_path[(SECTION, name)]
        if not variable.secret:
            continue  # in the ConfigMap, like any plain setting
        parts = flattened(declared, name)
        sources = {by_path[p.path].source for p in placeholders(parts) if by_path[p.path].secret}
        if sources & {"env", "file"}:
            local.append(name)
        elif sources == {"literal"}:
            literal.append(variable)
        else:
            fetched = {
                p.path: by_path[p.path].name
                for p in placeholders(parts)
                if by_path[p.path].secret and by_path[p.path].source != "literal"
            }

            def value_of(part: Placeholder) -> Any:
                used = by_path[part.path]
                return used.value if used.secret else value_at(data, part.path)

            templates[name] = go_template(parts, value_of, fetched)
    return KubernetesComposed(templates, literal, local)


def flattened(declared: Mapping[str, Mapping[str, Any]], name: str) -> list[Part]:
    """The parts of a composed variable, another composed variable it reads replaced by its
    own parts (External Secrets cannot read one templated key from another). Validation bounds
    the result (MAX_EXPANDED_PARTS) and refuses cycles; no recursion."""
    parts: list[Part] = []
    stack = [iter(parse(declared[name]["template"]))]
    while stack:
        part = next(stack[-1], None)
        if part is None:
            stack.pop()
        elif isinstance(part, Placeholder) and part.path[0] == SECTION:
            if len(stack) > len(declared):
                raise TemplateError(f"composed.{name} reads itself")  # validation says where
            stack.append(iter(parse(declared[str(part.path[1])]["template"])))
        else:
            parts.append(part)
    return _merged(parts)


class ContainerForm(NamedTuple):
    """A composed variable whose value differs inside a container (it reads a loopback store
    address); ``value`` is None while a secret part is unresolved."""

    name: str
    value: str | None
    secret: bool


def container_forms(
    data: Mapping[str, Any], inside: Mapping[str, Any], variables: list[Any]
) -> list[ContainerForm]:
    """The composed variables that read a setting ``inside`` (the data as containers see it)
    changes, made again from it."""

    declared = data.get(SECTION) or {}
    by_path = {variable.path: variable for variable in variables if variable.path}
    forms = []
    for name in declared:
        parts = flattened(declared, name)
        plain = [p for p in placeholders(parts) if not by_path[p.path].secret]
        if all(value_at(data, p.path) == value_at(inside, p.path) for p in plain):
            continue
        variable = by_path[(SECTION, name)]
        secrets_known = all(
            by_path[p.path].value is not None for p in placeholders(parts) if by_path[p.path].secret
        )

        def value_of(part: Placeholder) -> Any:
            used = by_path[part.path]
            return used.value if used.secret else value_at(inside, part.path)

        value = compose(parts, value_of) if secrets_known else None
        forms.append(ContainerForm(name, value, variable.secret))
    return forms
