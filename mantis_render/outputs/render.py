"""Render a validated profile into the text of every output file."""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import jinja2

from ..errors import Problem, RenderError
from ..profiles import Profile
from ..profiles.composed import SECTION as COMPOSED
from ..profiles.composed import container_forms, flattened, kubernetes_composed, placeholders
from ..profiles.services import own_variables, service_environments
from ..profiles.variables import COMPOSED_SECRET, Source, Variable
from ..secrets.references import STORE_KINDS
from ..yaml_source import format_key_path
from . import stack
from .filters import (
    FILTERS,
    UnrepresentableValue,
    quote_dotenv,
    quote_kustomize_literal,
    quote_yaml,
)
from .services import compose_services, container_entry, kubernetes_services

# Output path inside rendered/<env>/ -> template inside templates/.
DOTENV = ".env"
EXTERNAL_SECRET = "k8s/externalsecret.yaml"
LITERAL_SECRET = "k8s/secret.yaml"
TLS_EXTERNAL_SECRET = "k8s/tls-externalsecret.yaml"
TLS_LITERAL_SECRET = "k8s/tls-secret.yaml"
KUSTOMIZATION = "k8s/kustomization.yaml"
TLS_FILES = ("tls/tls.crt", "tls/tls.key")
CONTAINERS_ENV = "containers.env"
COMPOSE_OVERRIDE_FILE = "docker-compose.override.yml"
# The override rendered with the developer's .local profile: theirs to start, never committed.
LOCAL_OVERRIDE = "docker-compose.local.yml"
TEMPLATES: dict[str, str] = {
    DOTENV: "dotenv.j2",
    CONTAINERS_ENV: "containers.env.j2",
    ".env.example": "dotenv.example.j2",
    "docker-compose.override.yml": "docker-compose.override.yml.j2",
    EXTERNAL_SECRET: "k8s/externalsecret.yaml.j2",
    LITERAL_SECRET: "k8s/secret.yaml.j2",
    TLS_EXTERNAL_SECRET: "k8s/tls-externalsecret.yaml.j2",
    TLS_LITERAL_SECRET: "k8s/tls-secret.yaml.j2",
    KUSTOMIZATION: "k8s/kustomization.yaml.j2",
    "tls/tls.crt": "tls/tls.crt.j2",
    "tls/tls.key": "tls/tls.key.j2",
}
# Files that hold resolved secret values: never committed, readable by their owner only.
PRIVATE_OUTPUTS = frozenset({DOTENV, CONTAINERS_ENV, LOCAL_OVERRIDE, *TLS_FILES})
ENV_TEMPLATE = "dotenv.template.j2"


def outputs_for(
    variables: list[Variable],
    with_dotenv: bool,
    tls: list[Variable] | None = None,
    containers_env: bool = False,
    profile: Profile | None = None,
) -> list[str]:
    """The files an environment renders to: Kubernetes gets an ExternalSecret for store
    references and a plain Secret for literal secrets; .env only once every secret is resolved.
    The certificate likewise (a kubernetes.io/tls Secret), and its files once resolved. With
    the ``profile`` of a catalogue that declares its services, the secrets those services are
    given decide.
    """
    sources = {variable.source for variable in variables}
    stored, literal = not sources.isdisjoint(STORE_KINDS), "literal" in sources
    if profile is not None and profile.catalogue.services:
        delivered = kubernetes_services(
            profile, service_environments(profile, variables), variables
        )
        stored = any(service.stored for service in delivered)
        literal = any(service.literal for service in delivered)
    tls_sources = {file.source for file in tls or []}
    wanted = {
        DOTENV: with_dotenv,
        CONTAINERS_ENV: with_dotenv and containers_env,
        EXTERNAL_SECRET: stored,
        LITERAL_SECRET: literal,
        TLS_EXTERNAL_SECRET: not tls_sources.isdisjoint(STORE_KINDS),
        TLS_LITERAL_SECRET: "literal" in tls_sources,
        **dict.fromkeys(TLS_FILES, bool(tls) and all(file.value is not None for file in tls or [])),
    }
    return [output for output in TEMPLATES if wanted.get(output, True)]


