"""``mantis-render import``: a repository's env files become a catalogue and profiles.

Each variable becomes a setting, grouped into a section by its prefix when two or more share it
(``SHOP_DB_HOST`` -> ``shop.db_host``), typed as conservatively as its values allow (port,
host, URL, integer, number, flag, text; a type whose rendering would not give back the value
exactly is not chosen). What every environment shares goes into ``_base.yaml``, what differs
into each environment's profile. A secret, known by its name (``PASSWORD``, ``SECRET``,
``TOKEN``, ``_KEY``) or by a placeholder that says so, stays a literal in a development
environment and becomes a Vault reference elsewhere, at ``<project>/<environment>/<section>``
with the setting's key, which ``secrets init`` can then create. A URL holding a password, or a
value that reads other variables (``${SHOP_DB_HOST}``), becomes a composed value.

Nothing is fixed silently: each oddity of the files is a finding, with its file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit

import yaml

from ..catalogue.builtin import RESERVED, TIERS
from ..errors import Problem
from .envfiles import INTERPOLATION, Entry, EnvFile, read_env_file

CATALOGUE = "profiles/_catalogue.yaml"
BASE = "profiles/_base.yaml"
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|_KEY$")
PLACEHOLDER = re.compile(r"<[A-Za-z0-9_ .:-]+>|\bCHANGE_?ME\b|\bREPLACE_?ME\b", re.IGNORECASE)
SECRET_PLACEHOLDER = re.compile(r"PASSWORD|SECRET|TOKEN|VAULT", re.IGNORECASE)
TIER_OF = {"dev": "development", "local": "development", "stage": "staging", "prod": "production"}
KEY = re.compile(r"[a-z][a-z0-9_]*")
# What the tool itself gives every environment: the environment's name.
TOOL_VARIABLES = ("ENVIRONMENT",)
TAKEN = (*RESERVED, "services", "composed")


class Finding(NamedTuple):
    """One thing import says about the files: where, which variable, what, and its rule id."""

    file: str
    line: int
    name: str
    message: str
    rule: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.name}: {self.message} [{self.rule}]"


class Imported(NamedTuple):
    files: dict[str, str]  # project path -> text
    findings: list[Finding]
    variables: dict[str, str]  # a setting's dotted path -> its variable (composed: its name)


class _Setting:
    """One variable as a setting: where it goes and what each environment gives it."""

    def __init__(self, name: str, section: str | None, key: str) -> None:
        self.name, self.section, self.key = name, section, key
        self.values: dict[str, Entry] = {}  # environment -> its entry
        self.secret = bool(SECRET_NAME.search(name))
        self.kind = "text"

    @property
    def path(self) -> tuple[str, ...]:
        return (self.section, self.key) if self.section else (self.key,)


def tier_of(environment: str) -> str:
    return environment if environment in TIERS else TIER_OF.get(environment, "development")


def import_files(
    project: str, files: Mapping[str, EnvFile], demoted: frozenset[str] = frozenset()
) -> Imported:
    """The catalogue and profiles of ``files`` (environment -> its env file read), and the
    findings. ``demoted``: variables to type as text (a type whose check refused a value)."""
    findings: list[Finding] = []
    settings: dict[str, _Setting] = {}
    order: list[str] = []
    for environment, env_file in files.items():
        findings += _file_findings(environment, env_file)
        for name, entry in env_file.values().items():
            if name in TOOL_VARIABLES:
                if entry.value != environment:
                    message = (
                        f"the tool sets {name} to the environment's name ({environment}); "
                        f"name the environment {entry.value!r} to keep this value"
                    )
                    findings.append(
                        Finding(env_file.path, entry.line, name, message, "import-tool-variable")
                    )
                continue
            if entry.value is None or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
                continue  # said by _file_findings
            if name not in settings:
                order.append(name)
                settings[name] = _Setting(name, None, "")
            settings[name].values[environment] = entry
    _place(settings, order)
    environments = list(files)
    for setting in settings.values():
        values = [e.value for e in setting.values.values() if e.value is not None]
        if not setting.secret and any(
            SECRET_PLACEHOLDER.search(p) for v in values for p in PLACEHOLDER.findall(v)
        ):
            setting.secret = True
        if not setting.secret:
            setting.kind = "text" if setting.name in demoted else _kind(setting)
    composed = _composed(settings, files, demoted)
    for name in composed:
        settings.pop(name, None)
    for setting in settings.values():
        findings += _setting_findings(setting, environments, files)
    catalogue = _catalogue(project, settings, environments, composed)
    profiles = _profiles(project, settings, environments, composed)
    out = {CATALOGUE: catalogue, **profiles}
    variables = {".".join(s.path): s.name for s in settings.values() if s.name}
    variables.update((f"composed.{name}", name) for name in composed)
    ordered = sorted(set(findings), key=lambda f: (f.file, f.line, f.name, f.rule))
    return Imported(out, ordered, variables)


def _file_findings(environment: str, env_file: EnvFile) -> list[Finding]:
    found = []
    path = env_file.path
    seen: dict[str, Entry] = {}
    for entry in env_file.entries:
        if entry.name in seen:
            message = (
                f"set twice (lines {seen[entry.name].line} and {entry.line}): python-dotenv, "
                f"bash and docker compose take line {entry.line}"
            )
            found.append(Finding(path, entry.line, entry.name, message, "import-duplicate"))
        seen[entry.name] = entry
        if entry.value is None:
            message = "has no '=': python-dotenv reads no value; not imported"
            found.append(Finding(path, entry.line, entry.name, message, "import-no-value"))
        elif not re.fullmatch(r"[A-Z_][A-Z0-9_]*", entry.name):
            message = "is not an upper-case variable name; not imported"
            found.append(Finding(path, entry.line, entry.name, message, "import-name"))
        for differ in entry.differs:
            message = f"readers disagree: python-dotenv reads it as imported; {differ}"
            found.append(Finding(path, entry.line, entry.name, message, "import-readers-differ"))
    for line, name in env_file.commented:
        message = "commented out: no reader reads it; not imported"
        found.append(Finding(path, line, name, message, "import-commented"))
    for line in env_file.unreadable:
        message = "python-dotenv cannot parse this line and skips it; not imported"
        found.append(Finding(path, line, "", message, "import-unreadable"))
    return found


def _place(settings: dict[str, _Setting], order: list[str]) -> None:
    """Each setting's section (its prefix, when two or more variables share it) and key."""
    prefixes: dict[str, int] = {}
    for name in order:
        head, _, rest = name.partition("_")
        if rest:
            prefixes[head] = prefixes.get(head, 0) + 1
    for name in order:
        head, _, rest = name.partition("_")
        setting = settings[name]
        if rest and prefixes.get(head, 0) >= 2:
            setting.section, setting.key = _key(head), _key(rest)
        else:
            setting.key = _key(name)
    for name in order:  # a variable named as a section (CACHE beside CACHE_HOST) joins it
        setting = settings[name]
        if setting.section is None and prefixes.get(name, 0) >= 2:
            setting.section, setting.key = setting.key, "value"


