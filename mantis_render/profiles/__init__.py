"""Find profile files, load them, and merge an ``extends`` chain with the provenance of each key.

A profile is ``profiles/<name>.yaml``. Files whose name starts with ``_`` (``_base.yaml``) are
partial profiles: other profiles extend them, but they are not environments themselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import Problem, ProfileError, UnknownEnvironmentError, quoted

if TYPE_CHECKING:
    # yaml_source imports PyYAML, which `mantis-render list` does not need: parsing imports it.
    from ..catalogue import Catalogue
    from ..yaml_source import KeyPath

# An environment becomes the Kubernetes namespace "<project>-<name>": a DNS label of at most 63
# (checked with the project's name; a name alone is a label with room for a short one).
ENVIRONMENT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,54}[a-z0-9])?")
PARTIAL_NAME = re.compile(r"_[a-z0-9][a-z0-9_-]{0,62}")
PROFILE_SUFFIX = ".yaml"
EXTENDS_KEY = "extends"
# profiles/<env>.local.yaml: a developer's own overrides, git-ignored, merged last (development
# tier only), never part of the committed output.
LOCAL_SUFFIX = ".local"
LOCAL_TIER = "development"
# The 10,000-service benchmark's base profile is 3.7 MB; a profile past this is a mistake, and
# refusing it before parsing keeps the memory of a run bounded (parsing takes ~40x the size).
MAX_PROFILE_BYTES = 16 * 2**20


class Location(NamedTuple):
    """Where a value was written: a file (as shown to the user) and a 1-based line."""

    file: str
    line: int


class Layer:
    """One file of an extends chain, as written (``file``: as shown to the user)."""

    def __init__(self, name: str, file: str, data: dict[str, Any], path: Path) -> None:
        self.name = name
        self.file = file
        self.data = data
        self.path = path

    def __repr__(self) -> str:
        return f"Layer({self.name!r}, {self.file!r})"

    @cached_property
    def lines(self) -> dict[KeyPath, int]:
        """The line of each key path, read again when first asked (for a problem's or an
        explanation's location): on a large base profile, the table of every key's line took
        more memory than the profile's data. A file changed since is read as it is now."""
        from ..yaml_source import YamlProblems, parse_yaml

        try:
            return parse_yaml(self.path.read_text(encoding="utf-8"), self.file).lines
        except (OSError, UnicodeDecodeError, YamlProblems):
            return {}


class Profile(NamedTuple):
    """An environment's settings after merging its extends chain.

    ``locations`` maps every key path of ``data`` to where its final value was written;
    ``layers`` lists the chain from the furthest base to the environment's own file.
    """

    name: str
    data: dict[str, Any]
    locations: Mapping[KeyPath, Location]
    layers: tuple[Layer, ...]
    catalogue: Catalogue  # what the project declares its settings to be

    @property
    def file(self) -> str:
        return self.layers[-1].file

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(layer.file for layer in self.layers)


class ProfileSet:
    """The profiles folder of a project, and the names shown for its files.

    Each file is parsed once: environments that extend the same base share its parse.
    """

    display_prefix = "profiles/"

    def __init__(self, directory: Path, confine: Path | None = None) -> None:
        """``confine``: a folder a profile's symlink must not leave (a project read from a git
        revision: what a link outside points to is not part of it)."""
        self.directory = directory
        self.confine = confine.resolve() if confine is not None else None
        self._parsed: dict[str, Layer] = {}

    def __repr__(self) -> str:
        return f"ProfileSet({self.directory!r})"

    def path_of(self, name: str) -> Path:
        return self.directory / f"{name}{PROFILE_SUFFIX}"

    def display(self, name: str) -> str:
        return f"{self.display_prefix}{name}{PROFILE_SUFFIX}"

    def outside(self, path: Path) -> str | None:
        """Why ``path`` is not read, when it is a symlink leaving the confined folder."""
        if self.confine is None or not path.is_symlink():
            return None
        if path.resolve().is_relative_to(self.confine):
            return None
        return (
            f"a symlink to {os.readlink(path)}, outside the repository: a revision is read as "
            "committed, and what it points to is not"
        )

    def environments(self) -> list[str]:
        """The environment names with a profile, sorted."""
        return sorted(
            path.stem for path in self._profile_files() if ENVIRONMENT_NAME.fullmatch(path.stem)
        )

    def misnamed_files(self) -> list[Problem]:
        """Profile files that would otherwise be ignored without a word, and entries named like
        a profile that are not one (a folder, a dangling symlink)."""
        problems = []
        for path in sorted(self.directory.iterdir()) if self.directory.is_dir() else []:
            shown = f"{self.display_prefix}{path.name}"
            not_a_file = _not_a_file(path) if path.suffix in (".yml", PROFILE_SUFFIX) else None
            if not_a_file:
                problems.append(Problem(shown, 0, "", f"not a profile: {not_a_file}"))
            elif path.suffix == ".yml":
                problems.append(Problem(shown, 0, "", "profiles use the .yaml extension"))
            elif path.suffix == PROFILE_SUFFIX and not (
                ENVIRONMENT_NAME.fullmatch(path.stem)
                or PARTIAL_NAME.fullmatch(path.stem)
                or _is_local_name(path.stem)
            ):
                problems.append(Problem(shown, 0, "", _NAME_RULE))
        return problems

    def check_environment(self, name: str) -> None:
        """Raise UnknownEnvironmentError unless ``name`` is a plain name with a profile."""
        if not self.directory.is_dir():
            raise UnknownEnvironmentError(
                f"no profiles folder {self.directory}: run from the project root or pass --root"
            )
        if not ENVIRONMENT_NAME.fullmatch(name):
            raise UnknownEnvironmentError(
                f"{quoted(name)} is not an environment name: {_NAME_RULE}"
            )
        path = self.path_of(name)
        not_a_file = None if self.outside(path) else _not_a_file(path)
        if not_a_file:
            raise UnknownEnvironmentError(
                f"{self.display(name)} is not a profile: {not_a_file}; "
                "a profile is a YAML file (or a symlink to one)"
            )
        if not (path.is_file() or self.outside(path)):
            known = ", ".join(self.environments()) or "none"
            where = self.display_prefix
            raise UnknownEnvironmentError(
                f"no profile for environment {quoted(name)} in {where} (known: {known})"
            )

    def load(self, name: str, local: bool = False) -> Profile:
        """Load an environment's profile and merge its extends chain, base first; with
        ``local``, the developer's ``<name>.local.yaml`` last, when there is one."""
        self.check_environment(name)
        chain = self._load_chain(name)
        data: dict[str, Any] = {}
        for layer in chain:
            settings = {key: value for key, value in layer.data.items() if key != EXTENDS_KEY}
            data = _merge(data, settings)
        if self.has_local(name):
            # Checked for every command, merged only for what the developer runs: a misplaced
            # or unreadable one is never ignored.
            layer = self._local_layer(name, data.get("tier"))
            if local:
                chain.append(layer)
                data = _merge(data, layer.data)
        return Profile(name, data, _Locations(tuple(chain)), tuple(chain), self.catalogue)

    @cached_property
    def catalogue(self) -> Catalogue:
        """The project's catalogue (profiles/_catalogue.yaml), or ProfileError with its
        mistakes."""
        from ..catalogue import CATALOGUE_NAME
        from ..catalogue.reader import load_catalogue

        path = self.path_of(CATALOGUE_NAME)
        shown = self.display(CATALOGUE_NAME)
        why = self.outside(path)
        if why:
            raise ProfileError([Problem(shown, 0, "", f"not read: {why}")])
        return load_catalogue(path, shown)

    def local_name(self, name: str) -> str:
        return f"{name}{LOCAL_SUFFIX}"

    def has_local(self, name: str) -> bool:
        """Whether there is anything at profiles/<name>.local.yaml (a file, or a folder or a
        dangling symlink that loading it reports)."""
        path = self.path_of(self.local_name(name))
        return path.exists() or path.is_symlink()

    def _local_layer(self, name: str, tier: Any) -> Layer:
        """The .local file of ``name``: an empty one (all comments) overrides nothing."""
        local = self.local_name(name)
        shown = self.display(local)
        not_a_file = _not_a_file(self.path_of(local))
        if not_a_file:
            raise ProfileError([Problem(shown, 0, "", f"not a profile: {not_a_file}")])
        if tier != LOCAL_TIER:
            raise ProfileError(
                [
                    Problem(
                        shown,
                        0,
                        "",
                        f"personal overrides are for development-tier environments only; {name} "
                        f"is tier {tier}: remove {shown}",
                    )
                ]
            )
        try:
            layer = self._load_layer(local)
        except ProfileError as error:
            if [p.message for p in error.problems] == [_EMPTY]:
                return Layer(local, shown, {}, self.path_of(local))
            raise
        for key in (EXTENDS_KEY, "tier"):
            if key in layer.data:
                line = layer.lines.get((key,), 1)
                message = (
                    f"a .local file overrides settings of {self.display(name)}; it has no {key}"
                )
                raise ProfileError([Problem(shown, line, key, message)])
        return layer

    def _profile_files(self) -> list[Path]:
        """The regular files (or symlinks to one) named *.yaml: a folder or a dangling symlink
        named like a profile is reported by misnamed_files, never loaded."""
        if not self.directory.is_dir():
            return []
        return [
            path
            for path in self.directory.iterdir()
            if path.suffix == PROFILE_SUFFIX and (path.is_file() or self.outside(path))
        ]

    def _load_chain(self, name: str) -> list[Layer]:
        chain: list[Layer] = []
        seen: list[str] = []
        while True:
            layer = self._load_layer(name)
            chain.insert(0, layer)
            seen.append(name)
            if EXTENDS_KEY not in layer.data:
                return chain
            parent = layer.data[EXTENDS_KEY]
            self._check_parent(layer, parent, seen)
            name = parent

    def _check_parent(self, layer: Layer, parent: Any, seen: list[str]) -> None:
        def fail(message: str) -> ProfileError:  # the file is read again for lines only here
            line = layer.lines.get((EXTENDS_KEY,), 1)
            return ProfileError([Problem(layer.file, line, EXTENDS_KEY, message)])

        if parent is None:
            raise fail("names no profile; name one, such as '_base', or remove the line")
        if not isinstance(parent, str) or not (
            ENVIRONMENT_NAME.fullmatch(parent) or PARTIAL_NAME.fullmatch(parent)
        ):
            raise fail(f"must name another profile in {self.display_prefix}, such as '_base'")
        if parent == "_catalogue":
            raise fail("_catalogue declares the settings; a profile extends another profile")
        if parent in seen:
            cycle = " -> ".join([*seen, parent])
            raise fail(f"circular extends: {cycle}")
        path = self.path_of(parent)
        if not (path.is_file() or self.outside(path)):
            raise fail(f"no profile named {quoted(parent)} in {self.display_prefix}")

    def _load_layer(self, name: str) -> Layer:
        if name not in self._parsed:
            self._parsed[name] = self._parse_layer(name)
        return self._parsed[name]

    def _parse_layer(self, name: str) -> Layer:
        from ..yaml_source import YamlProblems, parse_yaml

        shown = self.display(name)
        outside = self.outside(self.path_of(name))
        if outside:
            raise ProfileError([Problem(shown, 0, "", f"not a profile: {outside}")])
        try:
            size = self.path_of(name).stat().st_size
            if size > MAX_PROFILE_BYTES:
                message = (
                    f"{size:,} bytes; a profile is at most {MAX_PROFILE_BYTES // 2**20} MiB "
                    "(some 45,000 services)"
                )
                raise ProfileError([Problem(shown, 0, "", message)])
            raw = self.path_of(name).read_bytes()
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            raise ProfileError(
                [Problem(shown, line, "", f"not UTF-8 text ({error.reason})")]
            ) from None
        except OSError as error:
            raise ProfileError([Problem(shown, 0, "", f"cannot read: {error.strerror}")]) from None
        try:
            parsed = parse_yaml(text, shown, with_lines=False)
        except YamlProblems:
            try:  # again, to say where each problem is
                parse_yaml(text, shown)
            except YamlProblems as error:
                raise ProfileError(error.problems) from None
            raise
        if parsed.data is None:
            raise ProfileError([Problem(shown, 1, "", _EMPTY)])
        if not isinstance(parsed.data, dict):
            kind = "a list" if isinstance(parsed.data, list) else "a single value"
            raise ProfileError(
                [Problem(shown, 1, "", f"the profile must be a mapping of settings, not {kind}")]
            )
        return Layer(name, shown, parsed.data, self.path_of(name))


def _not_a_file(path: Path) -> str | None:
    """Why an entry that exists is not a readable profile file; None if it is one or is absent."""
    if path.is_file() or not (path.exists() or path.is_symlink()):
        return None
    if path.is_symlink() and not path.exists():
        return f"a symlink to {os.readlink(path)}, which does not exist"
    return "a folder" if path.is_dir() else "not a regular file"


_EMPTY = "the profile is empty; expected a mapping of settings"


def _is_local_name(stem: str) -> bool:
    base, _, suffix = stem.rpartition(".")
    return f".{suffix}" == LOCAL_SUFFIX and bool(ENVIRONMENT_NAME.fullmatch(base))


_NAME_RULE = (
    "an environment name is lowercase letters, digits and '-' (at most 56), "
    "and a partial profile's name starts with '_'"
)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` onto ``base``: mappings merge, everything else (lists too) replaces;
    so does a secret reference, a mapping that is one value (``{aws: NAME}`` over
    ``{vault: PATH, key: KEY}`` is the AWS secret, not a mix of both)."""
    data = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict) and not _is_reference(value):
            data[key] = _merge(data[key], value)
        else:
            data[key] = value
    return data


def _is_reference(value: dict[str, Any]) -> bool:
    """Whether a mapping is written as a secret reference: reference keys only, text values,
    and a kind among them (a mapping of settings that names a store, like
    secrets.stores.vault, holds mappings)."""
    from ..secrets.references import REFERENCE_KEYS  # here: `mantis-render list` merges nothing

    return (
        bool(value)
        and all(key in REFERENCE_KEYS and isinstance(item, str) for key, item in value.items())
        and any(key != "key" for key in value)
    )


class _Locations(Mapping["KeyPath", Location]):
    """Where the final value of each key path was written: in the last layer of the chain that
    wrote the path, and whose value was not replaced whole by a later layer.

    Looked up when asked (only problems and explanations ask, for a few paths, where a large
    profile has tens of thousands), from the layers' own line tables: nothing is built ahead.
    """

    def __init__(self, layers: tuple[Layer, ...]) -> None:
        self._layers = layers

    def __getitem__(self, path: KeyPath) -> Location:
        if not path or path == (EXTENDS_KEY,):
            raise KeyError(path)
        for layer in reversed(self._layers):
            if path in layer.lines:
                return Location(layer.file, layer.lines[path])
            if self._replaces(layer, path):
                break  # a later layer set a parent to something that is not merged
        raise KeyError(path)

    @staticmethod
    def _replaces(layer: Layer, path: KeyPath) -> bool:
        """Whether ``layer`` sets a proper prefix of ``path`` to a value that replaces (not a
        mapping that merges), hiding what earlier layers wrote below it."""
        value: Any = layer.data
        for part in path[:-1]:
            if not isinstance(value, dict) or part not in value:
                return False
            value = value[part]
            if not isinstance(value, dict):
                return True
        return False

    def __iter__(self) -> Iterator[KeyPath]:
        seen: set[KeyPath] = set()
        for layer in reversed(self._layers):
            for path in layer.lines:
                if path[0] != EXTENDS_KEY and path not in seen and path in self:
                    seen.add(path)
                    yield path

    def __len__(self) -> int:
        return sum(1 for _ in self)


def where_to_add(profile: Profile, path: KeyPath) -> Location:
    """A missing key belongs in the environment's own file, under its nearest parent there; but
    a part of an entry a profile declares by name (a service, a composed variable) belongs with
    that entry, in the file that declares it (a composed variable of _base.yaml)."""
    own = profile.layers[-1]
    for length in range(len(path) - 1, 0, -1):
        parent = path[:length]
        if parent in own.lines:
            return Location(own.file, own.lines[parent])
        if profile.catalogue.declared_by_name(parent):
            for layer in reversed(profile.layers):
                if parent in layer.lines:
                    return Location(layer.file, layer.lines[parent])
    return Location(own.file, 1)
