"""A mantis-render project: its profiles, its templates, and the pipeline between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import MantisRenderError, Problem, ProfileError
from .profiles import Profile, ProfileSet
from .render import Renderer
from .schema import validate_profile
from .variables import Variable, environment_variables
from .verify import verify_rendered

DEFAULT_OUTPUT = "rendered"


@dataclass(frozen=True)
class RenderedEnvironment:
    """Everything one environment renders to, held in memory until it is written."""

    profile: Profile
    variables: list[Variable]
    files: dict[str, str]

    @property
    def name(self) -> str:
        return self.profile.name


@dataclass
class Project:
    """A folder holding ``profiles/`` and ``templates/``."""

    root: Path
    profiles: ProfileSet = field(init=False)
    _renderer: Renderer | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.profiles = ProfileSet(self.root / "profiles")

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def build(self, name: str) -> RenderedEnvironment:
        """Load, validate, render and verify one environment, in memory.

        Raises UnknownEnvironmentError for a name with no profile, and MantisRenderError (with
        every problem found) for a profile or template that cannot produce correct output.
        """
        profile = self.profiles.load(name)
        problems = validate_profile(profile)
        if problems:
            raise ProfileError(problems)
        variables = environment_variables(profile)
        files = self._get_renderer().render(profile, variables)
        problems = verify_rendered(files, f"{DEFAULT_OUTPUT}/{name}/")
        if problems:
            raise MantisRenderError(problems)
        return RenderedEnvironment(profile, variables, files)

    def _get_renderer(self) -> Renderer:
        if self._renderer is None:
            if not self.templates_dir.is_dir():
                message = "no templates folder here; run from the project root or pass --root"
                raise MantisRenderError([Problem("templates/", 0, "", message)])
            self._renderer = Renderer(self.templates_dir)
        return self._renderer