def _key(text: str) -> str:
    key = text.lower()
    if not KEY.fullmatch(key):
        key = "v_" + re.sub(r"[^a-z0-9_]", "_", key)
    return f"{key}_settings" if key in TAKEN else key


_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]*[1-9]")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+")


def _kind(setting: _Setting) -> str:
    values = [e.value for e in setting.values.values() if e.value is not None]
    if not values or any(PLACEHOLDER.search(v) for v in values):
        return "text"
    name = setting.name
    if all(_INTEGER.fullmatch(v) for v in values):
        if name.endswith("PORT") and all(1 <= int(v) <= 65535 for v in values):
            return "port"
        return "integer"
    if all(_NUMBER.fullmatch(v) or _INTEGER.fullmatch(v) for v in values):
        return "number" if all(_NUMBER.fullmatch(v) for v in values) else "text"
    if all(v in ("true", "false") for v in values):
        return "flag"
    if name.endswith(("HOST", "HOSTNAME")) and all(_HOST.fullmatch(v) for v in values):
        return "host"
    if all(_URL.fullmatch(v) for v in values):
        return "url"
    return "text"


class _Composed(NamedTuple):
    description: str
    templates: dict[str, str]  # environment -> its template
    line: tuple[str, int]  # where it was first read


def _composed(
    settings: dict[str, _Setting],
    files: Mapping[str, EnvFile],
    demoted: frozenset[str],
) -> dict[str, _Composed]:
    """The variables that become composed values: a URL holding a password (it becomes a
    secret setting's placeholder), or a value reading other variables by ${NAME}."""
    by_name = {s.name: s for s in settings.values()}
    composed: dict[str, _Composed] = {}
    for setting in list(settings.values()):
        entries = setting.values.values()
        if not any(e.interpolated or _password_span(e.value or "") for e in entries):
            continue
        if setting.name in demoted:
            continue
        templates: dict[str, str] = {}
        matched: list[tuple[_Setting, bool]] = []  # the password's setting, found by value
        # the passwords written out first: a placeholder is then the same setting's
        ordered = sorted(
            setting.values.items(), key=lambda item: bool(PLACEHOLDER.search(item[1].value or ""))
        )
        for environment, entry in ordered:
            template = _template(setting, environment, entry, by_name, settings, matched)
            if template is None:
                break
            templates[environment] = template
        else:
            templates = {e: templates[e] for e in setting.values}
            first = next(iter(setting.values.items()))
            where = (files[first[0]].path, first[1].line)
            composed[setting.name] = _Composed(
                f"{setting.name} (imported from {where[0]}:{where[1]})", templates, where
            )
    return composed


