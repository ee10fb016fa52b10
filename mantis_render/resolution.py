"""Resolve an environment's secret references into values, reporting every failure at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem
from .profiles import Profile
from .secrets import (
    EnvReference,
    FileReference,
    SecretUnavailable,
    VaultNotConfigured,
    VaultReader,
    VaultReference,
    VaultSettings,
    read_env,
    read_file,
)
from .variables import Variable
from .yaml_source import format_key_path


@dataclass(frozen=True)
class Resolution:
    """Variables with every reference that could be resolved filled in.

    ``vault_not_configured`` is set when Vault references were left unresolved because VAULT_ADDR
    is not set: not an error, since the committable output needs no secret value.
    """

    variables: list[Variable]
    problems: list[Problem]
    vault_not_configured: bool = False

    @property
    def complete(self) -> bool:
        return all(variable.value is not None for variable in self.variables)


def resolve_secrets(
    profile: Profile, variables: list[Variable], environ: Mapping[str, str], root: Path
) -> Resolution:
    """Fetch every referenced secret; never raises for an unavailable one, reports it instead."""
    needs_vault = any(isinstance(variable.reference, VaultReference) for variable in variables)
    vault: VaultReader | None = None
    vault_not_configured = False
    if needs_vault:
        try:
            vault = VaultReader(
                VaultSettings.from_environment(environ, profile.data["secrets"]["vault_mount"])
            )
        except VaultNotConfigured:
            vault_not_configured = True
    resolved, problems = [], []
    for variable in variables:
        reference = variable.reference
        try:
            if isinstance(reference, VaultReference) and vault is not None:
                value: str | None = vault.read(reference)
            elif isinstance(reference, EnvReference):
                value = read_env(reference, environ)
            elif isinstance(reference, FileReference):
                value = read_file(reference, root)
            else:
                value = variable.value
        except SecretUnavailable as error:
            problems.append(_problem(profile, variable, str(error)))
            value = None
        resolved.append(dataclasses.replace(variable, value=value))
    return Resolution(resolved, problems, vault_not_configured)


def _problem(profile: Profile, variable: Variable, message: str) -> Problem:
    assert variable.path is not None  # only schema settings hold references
    location = profile.locations[variable.path]
    return Problem(
        location.file,
        location.line,
        format_key_path(variable.path),
        f"{variable.name} ({variable.reference}): {message}",
    )
