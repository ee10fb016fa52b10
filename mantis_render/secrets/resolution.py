"""Resolve an environment's secret references into values, reporting every failure at once."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from ..errors import Problem
from ..profiles import Profile
from ..profiles.variables import Variable, with_composed_values
from ..yaml_source import format_key_path
from .references import (
    STORE_KINDS,
    EnvReference,
    FileReference,
    SecretUnavailable,
    StoreNotConfigured,
    StoreReference,
    StoreUnusable,
    read_env,
    read_file,
)
from .stores import Stores


class Resolution(NamedTuple):
    """Variables with every reference that could be resolved filled in.

    ``not_configured`` says, for each store this machine has no way to reach (VAULT_ADDR not
    set, no AWS credentials, a store External Secrets alone reads), why its references were left
    unresolved: not an error, since the committable output needs no secret value.
    """

    variables: list[Variable]
    problems: list[Problem]
    not_configured: dict[str, str]

    @property
    def complete(self) -> bool:
        return all(variable.value is not None for variable in self.variables)


def resolve_secrets(
    profile: Profile,
    variables: list[Variable],
    environ: Mapping[str, str],
    root: Path,
    stores: Stores | None = None,
) -> Resolution:
    """Fetch every referenced secret; never raises for an unavailable one, reports it instead.
    ``stores``: the run's stores, when it has opened them already."""
    stores = stores or Stores(environ)
    stores.prefetch(
        profile, (v.reference for v in variables if isinstance(v.reference, StoreReference))
    )
    resolved, problems, not_configured = [], [], {}
    unusable: dict[str, StoreUnusable] = {}
    for variable in variables:
        reference = variable.reference
        try:
            if isinstance(reference, StoreReference):
                value: str | None = stores.get(profile, reference.store).read(reference)
            elif isinstance(reference, EnvReference):
                value = read_env(reference, environ)
            elif isinstance(reference, FileReference):
                value = read_file(reference, root)
            else:
                value = variable.value
        except StoreNotConfigured as error:
            assert isinstance(reference, StoreReference)
            not_configured[reference.store] = str(error)
            value = None
        except StoreUnusable as error:
            assert isinstance(reference, StoreReference)
            unusable[reference.store] = error
            value = None
        except SecretUnavailable as error:
            problems.append(reference_problem(profile, variable, str(error)))
            value = None
        resolved.append(variable._replace(value=value))
    problems += [store_problem(profile, kind, error) for kind, error in unusable.items()]
    if any(variable.source == "composed" for variable in resolved):
        resolved = with_composed_values(profile, resolved)
    return Resolution(resolved, problems, not_configured)


def reference_problem(profile: Profile, variable: Variable, message: str) -> Problem:
    """A problem at the variable's setting, naming the variable and its reference."""
    assert variable.path is not None  # only schema settings hold references
    location = profile.locations[variable.path]
    return Problem(
        location.file,
        location.line,
        format_key_path(variable.path),
        f"{variable.name} ({variable.reference}): {message}",
    )


def store_problem(profile: Profile, kind: str, error: StoreUnusable) -> Problem:
    """A store that cannot be used as this machine configures it: one problem for all of its
    secrets, at the environment's profile, naming the store and the setting to fix."""
    return Problem(profile.file, 0, "", f"{STORE_KINDS[kind].product}: {error}")