def _password_span(value: str) -> tuple[int, int] | None:
    """Where the password of a URL's user information is, if it has one."""
    if "://" not in value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if "@" not in parts.netloc:
        return None
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" not in userinfo:
        return None
    start = value.index("://") + 3 + userinfo.index(":") + 1
    return start, value.index("://") + 3 + len(userinfo)


def _template(
    setting: _Setting,
    environment: str,
    entry: Entry,
    by_name: Mapping[str, _Setting],
    settings: dict[str, _Setting],
    matched: list[tuple[_Setting, bool]],
) -> str | None:
    """``entry``'s value as a template: its password as a secret setting's placeholder, the
    variables it reads as theirs; None when it cannot be one (then it stays a setting)."""
    value = entry.value or ""
    if entry.interpolated:
        read = [by_name.get(name) for name in entry.interpolated]
        if any(r is None or r.section is None for r in read):
            return None
        if any(environment not in by_name[name].values for name in entry.interpolated):
            return None
        raw = entry.raw or ""
        template, position = [], 0
        for match in INTERPOLATION.finditer(raw):
            template.append(_escaped(raw[position : match.start()]))
            template.append("{" + ".".join(by_name[match["name"]].path) + "}")
            position = match.end()
        template.append(_escaped(raw[position:]))
        return "".join(template)
    span = _password_span(value)
    if span is None:  # composed elsewhere, plain text here
        return _escaped(value) if value else None
    password = value[span[0] : span[1]]
    if PLACEHOLDER.search(password) and matched:
        source = matched[0]
        created = source[0]
        if not created.name:  # the URL's own password setting: a value here too
            created.values[environment] = Entry(0, "", password, "", password, (), ())
    else:
        source = _password_setting(setting, environment, password, settings)
        matched.append(source)
    placeholder = "{" + ".".join(source[0].path) + ("|urlencode}" if source[1] else "}")
    return _escaped(value[: span[0]]) + placeholder + _escaped(value[span[1] :])


