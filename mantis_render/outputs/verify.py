"""Check rendered text the way its readers will, before it is written (and, with verify, on disk).

- YAML files parse; the Secret and the generated ConfigMap pass the strict Kubernetes schemas
  kubernetes-validate ships (offline); the ExternalSecret and the kustomization pass the schemas
  in mantis_render/schemas; the compose override passes the compose specification (the copy
  check-jsonschema ships). All are checked with jsonschema-rs, compiled once per process.
- .env files read back, under the quoting rules the filters write, to exactly the expected values.

Every problem names the output file, the line and the key. Heavy validators load on first use.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..cache import cache_folder, write_cached
from ..errors import Problem, quoted
from ..profiles.variables import Variable
from ..yaml_source import KeyPath, ParsedYaml, YamlProblems, format_key_path, parse_yaml
from .stack import Address
from .wiring import wiring_failures

KUBERNETES_VERSION = "1.32.0"
CONFIGMAP_KEY = re.compile(r"[-._a-zA-Z0-9]+")

Failure = tuple[KeyPath, str]  # where in the document, and why


COMPOSE_OVERRIDE = "docker-compose.override.yml"
COMPOSE_BASE = "compose/docker-compose.yml"  # in the project, the file the override applies to


def verify_rendered(
    files: Mapping[str, str],
    display_prefix: str,
    variables: list[Variable] | None = None,
    templates: Mapping[str, str] | None = None,
    compose_base: str | None = None,
    addresses: Sequence[Address] = (),
    interpolated: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every problem of the rendered ``files``; with ``variables``, .env values are compared too
    (and with the lines .env holds for compose's interpolation, ``interpolated``: name -> value).

    ``templates`` (output -> template path) lets each problem name the template that wrote it;
    ``compose_base``, the text of the project's base compose file, is merged with the override
    to check what the containers are told (mantis_render.outputs.wiring) of the store ``addresses``
    (mantis_render.outputs.stack.addresses).
    """
    problems = []
    against = _Against(compose_base, tuple(addresses), dict(interpolated or {}))
    verified = cache_folder("verified")
    for path, text in files.items():
        key = _verified_key(path, text, files, variables, against) if verified else None
        if key is not None and verified is not None and (verified / key).is_file():
            continue  # this very text passed these very checks before
        found = _verify_file(path, text, display_prefix + path, files, variables, against)
        if key is not None and verified is not None and not found:
            write_cached(verified / key, "")
        if templates and path in templates:
            found = [
                p._replace(message=f"{p.message} (written by {templates[path]})") for p in found
            ]
        problems += found
    return sorted(problems)


class _Against(NamedTuple):
    """What the override is checked against: the base compose file, the stores' addresses."""

    compose_base: str | None
    addresses: tuple[Address, ...]
    interpolated: dict[str, str]  # .env's lines for the override's interpolation only


