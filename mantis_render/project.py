"""A mantis-render project: its profiles, its templates, and the pipeline between them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .catalogue import Catalogue
from .errors import MantisRenderError, PolicyError, Problem, ProfileError, RenderError, SecretError
from .layout import DEFAULT_OUTPUT, PROFILES_DIR, TEMPLATES_DIR
from .outputs.limits import consumer_problems
from .outputs.render import (
    COMPOSE_OVERRIDE_FILE,
    DOTENV,
    LOCAL_OVERRIDE,
    PRIVATE_OUTPUTS,
    TEMPLATES,
    Renderer,
    in_containers,
    needs_containers_env,
    outputs_for,
    unwritable_values,
)
from .outputs.stack import addresses
from .outputs.verify import COMPOSE_BASE, verify_rendered
from .outputs.writing import read_environment
from .policy import Context, Environment, PolicyResult, catalogue_problems, check_policy, failing
from .profiles import Profile, ProfileSet
from .profiles.validation import TIERS, validate_profile
from .profiles.variables import Variable, environment_variables, secret_variables
from .secrets.certificates import CERTIFICATE_KIND, certificate_problems, tls_files
from .secrets.resolution import resolve_secrets
from .secrets.stores import Stores

if TYPE_CHECKING:
    # imported by the commands that use them: render needs none of them
    from .review.compare import FileStatus
    from .review.explain import Explanation
    from .secrets.audit import CertificateAge, SecretAge
    from .secrets.provision import Provisioning


MAX_NAMESPACE = 63  # a DNS label


class RenderedEnvironment(NamedTuple):
    """Everything one environment renders to, held in memory until it is written.

    ``notes`` say what was deliberately left out (such as a .env that needs Vault).
    """

    profile: Profile
    variables: list[Variable]
    files: dict[str, str]
    notes: list[str]
    policy: PolicyResult
    tls: list[Variable]  # the certificate and key files

    @property
    def name(self) -> str:
        return self.profile.name


@dataclass
class Project:
    """A folder holding ``profiles/`` and ``templates/``."""

    root: Path
    template_cache: Path | None = None  # where compiled templates are kept between runs
    # With a developer's profiles/<env>.local.yaml merged last: what they run (.env, exec),
    # never what is committed (see developer_build).
    local: bool = False
    # The secret stores of this run, by process environment: shared with the copy a .local
    # build makes (dataclasses.replace passes it on), so each store is opened, and waited on
    # when it does not answer, once a run.
    opened_stores: dict[int, Stores] = field(default_factory=dict, repr=False, compare=False)
    # A project read from a git revision: a profile that is a symlink out of it is not read.
    at_revision: bool = False
    profiles: ProfileSet = field(init=False)
    _renderer: Renderer | None = field(default=None, init=False, repr=False)
    _loaded: dict[str, Profile] = field(default_factory=dict, init=False, repr=False)
    _secrets_of: dict[str, Environment] = field(default_factory=dict, init=False, repr=False)
    _catalogue: Catalogue | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        confine = self.root if self.at_revision else None
        self.profiles = ProfileSet(self.root / PROFILES_DIR, confine=confine)

    def catalogue(self) -> Catalogue:
        """The project's catalogue, checked (with the policy rules it applies), or ProfileError
        with every mistake in it."""
        if self._catalogue is None:
            catalogue = self.profiles.catalogue
            problems = [
                Problem(catalogue.file, self._catalogue_line(("policy", index)), "policy", message)
                for index, message in catalogue_problems(catalogue)
            ]
            if problems:
                raise ProfileError(problems)
            self._catalogue = catalogue
        return self._catalogue

    def _catalogue_line(self, path: tuple[Any, ...]) -> int:
        from .catalogue import CATALOGUE_NAME
        from .catalogue.reader import catalogue_line

        name = CATALOGUE_NAME
        return catalogue_line(self.profiles.path_of(name), self.profiles.display(name), path)

    @property
    def templates_dir(self) -> Path:
        return self.root / TEMPLATES_DIR

    def build(
        self, name: str, environ: Mapping[str, str] | None = None, verify: bool = True
    ) -> RenderedEnvironment:
        """Load, validate, resolve secrets, render and verify one environment, in memory.

        With ``environ`` (the process environment), secret references are resolved and the .env
        is rendered once all of them are; without it, nothing but the profiles is read and the
        .env is rendered only if the profile holds no reference. Raises UnknownEnvironmentError
        for a name with no profile, and MantisRenderError with every problem found.
        """
        unresolved = self._unresolved_environment(name)
        profile, variables = unresolved.profile, unresolved.variables
        tls = tls_files(profile)
        notes: list[str] = []
        if environ is not None:
            resolution = resolve_secrets(
                profile, [*variables, *tls], environ, self.root, self.stores(environ)
            )
            if resolution.problems:
                raise SecretError(resolution.problems)
            variables = resolution.variables[: len(variables)]
            tls = resolution.variables[len(variables) :]
            notes.extend(f".env not written: {why}" for why in resolution.not_configured.values())
        elif any(variable.value is None for variable in variables):
            notes.append(".env not written: secrets were not resolved (--no-resolve)")
        certificate, unusable = certificate_problems(profile, tls)
        refused = consumer_problems(profile, variables, tls)
        if unusable or refused:
            raise SecretError([*unusable, *refused])
        policy = check_policy(
            Context(
                Environment(profile, variables, tls, certificate), self._other_environments(name)
            )
        )
        if failing(policy.problems):
            raise PolicyError(policy.problems)
        local_only = [variable.name for variable in variables if variable.source in ("env", "file")]
        if local_only:
            notes.append(
                f"not in the Kubernetes output (env/file references): {', '.join(local_only)}"
            )
        complete = all(variable.value is not None for variable in variables)
        outputs = outputs_for(
            variables, complete, tls, needs_containers_env(profile, variables), profile
        )
        files = self._get_renderer().render(profile, variables, outputs, tls)
        if verify:
            templates = {output: f"templates/{TEMPLATES[output]}" for output in files}
            problems = verify_rendered(
                files,
                f"{DEFAULT_OUTPUT}/{name}/",
                variables,
                templates,
                self._compose_base(),
                addresses(profile.catalogue),
                {v.name: str(v.value) for v in in_containers(profile, variables)},
            )
            if problems:
                raise MantisRenderError(problems)
        return RenderedEnvironment(profile, variables, files, notes, policy, tls)

    def developer_build(self, name: str, environ: Mapping[str, str] | None) -> RenderedEnvironment:
        """What ``render`` writes: the committable files from the shared profiles, and, when
        the developer has a profiles/<env>.local.yaml, the private files (.env...) from the
        profile with it, and the compose override they start as docker-compose.local.yml.
        The rule, whatever is resolved: a .local file never reaches a committable file, and
        always reaches the private ones (with --no-resolve too, where they are rendered)."""
        shared = self.build(name, environ)
        if not self.profiles.has_local(name):
            return shared
        mine = dataclasses.replace(self, local=True).build(name, environ)
        files = {p: t for p, t in shared.files.items() if p not in PRIVATE_OUTPUTS}
        files |= {p: t for p, t in mine.files.items() if p in PRIVATE_OUTPUTS}
        files[LOCAL_OVERRIDE] = mine.files[COMPOSE_OVERRIDE_FILE]  # needs no secret
        shown = self.profiles.display(self.profiles.local_name(name))
        written = " and ".join(p for p in (DOTENV, LOCAL_OVERRIDE) if p in files)
        note = f"{written} include{'s' if ' and ' not in written else ''} {shown}"
        return mine._replace(files=files, notes=[*mine.notes, note])

    def stores(self, environ: Mapping[str, str]) -> Stores:
        """The secret stores of this run for ``environ`` (opened on first use)."""
        key = id(environ)  # the Stores keeps environ alive: the id is not reused meanwhile
        if key not in self.opened_stores:
            self.opened_stores[key] = Stores(environ)
        return self.opened_stores[key]

    def _other_environments(self, name: str) -> list[Environment]:
        """The other environments that load cleanly, as the rules that compare environments see
        them: their secrets only (services hold none), kept for the run. Holding every variable
        of every environment was most of render --all's memory on a large project."""
        others = []
        for other in self.profiles.environments():
            if other != name:
                if other not in self._secrets_of:
                    try:
                        profile = self.load_valid(other)
                    except MantisRenderError:
                        continue  # reported when that environment itself is checked
                    self._secrets_of[other] = Environment(profile, secret_variables(profile))
                others.append(self._secrets_of[other])
        return others

    def _unresolved_environment(self, name: str) -> Environment:
        """A valid profile and its variables, secret references unresolved."""
        profile = self.load_valid(name)
        return Environment(profile, environment_variables(profile))

    def load_valid(self, name: str) -> Profile:
        """The merged profile of ``name``, or ProfileError with every schema problem."""
        if name not in self._loaded:
            namespace = self.catalogue().namespace(name)
            profile = self.profiles.load(name, local=self.local)
            problems = validate_profile(profile)
            if len(namespace) > MAX_NAMESPACE:
                message = (
                    f"its Kubernetes namespace {namespace} has {len(namespace)} characters, over "
                    f"{MAX_NAMESPACE}: shorten the environment's name or the catalogue's project"
                )
                problems.append(Problem(profile.file, 0, "", message))
            if problems:
                raise ProfileError(problems)
            self._loaded[name] = profile
        return self._loaded[name]

    def audit(
        self, name: str, environ: Mapping[str, str], as_of: datetime
    ) -> tuple[list[SecretAge], CertificateAge | None, list[Problem]]:
        """The rotation audit of an environment's secrets (from each store's metadata), and
        the expiry of its certificate (read from its store)."""
        from .secrets.audit import audit_certificate, audit_rotation

        profile = self.load_valid(name)
        stores = self.stores(environ)
        ages, problems = audit_rotation(profile, environment_variables(profile), stores, as_of)
        certificate_age = None
        certificate = [f for f in tls_files(profile) if f.secret_kind == CERTIFICATE_KIND]
        if certificate:
            resolution = resolve_secrets(profile, certificate, environ, self.root, stores)
            problems += [p for p in resolution.problems if p not in problems]
            problems += [
                Problem(profile.file, 0, "", f"audit: {why}")
                for why in resolution.not_configured.values()
                if f"audit: {why}" not in {problem.message for problem in problems}
            ]
            [resolved] = resolution.variables
            if resolved.value is not None:
                certificate_age, unreadable = audit_certificate(profile, resolved, as_of)
                problems += unreadable
        return ages, certificate_age, problems

    def launch_environment(
        self, name: str, environ: Mapping[str, str], service: str | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The variables ``name`` gives a program (mantis_render.developer.launch), resolved as
        render resolves them, policy included, and the composed secrets the compose containers
        are told instead (containers.env); nothing is rendered or written."""
        from .developer.launch import launch_environment

        profile = self.load_valid(name)
        if service is not None:  # a mistake in the service name is said before any store
            launch_environment(profile, [], {}, service)
        resolution = resolve_secrets(
            profile, environment_variables(profile), environ, self.root, self.stores(environ)
        )
        if resolution.problems:
            raise SecretError(resolution.problems)
        policy = check_policy(
            Context(Environment(profile, resolution.variables), self._other_environments(name))
        )
        if failing(policy.problems):
            raise PolicyError(policy.problems)
        unwritable = unwritable_values(profile, resolution.variables)
        unwritable += consumer_problems(profile, resolution.variables, kubernetes=False)
        if unwritable:
            raise RenderError(unwritable)
        values = launch_environment(
            profile, resolution.variables, resolution.not_configured, service
        )
        if profile.catalogue.services:  # .env's lines for compose's interpolation, as render's
            if service is None:
                values.update(
                    (v.name, str(v.value)) for v in in_containers(profile, resolution.variables)
                )
            return values, {}
        from .outputs.stack import container_data
        from .profiles.composed import container_forms

        inside_data = container_data(profile.catalogue, profile.data)
        forms = container_forms(profile.data, inside_data, resolution.variables)
        inside = {f.name: str(f.value) for f in forms if f.secret and f.name in values}
        return values, inside

    def init_secrets(self, name: str, environ: Mapping[str, str], dry_run: bool) -> Provisioning:
        """Create the missing store secrets of ``name`` (see mantis_render.secrets.provision)."""
        from .secrets.provision import init_secrets

        profile = self.load_valid(name)
        secrets = [v for v in environment_variables(profile) if v.secret] + tls_files(profile)
        return init_secrets(profile, secrets, self.stores(environ), dry_run)

    def committable(self, name: str) -> dict[str, str]:
        """The files of ``name`` that are committed (no .env), rendered without any secret store.

        Not verified again: what they are compared with was verified when it was rendered.
        Always from the shared profiles: a developer's .local file never reaches them.
        """
        shared = dataclasses.replace(self, local=False) if self.local else self
        files = shared.build(name, verify=False).files
        return {path: text for path, text in files.items() if path not in PRIVATE_OUTPUTS}

    def check(self, name: str, out_dir: Path) -> list[FileStatus]:
        """The committable files of ``name`` that are stale, missing or extra in ``out_dir``."""
        from .review.compare import compare_files

        return compare_files(
            self.committable(name), read_environment(out_dir, name), f"{out_dir / name}/"
        )

    def diff(self, name: str, out_dir: Path) -> list[str]:
        """A unified diff from the committed files of ``name`` to a fresh render, secrets masked."""
        from .review.compare import unified_diff
        from .review.masking import Masker, secret_lines

        on_disk = read_environment(out_dir, name)
        names, values, marked = self.secret_traits(name)
        masker = Masker(names, values, new=secret_lines(marked))
        return unified_diff(self.committable(name), on_disk, f"{out_dir / name}/", masker)

    def secret_traits(self, name: str) -> tuple[list[str], list[str], dict[str, str]]:
        """What review output masks for ``name`` (mantis_render.review.masking): the names of its
        secrets, their known values, and its committable files with a marker for each secret."""
        from .review.masking import marked_profile, secret_values

        profile = self.load_valid(name)
        variables, tls = environment_variables(profile), tls_files(profile)
        names = [s.env for s in profile.catalogue.all_settings if s.secret_kind]
        names += [v.name for v in [*variables, *tls] if v.secret]
        names += _service_names_of(profile.catalogue, set(names))
        marked = marked_profile(profile)
        marked_variables, marked_tls = environment_variables(marked), tls_files(marked)
        outputs = [
            output
            for output in outputs_for(marked_variables, False, marked_tls, profile=marked)
            if output not in PRIVATE_OUTPUTS
        ]
        files = self._get_renderer().render(marked, marked_variables, outputs, marked_tls)
        return names, secret_values([*variables, *tls]), files

    def verify(self, name: str, out_dir: Path) -> list[Problem]:
        """Check the files of ``name`` on disk as their readers will (outputs.verify)."""
        files = read_environment(out_dir, name, include_private=True)
        if not files:
            return [
                Problem(
                    f"{out_dir / name}/",
                    0,
                    "",
                    "nothing rendered here yet; run: mantis-render render " + name,
                )
            ]
        return verify_rendered(
            files,
            f"{out_dir / name}/",
            compose_base=self._compose_base(),
            addresses=addresses(self.catalogue()),
        )

    def unknown_output_folders(self, out_dir: Path) -> list[str]:
        """Folders of ``out_dir`` that no profile renders to (left from a removed environment)."""
        if not out_dir.is_dir():
            return []
        known = set(self.profiles.environments())
        return sorted(
            p.name
            for p in out_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".") and p.name not in known
        )

    def explain(self, name: str, variable: str) -> Explanation:
        """Where ``variable`` of ``name`` comes from and where it goes (review.explain)."""
        from .review.explain import explain

        profile = self.load_valid(name)
        renderer = self._get_renderer()

        def render_everything(profile: Profile, variables: list[Variable]) -> dict[str, str]:
            outputs = outputs_for(variables, with_dotenv=True, profile=profile)
            return renderer.render(profile, variables, outputs)

        return explain(profile, variable, render_everything)

    def variable_reference(self) -> str:
        """docs/variables.md: every variable of every environment (mantis_render.developer.docs)."""
        from .developer.docs import variable_reference

        profiles = {name: self.load_valid(name) for name in self.profiles.environments()}
        # The guide's column order: development, staging, production (then any other by name).
        order = {tier: index for index, tier in enumerate(TIERS)}
        ranked = sorted(
            profiles, key=lambda name: (order.get(profiles[name].data["tier"], 9), name)
        )
        ranked_profiles = {name: profiles[name] for name in ranked}
        return variable_reference(self.catalogue(), ranked_profiles)

    def new_environment(self, name: str, source: str) -> str:
        """The profile text of a new environment ``name`` made from ``source`` (not yet written)."""
        from .developer.new_profile import profile_from
        from .secrets.provision import NOT_GENERATED, generate_secret

        profile = self.load_valid(source)
        own = self.profiles.display(source)
        fresh = {}
        for variable in environment_variables(profile):
            literal = variable.secret and variable.reference is None and variable.path
            kind = variable.secret_kind or ""
            if (
                literal
                and kind not in NOT_GENERATED
                and variable.path not in profile.catalogue.secret_files
            ):
                assert variable.path is not None
                location = profile.locations[variable.path]
                if location.file == own and variable.source == "literal":
                    fresh[location.line] = (str(variable.path[-1]), generate_secret(kind))
        text = self.profiles.path_of(source).read_text(encoding="utf-8")
        return profile_from(text, source, name, fresh)

    def env_template(self, name: str) -> str:
        """The .env.template form of an environment: no secret store is contacted."""
        profile = self.load_valid(name)
        return self._get_renderer().render_env_template(profile, environment_variables(profile))

    def _compose_base(self) -> str | None:
        """The base compose file the override applies to, if the project has one."""
        try:
            return (self.root / COMPOSE_BASE).read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return None

    def _get_renderer(self) -> Renderer:
        if self._renderer is None:
            if not self.templates_dir.is_dir():
                message = "no templates folder here; run from the project root or pass --root"
                raise MantisRenderError([Problem("templates/", 0, "", message)])
            self._renderer = Renderer(self.templates_dir, cache_dir=self.template_cache)
        return self._renderer


def _service_names_of(catalogue: Catalogue, secrets: set[str]) -> list[str]:
    """The other names under which declared services read a secret (a framework's name for a
    database password): review masks them as it masks the secret's own name."""
    by_path: dict[object, str] = {s.path: s.env for s in catalogue.all_settings if s.env}
    found = []
    for declaration in catalogue.services.values():
        for receives in declaration.receives:
            given = by_path.get(receives.source, receives.source)
            if given in secrets and receives.name not in secrets:
                found.append(receives.name)
    return list(dict.fromkeys(found))
