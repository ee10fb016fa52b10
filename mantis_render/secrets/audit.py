"""Secret rotation audit: each stored secret's age against the guide's rotation periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..errors import Problem
from ..profiles import Profile
from ..profiles.variables import Variable
from .references import SecretUnavailable, StoreNotConfigured, StoreReference, StoreUnusable
from .resolution import reference_problem, store_problem
from .stores import Stores

# The guide: database passwords and API keys every 90 days, JWT secrets every 180 days.
ROTATION_DAYS = {"database-password": 90, "api-key": 90, "admin-password": 90, "jwt-secret": 180}

Status = Literal["ok", "overdue", "not in a store"]


@dataclass(frozen=True)
class SecretAge:
    variable: str
    reference: str
    kind: str
    age_days: int | None
    max_age_days: int
    status: Status


@dataclass(frozen=True)
class CertificateAge:
    """The environment's certificate: due when it expires within ``renew_before_days``."""

    subject: str
    hosts: list[str]
    expires: str  # the date, YYYY-MM-DD (UTC)
    days_left: int
    renew_before_days: int
    status: Literal["ok", "due", "overdue"]


def audit_certificate(
    profile: Profile, certificate: Variable, as_of: datetime
) -> tuple[CertificateAge | None, list[Problem]]:
    """What the resolved certificate says about its expiry, or why it cannot be read."""
    from .certificates import read_certificate, renew_before_days

    assert certificate.value is not None
    try:
        read = read_certificate(certificate.value)
    except ValueError as error:
        return None, [reference_problem(profile, certificate, f"tls.crt {error}")]
    days_left = (read.not_after - as_of).days
    renew = renew_before_days(profile)
    status: Literal["ok", "due", "overdue"] = (
        "overdue" if read.not_after <= as_of else "due" if days_left < renew else "ok"
    )
    expires = read.not_after.date().isoformat()
    return CertificateAge(read.subject, read.hosts, expires, days_left, renew, status), []


def audit_rotation(
    profile: Profile, variables: list[Variable], stores: Stores, as_of: datetime
) -> tuple[list[SecretAge], list[Problem]]:
    """The age of every secret of the environment, and the secrets whose age is unreadable."""
    ages, problems = [], []
    not_configured: dict[str, str] = {}
    unusable: dict[str, StoreUnusable] = {}
    for variable in variables:
        if variable.secret_kind not in ROTATION_DAYS:
            continue
        limit = ROTATION_DAYS[variable.secret_kind]
        reference = variable.reference
        if not isinstance(reference, StoreReference):
            where = str(reference) if reference else "literal"
            ages.append(
                SecretAge(variable.name, where, variable.secret_kind, None, limit, "not in a store")
            )
            continue
        try:
            changed = stores.get(profile, reference.store).last_changed(reference)
        except StoreNotConfigured as error:
            not_configured[reference.store] = str(error)
            continue
        except StoreUnusable as error:
            unusable[reference.store] = error
            continue
        except SecretUnavailable as error:
            problems.append(reference_problem(profile, variable, str(error)))
            continue
        age = (as_of - changed).days
        status: Status = "overdue" if age > limit else "ok"
        ages.append(
            SecretAge(variable.name, str(reference), variable.secret_kind, age, limit, status)
        )
    # Said once for each store, at the environment's file: not once for each of its secrets.
    problems[:0] = [
        Problem(profile.file, 0, "", f"audit: {why}") for why in not_configured.values()
    ] + [store_problem(profile, kind, error) for kind, error in unusable.items()]
    return ages, problems