def _password_setting(
    setting: _Setting, environment: str, password: str, settings: dict[str, _Setting]
) -> tuple[_Setting, bool]:
    """The secret setting a URL's password is (and whether the URL holds it percent-encoded):
    a secret of the same environment with that value, or a new setting of the URL's own."""
    for other in settings.values():
        if other is setting or not other.secret or other.section is None:
            continue
        entry = other.values.get(environment)
        if entry is None or entry.value is None or not entry.value:
            continue
        if quote(entry.value, safe="") == password:
            return other, True
        if entry.value == password and "@" not in password:
            return other, False
    section = setting.section or setting.key
    key = f"{setting.key}_password" if setting.section else "password"
    own = f"{section}.{key}"
    if own not in settings:
        created = _Setting("", section, key)
        created.secret = True
        settings[own] = created
    created = settings[own]
    plain = unquote(password)
    encoded = quote(plain, safe="") == password or bool(PLACEHOLDER.search(password))
    kept = plain if encoded else password
    created.values[environment] = Entry(0, "", kept, "", kept, (), ())
    return created, encoded


def _escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _setting_findings(
    setting: _Setting, environments: Sequence[str], files: Mapping[str, EnvFile]
) -> list[Finding]:
    found: list[Finding] = []
    if not setting.name:
        return found
    missing = [e for e in environments if e not in setting.values]
    first_env, first = next(iter(setting.values.items()))
    if missing:
        message = f"only in {', '.join(setting.values)}: optional (required: false)"
        found.append(
            Finding(files[first_env].path, first.line, setting.name, message, "import-partial")
        )
    for environment, entry in setting.values.items():
        path = files[environment].path
        has_placeholder = bool(PLACEHOLDER.search(entry.value or ""))
        if (
            setting.secret
            and tier_of(environment) != "development"
            and entry.value
            and not has_placeholder
        ):
            message = "a literal secret: imported as a Vault reference (the value is not written)"
            found.append(Finding(path, entry.line, setting.name, message, "import-literal-secret"))
        if has_placeholder and not setting.secret:
            message = "a placeholder in a variable that does not look secret: kept as written"
            found.append(Finding(path, entry.line, setting.name, message, "import-placeholder"))
        if has_placeholder and setting.secret and tier_of(environment) == "development":
            message = "a placeholder in a development secret: kept as written; set a real value"
            found.append(Finding(path, entry.line, setting.name, message, "import-placeholder"))
    return found


def _secret_kind(name: str) -> str:
    if "JWT" in name:
        return "jwt-secret"
    if "ADMIN" in name:
        return "admin-password"
    if re.search(r"PASSWORD|PASSWD", name):
        return "database-password"
    return "api-key"


def _catalogue(
    project: str,
    settings: Mapping[str, _Setting],
    environments: Sequence[str],
    composed: Mapping[str, _Composed],
) -> str:
    entries: dict[str, Any] = {}
    for setting in settings.values():
        entry: dict[str, Any] = {"type": "secret" if setting.secret else setting.kind}
        if setting.secret:
            entry["kind"] = _secret_kind(setting.name or setting.key.upper())
        if setting.name:
            entry["variable"] = setting.name
            entry["description"] = f"{setting.name} (imported)"
        else:
            entry["description"] = "The password its composed URL holds (imported)"
        empty = any(e.value == "" for e in setting.values.values())
        if setting.kind == "text" and not setting.secret and empty:
            entry["min_length"] = 0
        if any(e not in setting.values for e in environments):
            entry["required"] = False
        if setting.section is None:
            entries[setting.key] = entry
        else:
            section = entries.setdefault(
                setting.section,
                {
                    "type": "section",
                    "description": f"{setting.section.upper()}_* (imported)",
                    "settings": {},
                },
            )
            section["settings"][setting.key] = entry
    for entry in entries.values():  # a section some environment lacks whole is optional
        inside = entry.get("settings", {}).values() if entry.get("type") == "section" else ()
        if inside and all(s.get("required", True) is False for s in inside):
            entry["required"] = False
    if composed:
        entries["composed"] = {
            "type": "composed",
            "description": "Values made from the settings (imported)",
        }
    document = {"project": project, "title": f"{project} variables", "settings": entries}
    header = (
        "# The catalogue: every setting the profiles hold, its type, and the variable it becomes.\n"
        "# Written by mantis-render import from the repository's env files; edit it freely.\n"
    )
    return header + _dump(document)


