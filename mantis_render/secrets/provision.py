"""secrets init: create, in its store, every referenced secret that is not there yet.

A value is generated for each missing one (letters and digits only, so that every output carries
it as it is, and a URL needs no escape for it), written where nothing is and never over a value:
Vault with KV v2 check-and-set, AWS by creating the secret. Certificates come from a certificate
authority, not from here: a missing one is listed as a failure saying so.
"""

from __future__ import annotations

import secrets as random
import string
from dataclasses import dataclass, field
from typing import Literal

from ..errors import Problem
from ..profiles import Profile
from ..profiles.variables import Variable
from .references import SecretUnavailable, StoreNotConfigured, StoreReference, StoreUnusable
from .resolution import reference_problem, store_problem
from .stores import Stores

# Length of a generated value, by secret kind: at least 32 characters, more where the guide's
# longer rotation (JWT) or a key's role asks for it.
GENERATED_LENGTH = {"database-password": 32, "admin-password": 32, "api-key": 40, "jwt-secret": 64}
ALPHABET = string.ascii_letters + string.digits
NOT_GENERATED = {"certificate", "private-key"}

Outcome = Literal["created", "exists", "would create", "created meanwhile"]


def generate_secret(kind: str) -> str:
    """A random value for a secret of ``kind``: letters and digits, with at least one
    lowercase letter, one uppercase letter and one digit (what strong-secrets asks for)."""
    length = GENERATED_LENGTH.get(kind, 32)
    while True:
        value = "".join(random.choice(ALPHABET) for _ in range(length))
        if (
            any(c.islower() for c in value)
            and any(c.isupper() for c in value)
            and any(c.isdigit() for c in value)
        ):
            return value


@dataclass(frozen=True)
class Step:
    variable: str
    reference: str
    outcome: Outcome


@dataclass
class Provisioning:
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def init_secrets(
    profile: Profile, secrets: list[Variable], stores: Stores, dry_run: bool
) -> Provisioning:
    """Create each missing store secret of ``secrets``; report every step and every failure.
    Env, file and literal secrets are not in a store: left to the person who set them."""
    result = Provisioning()
    unreachable: dict[str, str] = {}
    unusable: dict[str, StoreUnusable] = {}
    for variable in secrets:
        reference = variable.reference
        if not isinstance(reference, StoreReference):
            continue
        try:
            store = stores.get(profile, reference.store)
            if store.exists(reference):
                outcome: Outcome = "exists"
            elif variable.secret_kind in NOT_GENERATED:
                raise SecretUnavailable(
                    "missing, and not generated here: a certificate and its key come from "
                    "your certificate authority; store them at this reference"
                )
            elif dry_run:
                outcome = "would create"
            elif store.create(reference, generate_secret(variable.secret_kind or "")):
                outcome = "created"
            else:
                outcome = "created meanwhile"  # by someone else: theirs is kept
        except StoreNotConfigured as error:
            unreachable[reference.store] = str(error)
            continue
        except StoreUnusable as error:
            unusable[reference.store] = error
            continue
        except SecretUnavailable as error:
            result.problems.append(reference_problem(profile, variable, str(error)))
            continue
        result.steps.append(Step(variable.name, str(reference), outcome))
    # Said once for each store, at the environment's file: not once for each of its secrets.
    result.problems[:0] = [
        Problem(profile.file, 0, "", f"secrets init: {why}") for why in unreachable.values()
    ] + [store_problem(profile, kind, error) for kind, error in unusable.items()]
    return result