def make_jinja_environment(
    templates_dir: Path, cache_dir: Path | None = None
) -> jinja2.Environment:
    """The one Jinja2 environment: a missing variable is an error, never an empty string.

    With ``cache_dir``, compiled templates are kept there between runs, each under the checksum
    of its source, so an edited template is compiled again.
    """
    environment = jinja2.Environment(
        loader=_TemplateLoader(templates_dir),
        bytecode_cache=_BytecodeCache(str(cache_dir)) if cache_dir else None,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)
    return environment


class _TemplateLoader(jinja2.FileSystemLoader):
    """Templates are UTF-8 text; one that is not, or cannot be read, is a template error naming
    it (and the line of the first bad byte), like any other mistake in a template."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as error:
            filename = self._filename(template)
            raw = Path(filename).read_bytes() if filename else b""
            line = raw.count(b"\n", 0, error.start) + 1
            raise jinja2.TemplateSyntaxError(
                f"not UTF-8 text ({error.reason})", line, template, filename
            ) from None
        except OSError as error:
            reason = f"cannot read: {error.strerror or error}"
            raise jinja2.TemplateSyntaxError(
                reason, 0, template, self._filename(template)
            ) from None

    def _filename(self, template: str) -> str | None:
        for folder in self.searchpath:
            candidate = Path(folder, *jinja2.loaders.split_template_path(template))
            if candidate.is_file():
                return str(candidate)
        return None


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiling the templates takes about 50 ms, a sixth of rendering the shipped profiles.
    A cache that cannot be written (read-only home, full disk) is only slower, never an error."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        # By name only, not by path: CI checks out each pipeline into a new folder, and a cache
        # keyed by path would gain a file per template per checkout. The checksum of the source,
        # kept in the entry, still decides whether it is used.
        return str(super().get_cache_key(name))


class Renderer:
    """Renders environments with one Jinja2 environment, so templates are compiled once."""

    def __init__(
        self, templates_dir: Path, display_prefix: str = "templates/", cache_dir: Path | None = None
    ) -> None:
        self._jinja = make_jinja_environment(templates_dir, cache_dir)
        self._templates_dir = templates_dir.resolve()
        self._display_prefix = display_prefix

    def render(
        self,
        profile: Profile,
        variables: list[Variable],
        outputs: list[str],
        tls: list[Variable] | None = None,
    ) -> dict[str, str]:
        """``{output path: text}`` for ``outputs``, or RenderError listing every problem."""
        templates = {output: TEMPLATES[output] for output in outputs}
        return self._render_templates(profile, variables, templates, outputs, tls or [])

    def render_env_template(self, profile: Profile, variables: list[Variable]) -> str:
        """The guide's .env.template form: every key, each secret as a visible placeholder."""
        return self._render_templates(profile, variables, {"": ENV_TEMPLATE}, [])[""]

    def _render_templates(
        self,
        profile: Profile,
        variables: list[Variable],
        templates: dict[str, str],
        outputs: list[str],
        tls: list[Variable] | None = None,
    ) -> dict[str, str]:
        problems = unwritable_values(profile, variables)
        if problems:
            raise RenderError(problems)
        context = _context(profile, variables, outputs, tls or [])
        files: dict[str, str] = {}
        for output, template_name in templates.items():
            try:
                files[output] = self._jinja.get_template(template_name).render(context)
            except (jinja2.TemplateError, UnrepresentableValue) as error:
                problems.append(self._template_problem(template_name, error, profile))
        if problems:
            raise RenderError(problems)
        return files

    def _template_problem(
        self, template_name: str, error: Exception, profile: Profile | None = None
    ) -> Problem:
        if isinstance(error, jinja2.TemplateNotFound):
            return Problem(
                self._display_prefix + template_name, 0, "", f"template not found: {error.name}"
            )
        name, line = getattr(error, "name", None), getattr(error, "lineno", None)
        if not (name and line):
            # A mistake found while rendering: where it is, is the innermost template frame
            # (an included template's own line, not the include's).
            name, line = self._innermost_template_frame(error) or (name or template_name, 0)
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        if isinstance(error, jinja2.UndefinedError) and profile is not None:
            message = self._undeclared_setting(name, line, profile, message) or message
        return Problem(self._display_prefix + name, line, "", message)

    def _undeclared_setting(
        self, name: str, line: int, profile: Profile, message: str
    ) -> str | None:
        """At ``line`` of template ``name``: a setting the catalogue does not declare (named
        in full, or, read through a variable, by its last key)."""
        from .template_reads import missing_key, setting_reads, undeclared

        try:
            source, _, _ = self._jinja.loader.get_source(self._jinja, name)  # type: ignore[union-attr]
            tree = self._jinja.parse(source)
        except jinja2.TemplateError:
            return None
        for read in setting_reads(tree):
            why = undeclared(profile.catalogue, read.path) if read.line == line else None
            if why:
                return why
        return missing_key(profile.catalogue, message)

    def _innermost_template_frame(self, error: BaseException) -> tuple[str, int] | None:
        """Jinja2 rewrites tracebacks so that template frames carry the template's file and
        line: the last such frame is where the mistake is."""
        import traceback  # only a template with a mistake in it needs it

        found = None
        for frame in traceback.extract_tb(error.__traceback__):
            path = Path(frame.filename).resolve()
            if frame.lineno and self._templates_dir in path.parents:
                found = (path.relative_to(self._templates_dir).as_posix(), frame.lineno)
        return found