def _verified_key(
    path: str,
    text: str,
    files: Mapping[str, str],
    variables: list[Variable] | None,
    against: _Against,
) -> str | None:
    """What a schema check's verdict on ``text`` depends on, hashed: the checks themselves (this
    package's code and schemas, the Kubernetes and compose schemas installed), the text, and what
    it is checked against (the kustomization: the files it lists; the override: the base file and
    the store addresses). None for the files checked without a schema (.env: always checked)."""
    import hashlib

    if path not in YAML_CHECKS:
        return None
    digest = hashlib.sha256()
    parts = [_checks_stamp(), path, text]
    if path == "k8s/kustomization.yaml":
        parts.append("\n".join(sorted(files)))
    if path == COMPOSE_OVERRIDE:
        told = _address_values(files, variables, against.addresses)
        stores = [(a.store.service, a.store.port, a.host, a.port) for a in against.addresses]
        parts += [against.compose_base or "", json.dumps([sorted(told.items()), stores])]
    for part in parts:
        # a megabyte at a time: a large project's override is tens of megabytes
        for start in range(0, len(part), 1 << 20):
            digest.update(part[start : start + (1 << 20)].encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def _checks_stamp() -> str:
    """Size and modification time of everything the schema checks read: a changed check,
    schema or installed validator makes every cached verdict stale."""
    here = Path(__file__).resolve().parents[1]  # the package: all of its code and schemas
    paths = [
        *sorted(here.rglob("*.py")),
        *sorted((here / "schemas").glob("*.json")),
        _kubernetes_schemas(),
        _package_folder("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json",
    ]
    spec = importlib.util.find_spec("jsonschema_rs")
    if spec is not None and spec.origin:
        paths.append(Path(spec.origin))
    stamps = []
    for path in paths:
        with contextlib.suppress(OSError):
            stat = path.stat()
            stamps.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(stamps)


def _wiring(
    document: Any,
    files: Mapping[str, str],
    against: _Against,
    variables: list[Variable] | None,
) -> list[tuple[KeyPath, str, str]]:
    """The wiring failures of the override ``document`` merged with the base compose file."""
    base = None
    compose_base = against.compose_base
    if compose_base is not None:
        try:
            base = parse_yaml(compose_base, COMPOSE_BASE, with_lines=False).data
        except YamlProblems as error:
            return [
                ((), f"the base file it applies to: {problem}", "") for problem in error.problems
            ]
    told = _address_values(files, variables, against.addresses)
    return wiring_failures(
        document, base if isinstance(base, dict) else None, told, against.addresses
    )


def _address_values(
    files: Mapping[str, str], variables: list[Variable] | None, known: Sequence[Address]
) -> dict[str, str]:
    """The store addresses the .env gives the services: from the variables being rendered (a
    large project's .env has tens of thousands of lines), or else read back from the file."""
    names = {name for address in known for name in (address.host, address.port) if name}
    if variables is not None:
        return {v.name: v.value for v in variables if v.name in names and v.value is not None}
    env_file, _ = read_dotenv(files.get(".env", files.get(".env.example", "")))
    return {name: value for name, (value, _) in env_file.items() if name in names}


def _verify_file(
    path: str,
    text: str,
    shown: str,
    files: Mapping[str, str],
    variables: list[Variable] | None,
    against: _Against,
) -> list[Problem]:
    problems = []
    if path.endswith((".yaml", ".yml")):
        for offset, document in _documents(text):
            found = _verify_yaml(path, document, shown, files, variables, against)
            problems += [_shifted(p, offset) for p in found]
            if any(p.message.startswith(UNPARSABLE) for p in found):
                break  # the file does not parse: once (its other documents come from the same)
    elif path in DOTENV_EXPECTATIONS:
        expected = DOTENV_EXPECTATIONS[path](variables) if variables is not None else None
        if expected is not None and path == ".env":
            expected.update(against.interpolated)
        problems += _check_dotenv(text, shown, expected)
    return problems


def _shifted(problem: Problem, offset: int) -> Problem:
    """A problem of a document, at its line of the whole file (and the lines it names)."""
    if not offset or not problem.line:
        return problem
    message = _NAMED_LINE.sub(lambda m: f"{m[1]}{int(m[2]) + offset}", problem.message)
    return problem._replace(line=problem.line + offset, message=message)


_NAMED_LINE = re.compile(r"(\bon line )(\d+)")


def _documents(text: str) -> Iterator[tuple[int, str]]:
    """The documents of a YAML stream split at its ``---`` lines (one per service's object in
    a manifest), each with the number of lines before it."""
    if "\n---\n" not in text:
        yield 0, text
        return
    start, lines = 0, text.split("\n")
    for number, line in enumerate(lines):
        if line == "---":
            yield start, "\n".join(lines[start:number]) + "\n"
            start = number + 1
    yield start, "\n".join(lines[start:])


def _verify_yaml(
    path: str,
    text: str,
    shown: str,
    files: Mapping[str, str],
    variables: list[Variable] | None,
    against: _Against,
) -> list[Problem]:
    problems = []
    # Parsed without lines (most of a parse's memory on a large project), and again with
    # them only to say where the problems are.
    try:
        parsed = parse_yaml(text, shown, with_lines=False)
    except YamlProblems:
        try:
            parse_yaml(text, shown)
        except YamlProblems as error:
            return [_yaml_problem(problem) for problem in error.problems]
        raise
    check = YAML_CHECKS.get(path)
    failures = [(*failure, "") for failure in check(parsed.data, files)] if check else []
    if not failures and path == COMPOSE_OVERRIDE:
        failures = _wiring(parsed.data, files, against, variables)
    del parsed  # before the parse with lines, on a large project
    if failures:
        located = parse_yaml(text, shown)
        for where, message, rule in failures:
            problems.append(
                Problem(shown, _line(located, where), format_key_path(where), message, rule)
            )
    return problems


UNPARSABLE = "rendered YAML does not parse"


def _yaml_problem(problem: Problem) -> Problem:
    return Problem(
        problem.file,
        problem.line,
        problem.key,
        problem.message.replace("invalid YAML", UNPARSABLE),
    )


def _line(parsed: ParsedYaml, where: KeyPath) -> int:
    for length in range(len(where), 0, -1):
        if where[:length] in parsed.lines:
            return parsed.lines[where[:length]]
    return 1


# -- Kubernetes ---------------------------------------------------------------------------------


def _kubernetes(document: Any, files: Mapping[str, str]) -> Iterator[Failure]:
    """Offline Kubernetes schemas from kubernetes-validate, strict: unknown fields are errors."""
    yield from _kubernetes_schema(document)


def _kubernetes_schema(document: Any, prefix: KeyPath = ()) -> Iterator[Failure]:
    kind, api_version = str(document.get("kind", "")), str(document.get("apiVersion", ""))
    validator = _kubernetes_validator(kind, api_version)
    if validator is None:
        yield prefix, f"Kubernetes {KUBERNETES_VERSION} schema: no kind {kind!r} in {api_version!r}"
        return
    for where, message in _schema_errors(validator, document):
        yield (*prefix, *where), f"Kubernetes {KUBERNETES_VERSION} schema: {message}"


@functools.cache
def _kubernetes_validator(kind: str, api_version: str) -> Any:
    """A validator for one kind, from the strict schemas kubernetes-validate ships, built once.

    (kubernetes_validate.validate reads and parses the schema files again on every call.)
    """
    import jsonschema_rs

    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # apps/v1 -> apps-v1
    name = f"{kind.lower()}-{group_version}.json"
    path = _kubernetes_schemas() / name
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    # The schemas refer to "_definitions.json#/..."; give both files a base to resolve it against.
    registry = jsonschema_rs.Registry(
        [(f"{_BASE}_definitions.json", _kubernetes_definitions_of(name, schema))]
    )
    return jsonschema_rs.validator_for(schema, registry=registry, base_uri=f"{_BASE}{name}")


_BASE = "file:///kubernetes-json-schema/"
_DEFINITION_REF = re.compile(r'#/\$defs/([^"]+)"')  # in the kind's schema and between definitions


def _kubernetes_schemas() -> Path:
    folder = _package_folder("kubernetes_validate") / "kubernetes-json-schema"
    return folder / f"v{KUBERNETES_VERSION}-local-strict"


def _kubernetes_definitions_of(name: str, schema: Any) -> dict[str, Any]:
    """The shared definitions one kind refers to, directly or not.

    All of them are 1.3 MB of JSON, two thirds of the time of checking the shipped profiles'
    manifests; the few a kind needs are kept in the user's cache, keyed by the schema files.
    """
    source = _kubernetes_schemas() / "_definitions.json"
    stat = source.stat()
    folder = cache_folder("kubernetes")
    cached = folder / f"{stat.st_size}-{stat.st_mtime_ns}-{name}" if folder else None
    if cached is not None:
        with contextlib.suppress(OSError, ValueError):
            return dict(json.loads(cached.read_text(encoding="utf-8")))
    everything = json.loads(source.read_text(encoding="utf-8"))
    needed: dict[str, Any] = {}
    pending = _DEFINITION_REF.findall(json.dumps(schema))
    while pending:
        key = pending.pop()
        if key not in needed:
            needed[key] = everything["$defs"][key]
            pending += _DEFINITION_REF.findall(json.dumps(needed[key]))
    subset = {**everything, "$defs": needed}
    if cached is not None:
        write_cached(cached, json.dumps(subset))
    return subset


def _package_folder(package: str) -> Path:
    """Where an installed package lives, found without importing (running) it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed; `pip install mantis-render` brings it")
    return Path(spec.submodule_search_locations[0])


def _kustomization(document: Any, files: Mapping[str, str]) -> Iterator[Failure]:
    failures = list(_json_schema(document, "kustomization.json", "kustomization"))
    yield from failures
    if failures:
        return
    for index, resource in enumerate(document["resources"]):
        if f"k8s/{resource}" not in files:
            yield ("resources", index), f"lists {resource}, which this render does not produce"
    for index, generator in enumerate(document["configMapGenerator"]):
        yield from _generated_configmap(document, generator, ("configMapGenerator", index))


def _generated_configmap(document: Any, generator: Any, where: KeyPath) -> Iterator[Failure]:
    """The ConfigMap kustomize will generate: its keys here, its metadata by the Kubernetes
    schema. (Its data, string to string by construction, is left out of the schema check: on a
    large project it was a second copy of every literal, handed to the validator.)"""
    keys: set[str] = set()
    for index, literal in enumerate(generator.get("literals", [])):
        key = literal.partition("=")[0]
        if not CONFIGMAP_KEY.fullmatch(key):
            yield (*where, "literals", index), f"{quoted(key)} is not a valid ConfigMap key"
        elif key in keys:
            yield (*where, "literals", index), f"{key} is given twice"
        keys.add(key)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": generator["name"], "namespace": document["namespace"]},
        "data": {},
    }
    yield from _kubernetes_schema(configmap, where)


def _external_secret(document: Any, files: Mapping[str, str]) -> Iterator[Failure]:
    yield from _json_schema(document, "externalsecret-v1.json", "ExternalSecret v1 CRD")


def _compose(document: Any, files: Mapping[str, str]) -> Iterator[Failure]:
    yield from _json_schema(document, "compose-spec", "compose specification")


def _json_schema(document: Any, schema_name: str, name: str) -> Iterator[Failure]:
    for where, message in _schema_errors(_validator(schema_name), document):
        yield where, f"{name}: {message}"


def _schema_errors(validator: Any, document: Any) -> Iterator[Failure]:
    """A jsonschema-rs validator's errors, each at the key it is about, sorted by place."""
    errors = validator.iter_errors(document)
    for error in sorted(errors, key=lambda e: [str(part) for part in e.instance_path]):
        path = tuple(error.instance_path)
        unexpected = getattr(error.kind, "unexpected", None)  # point at the unexpected key itself
        if unexpected:
            path = (*path, sorted(unexpected)[0])
        message = error.message
        options = getattr(error.kind, "options", None)
        if error.kind.name == "enum" and isinstance(options, list):  # name them all, not "2 others"
            message = f"{quoted(error.instance)} is not one of {', '.join(map(str, options))}"
        yield path, message


@functools.cache
def _validator(schema_name: str) -> Any:
    """A compiled validator for a packaged schema, or for the compose spec ("compose-spec").

    jsonschema-rs: the compose spec (draft 2020-12, unevaluatedProperties) checks 300 services in
    about 1 ms, where the pure-Python jsonschema takes about 230 ms.
    """
    import jsonschema_rs

    schema = _compose_spec() if schema_name == "compose-spec" else _packaged_schema(schema_name)
    return jsonschema_rs.validator_for(schema)


@functools.cache
def _packaged_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (Path(__file__).resolve().parents[1] / "schemas" / name).read_text(encoding="utf-8")
    )
    return schema


@functools.cache
def _compose_spec() -> dict[str, Any]:
    """The compose specification check-jsonschema ships, read without importing that package."""
    vendor = _package_folder("check_jsonschema") / "builtin_schemas" / "vendor"
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))
    return schema