def _profiles(
    project: str,
    settings: Mapping[str, _Setting],
    environments: Sequence[str],
    composed: Mapping[str, _Composed],
) -> dict[str, str]:
    base: dict[str, Any] = {
        "secrets": {
            "stores": {
                "vault": {
                    "mount": "secret",
                    "external_secrets": {"kind": "ClusterSecretStore", "name": "vault"},
                }
            },
            "refresh_interval": "1h",
        }
    }
    own: dict[str, dict[str, Any]] = {
        e: {"extends": "_base", "tier": tier_of(e)} for e in environments
    }
    for setting in settings.values():
        values = {e: _value(project, setting, e) for e in setting.values}
        shared = len(values) == len(environments) and len({repr(v) for v in values.values()}) == 1
        if shared:
            _put(base, setting.path, next(iter(values.values())))
        else:
            for environment, value in values.items():
                _put(own[environment], setting.path, value)
    for name, made in composed.items():
        templates = made.templates
        entry = {"description": made.description}
        if len(templates) == len(environments) and len(set(templates.values())) == 1:
            _put(base, ("composed", name), {**entry, "template": next(iter(templates.values()))})
        else:
            for environment, template in templates.items():
                _put(own[environment], ("composed", name), {**entry, "template": template})
    header = "# yaml-language-server: $schema=../schemas/profile-file.schema.json\n"
    out = {
        BASE: header
        + "# What every environment shares (written by mantis-render import).\n"
        + _dump(base)
    }
    for environment, document in own.items():
        out[f"profiles/{environment}.yaml"] = header + _dump(document)
    return out


def _value(project: str, setting: _Setting, environment: str) -> Any:
    entry = setting.values[environment]
    text = entry.value or ""
    if setting.secret:
        if tier_of(environment) == "development":
            return text
        where = f"{project}/{environment}/{setting.section or 'app'}"
        return {"vault": where, "key": setting.key}
    if setting.kind in ("port", "integer"):
        return int(text)
    if setting.kind == "number":
        return float(text)
    if setting.kind == "flag":
        return text == "true"
    return text


def _put(document: dict[str, Any], path: Sequence[str], value: Any) -> None:
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = value