def _context(
    profile: Profile, variables: list[Variable], outputs: list[str], tls: list[Variable]
) -> dict[str, Any]:
    # Grouped here once: a Jinja2 selectattr over every variable costs more than the loop it feeds.
    by_source: dict[str, list[Variable]] = {source: [] for source in get_args(Source)}
    for variable in variables:
        by_source[variable.source].append(variable)
    stored = [variable for variable in variables if variable.source in STORE_KINDS]
    catalogue = profile.catalogue
    inside = stack.container_data(catalogue, profile.data)
    forms = container_forms(profile.data, inside, variables)
    told = stack.container_values(catalogue, profile.data)
    environments = service_environments(profile, variables)
    compose = compose_services(profile, environments, inside, forms)
    secret_forms = [form for form in forms if form.secret]
    return {
        "environment": profile.name,
        "project": catalogue.project,
        "namespace": catalogue.namespace(profile.name),
        "sources": profile.sources,
        "profile": profile.data,
        "variables": variables,
        "variables_by_source": by_source,
        # The ExternalSecret reads from the first of these stores by default, from the others
        # through each entry's own store reference.
        "store_variables": stored,
        "default_store": next((kind for kind in STORE_KINDS if by_source[kind]), None),
        # Secret composed variables: their External Secrets templates, and the literal ones.
        "composed": kubernetes_composed(profile.data, variables),
        # The certificate and its key, by file name (tls.crt, tls.key); empty without a tls section.
        "tls": {file.name: file for file in tls},
        "kubernetes_files": [
            output.removeprefix("k8s/") for output in outputs if output.startswith("k8s/")
        ],
        # The services the catalogue declares: exactly what each one is given.
        "services": {
            "declared": bool(environments),
            "compose": compose,
            "kubernetes": kubernetes_services(profile, environments, variables),
            # Secrets no service's Kubernetes Secret holds: no service receives them, or only a
            # local .env can carry them (env and file references).
            "not_delivered": _not_delivered(variables, environments, catalogue.services),
        },
        "stack": {
            "stores": catalogue.stores,
            "used_by_services": stack.used_by_services(catalogue),
            "container_values": told,
            # Composed variables that read a loopback address: made again for the containers.
            # Plain ones are told in the override; secret ones come from containers.env.
            "composed_values": [form for form in forms if not form.secret],
            # What the services are told instead of .env's value: name -> value.
            "told": {
                **{value.name: value.value for value in told},
                **{form.name: form.value for form in forms if not form.secret},
            },
            # Without declared services, containers.env gives them to every service; with them,
            # .env holds each for compose's interpolation (in_containers: name -> its variable).
            "composed_secrets": [] if environments else secret_forms,
            "in_containers": {v.name: v.value for v in in_containers(profile, variables)},
            # How a container is given each variable (the override's entries), by name.
            "entries": {
                variable.name: container_entry(profile, variable, inside, forms)
                for variable in variables
            },
        },
    }