YAML_CHECKS: dict[str, Callable[[Any, Mapping[str, str]], Iterator[Failure]]] = {
    "k8s/secret.yaml": _kubernetes,
    "k8s/externalsecret.yaml": _external_secret,
    "k8s/tls-secret.yaml": _kubernetes,
    "k8s/tls-externalsecret.yaml": _external_secret,
    "k8s/kustomization.yaml": _kustomization,
    "docker-compose.override.yml": _compose,
}


# -- .env ---------------------------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(['\"])")


def read_dotenv(text: str) -> tuple[dict[str, tuple[str, int]], list[tuple[int, str]]]:
    """Values of a .env as quote_dotenv writes it: NAME='literal' or NAME="\\\\ and \\" escaped".

    Returns {name: (value, line)} and [(line, what is wrong)].
    """
    values: dict[str, tuple[str, int]] = {}
    errors: list[tuple[int, str]] = []
    for line, name, value in dotenv_entries(text):
        if name is None:
            errors.append((line, value))
            continue
        if name in values:
            errors.append((line, f"{name} is set twice"))
        values[name] = (value, line)
    return values, errors


def dotenv_entries(text: str) -> Iterator[tuple[int, str | None, str]]:
    """The assignments of a .env as quote_dotenv writes them, in order: (line, name, value);
    a line that is not one, and not blank or a comment, comes as (line, None, what is wrong)."""
    position, line = 0, 1
    while position < len(text):
        entry = _WELL_FORMED.match(text, position)
        if entry:
            name, single_quoted, double_quoted = entry.groups()
            if single_quoted is not None:
                value = single_quoted
            else:
                value = _ESCAPED.sub(r"\1", double_quoted)
            yield line, name, value
            line += entry.group().count("\n")
            position = entry.end()
            continue
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        current = text[position:end]
        if current.strip() and not current.startswith("#"):
            yield line, None, _malformed(text, position)
        position, line = end + 1, line + 1