def _dump(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


class Adoption(NamedTuple):
    """What import writes (project path -> text), and what it says."""

    files: dict[str, str]
    findings: list[Finding]
    kept: list[str]  # files there already, not overwritten (without --force)


def adopt(
    root: Path, sources: Mapping[str, Path], display: Mapping[str, str], force: bool
) -> Adoption:
    """Import ``sources`` (environment -> env file) into the project at ``root``: the files
    to write, checked as render reads them (every value given back exactly), and the findings.
    MantisRenderError for an env file that cannot be read."""
    from ..developer.starter import project_name, starter_files
    from ..errors import MantisRenderError, Problem

    files = {}
    problems = []
    for environment, path in sources.items():
        shown = display[environment]
        try:
            raw = path.read_bytes()
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            problems.append(Problem(shown, line, "", f"not UTF-8 text ({error.reason})"))
            continue
        except OSError as error:
            problems.append(Problem(shown, 0, "", f"cannot be read: {error.strerror}"))
            continue
        files[environment] = read_env_file(shown, text)
    if problems:
        raise MantisRenderError(problems)
    existing = (root / CATALOGUE).is_file()
    name = _existing_project(root) if existing else project_name(root)
    layout: dict[str, str] = {}
    if not existing:
        layout = {
            path: text
            for path, text in starter_files("minimal", name).items()
            if path.startswith("templates/") and path != OVERRIDE_TEMPLATE
        }
        layout[OVERRIDE_TEMPLATE] = IMPORTED_OVERRIDE
    demoted: frozenset[str] = frozenset()
    for _ in range(4):  # each round can only demote more variables: it ends
        imported = import_files(name, files, demoted)
        refused, unfixed = _refused(imported, layout, root, files)
        if refused <= demoted:
            break
        demoted |= refused
    findings = imported.findings + [
        Finding(p.file, p.line, p.key, f"{p.message} (fix it in the imported file)", "import-check")
        for p in unfixed
    ]
    written = {**layout, **imported.files}
    kept = [path for path in written if (root / path).exists()] if not force else []
    if existing:
        kept = [path for path in kept if not path.startswith("templates/")]
    return Adoption(written, findings, kept)


OVERRIDE_TEMPLATE = "templates/docker-compose.override.yml.j2"
IMPORTED_OVERRIDE = """{% include "_header.j2" %}
#
# The services come from the project's own compose file; start them with this folder's .env:
#   docker compose --project-directory rendered/{{ environment }} -f compose.yaml \\
#     -f rendered/{{ environment }}/docker-compose.override.yml up
name: {{ namespace | yaml }}
"""


def _existing_project(root: Path) -> str:
    """The project's name, as its catalogue says (ProfileError when it cannot be read)."""
    from ..profiles import ProfileSet

    return ProfileSet(root / "profiles").catalogue.project


def _refused(
    imported: Imported, layout: Mapping[str, str], root: Path, files: Mapping[str, EnvFile]
) -> tuple[frozenset[str], list[Problem]]:
    """The variables whose value the imported project does not give back exactly, or whose
    type refuses it: they are imported again as text (composed ones as plain values); and the
    problems that are no variable's."""
    import tempfile

    from ..errors import MantisRenderError
    from ..outputs.render import unwritable_values
    from ..profiles.variables import environment_variables
    from ..project import Project

    refused: set[str] = set()
    unfixed: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="mantis-import-") as scratch:
        folder = Path(scratch)
        for path, text in {**layout, **imported.files}.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text, encoding="utf-8")
        if not layout:  # an existing project: its own templates
            for template in (root / "templates").rglob("*"):
                if template.is_file():
                    target = folder / template.relative_to(root)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(template.read_bytes())
        project = Project(folder)
        for environment, env_file in files.items():
            expected = {name: e.value for name, e in env_file.values().items()}
            try:
                profile = project.load_valid(environment)
            except MantisRenderError as error:
                for problem in error.problems:
                    named = imported.variables.get(problem.key.split(" ")[0])
                    if named:
                        refused.add(named)
                    else:
                        shown = problem.file.replace(str(folder) + "/", "")
                        unfixed.append(problem._replace(file=shown))
                continue
            variables = environment_variables(profile)
            for variable in variables:
                if variable.value is None or variable.name not in expected:
                    continue
                if variable.value != expected[variable.name]:
                    refused.add(variable.name)
            for problem in unwritable_values(profile, variables):  # no output can carry it
                unfixed.append(problem._replace(file=env_file.path, line=0))
    return frozenset(refused), unfixed


def write_adoption(root: Path, adoption: Adoption, new_project: bool) -> list[str]:
    """Write what import made, all or nothing; a new project also gets init's .gitignore
    lines and pre-commit hook. The paths written, in order."""
    from ..developer.starter import GITIGNORE, MINIMAL, PRE_COMMIT, _gitignore, _write_all

    files = dict(adoption.files)
    if new_project:
        ignored, _ = _gitignore(root)
        if ignored is not None:
            files[GITIGNORE] = ignored
        if not (root / PRE_COMMIT).exists():
            files[PRE_COMMIT] = (MINIMAL / "pre-commit-config.yaml").read_text(encoding="utf-8")
    _write_all(root, files)
    return list(files)