def _not_delivered(
    variables: list[Variable], environments: dict[str, list[Any]], declared: Any
) -> dict[str, list[str]]:
    if not declared:
        return {"unreceived": [], "local": []}
    received = {given.variable.name for given in itertools.chain(*environments.values())}
    local = {
        given.name
        for given in itertools.chain(*environments.values())
        if given.variable.source in ("env", "file")
    }
    return {
        "unreceived": [v.name for v in variables if v.secret and v.name not in received],
        "local": sorted(local),
    }


def in_containers(profile: Profile, variables: list[Variable]) -> list[Variable]:
    """With declared services: the .env lines compose interpolates for them, each secret
    composed variable that differs inside the containers, in the containers' form (named by
    stack.in_containers_name). Without, containers.env gives those to every service."""
    if not profile.catalogue.services:
        return []
    data = stack.container_data(profile.catalogue, profile.data)
    return [
        Variable(
            stack.in_containers_name(profile.catalogue, form.name), form.value, COMPOSED_SECRET
        )
        for form in container_forms(profile.data, data, variables)
        if form.secret and form.value is not None
    ]


def needs_containers_env(profile: Profile, variables: list[Variable]) -> bool:
    """Whether a secret composed variable differs inside the containers (containers.env):
    only without declared services (with them, .env holds it for compose's interpolation)."""
    if profile.catalogue.services:
        return False
    data = stack.container_data(profile.catalogue, profile.data)
    return any(form.secret for form in container_forms(profile.data, data, variables))


def unwritable_values(profile: Profile, variables: list[Variable]) -> list[Problem]:
    """Check every variable against every format up front, so that all problems are reported."""
    problems = []
    refused: set[Any] = set()
    declared = profile.data.get(COMPOSED) or {}
    for variable in [*variables, *own_variables(profile)]:
        if variable.value is None:  # an unresolved reference: nothing of it is written
            continue
        if variable.path and variable.path[0] == COMPOSED:
            parts = {part.path for part in placeholders(flattened(declared, variable.name))}
            if parts & refused:
                continue  # said once, at the part (composed variables come after their parts)
        formats: list[tuple[str, Callable[[str], str]]] = [
            (".env", quote_dotenv),
            ("YAML", quote_yaml),
        ]
        if variable.source == "setting":  # the ConfigMap, through kustomize's generator
            formats.append(("the ConfigMap", functools.partial(quote_kustomize_literal, name="")))
        for format_name, quote in formats:
            try:
                quote(variable.value)
            except UnrepresentableValue as error:
                location = profile.locations.get(variable.path) if variable.path else None
                file, line = (location.file, location.line) if location else (profile.file, 0)
                key = format_key_path(variable.path) if variable.path else variable.name
                message = f"cannot be written to {format_name} ({variable.name}): {error}"
                problems.append(Problem(file, line, key, message))
                refused.add(variable.path)
                break  # one line a value, for the first format that cannot carry it
    return problems