# NAME='value' or NAME="value" ending its line; a value may span lines.
_WELL_FORMED = re.compile(
    r"""([A-Za-z_][A-Za-z0-9_]*)=(?:'([^']*)'|"((?:[^"\\]|\\.)*)")(?:\n|\Z)""", re.DOTALL
)
_DOUBLE_QUOTED_REST = re.compile(r'((?:[^"\\]|\\.)*)"', re.DOTALL)  # up to the unescaped quote
_ESCAPED = re.compile(r'\\([\\"])')


def _malformed(text: str, start: int) -> str:
    """What is wrong with the line at ``start``, which is not a well-formed assignment."""
    match = _ASSIGNMENT.match(text, start)
    if not match:
        return "is not NAME='value' or NAME=\"value\""
    name, quote = match.groups()
    if not _is_closed(text, match.end(), quote):
        return f"{name}: its quoted value is not closed"
    return f"{name}: has text after its closing quote"


def _is_closed(text: str, start: int, quote: str) -> bool:
    """Whether the value quoted from ``start`` has its closing quote."""
    if quote == "'":
        return text.find("'", start) >= 0
    return _DOUBLE_QUOTED_REST.match(text, start) is not None


def _check_dotenv(text: str, shown: str, expected: dict[str, str] | None) -> list[Problem]:
    """What is malformed in a .env; when nothing is, how it differs from ``expected``. Read one
    entry at a time: a large project's .env has hundreds of thousands."""
    malformed: list[Problem] = []
    differing: list[Problem] = []
    seen: set[str] = set()
    for line, name, value in dotenv_entries(text):
        if name is None:
            malformed.append(Problem(shown, line, "", value))
            continue
        if name in seen:
            malformed.append(Problem(shown, line, "", f"{name} is set twice"))
        seen.add(name)
        if expected is None or malformed:
            continue
        if name not in expected:
            differing.append(Problem(shown, line, name, "is not a variable of the profile"))
        elif expected[name] != value:
            message = "reads back differently from the profile's value"
            differing.append(Problem(shown, line, name, message))
    if malformed or expected is None:
        return malformed
    missing = [Problem(shown, 0, name, "is missing") for name in expected if name not in seen]
    return differing + missing


def _dotenv_values(variables: list[Variable] | None) -> dict[str, str]:
    return {v.name: v.value for v in variables or [] if v.value is not None}


def _example_values(variables: list[Variable] | None) -> dict[str, str]:
    return {v.name: "" if v.secret else (v.value or "") for v in variables or []}


DOTENV_EXPECTATIONS: dict[str, Callable[[list[Variable] | None], dict[str, str]]] = {
    ".env": _dotenv_values,
    ".env.example": _example_values,
}
