"""Secret rotation audit: each Vault secret's age against the guide's rotation periods."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .errors import Problem
from .profiles import Profile
from .secrets import SecretUnavailable, VaultReader, VaultReference
from .variables import Variable
from .yaml_source import format_key_path

# The guide: database passwords and API keys every 90 days, JWT secrets every 180 days.
ROTATION_DAYS = {"database-password": 90, "api-key": 90, "admin-password": 90, "jwt-secret": 180}

Status = Literal["ok", "overdue", "not in Vault"]


@dataclass(frozen=True)
class SecretAge:
    variable: str
    reference: str
    kind: str
    age_days: int | None
    max_age_days: int
    status: Status


def audit_rotation(
    profile: Profile, variables: list[Variable], vault: VaultReader, as_of: datetime
) -> tuple[list[SecretAge], list[Problem]]:
    """The age of every secret of the environment, and the secrets whose metadata is unreadable."""
    ages, problems = [], []
    for variable in variables:
        if not variable.secret_kind:
            continue
        limit = ROTATION_DAYS[variable.secret_kind]
        reference = variable.reference
        if not isinstance(reference, VaultReference):
            where = str(reference) if reference else "literal"
            ages.append(
                SecretAge(variable.name, where, variable.secret_kind, None, limit, "not in Vault")
            )
            continue
        try:
            changed = _last_written(vault.metadata(reference.path))
        except SecretUnavailable as error:
            assert variable.path is not None
            location = profile.locations[variable.path]
            message = f"{variable.name} ({reference}): {error}"
            problems.append(
                Problem(location.file, location.line, format_key_path(variable.path), message)
            )
            continue
        age = (as_of - changed).days
        status: Status = "overdue" if age > limit else "ok"
        ages.append(
            SecretAge(variable.name, str(reference), variable.secret_kind, age, limit, status)
        )
    return ages, problems


def _last_written(metadata: dict[str, object]) -> datetime:
    """When the current version was written (Vault gives nanoseconds; Python takes microseconds)."""
    versions = metadata["versions"]
    assert isinstance(versions, dict)
    created = versions[str(metadata["current_version"])]["created_time"]
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", created).replace("Z", "+00:00")
    return datetime.fromisoformat(trimmed)
