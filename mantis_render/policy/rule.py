"""A rule: its id, severity, tiers, description and check, registered in RULES by @rule; and
what a check is given (the environment and the others) and yields (findings)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from ..catalogue.builtin import TIERS
from ..profiles import Location, Profile
from ..profiles.variables import Variable, value_at
from ..secrets.certificates import Certificate
from ..yaml_source import KeyPath

Severity = Literal["error", "warning"]
ALL_TIERS = frozenset(TIERS)


class Finding(NamedTuple):
    """What a rule found: the key path at fault and a one-line message (no secret value)."""

    path: KeyPath
    message: str


class Environment(NamedTuple):
    """One environment as the rules see it; ``variables`` hold resolved secrets when resolved."""

    profile: Profile
    variables: list[Variable]
    # The certificate and key files (tls.crt, tls.key), and the certificate once resolved.
    tls: Sequence[Variable] = ()
    certificate: Certificate | None = None

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def tier(self) -> str:
        return str(self.profile.data["tier"])

    def value(self, path: KeyPath) -> Any:
        return value_at(self.profile.data, path)

    def location(self, path: KeyPath) -> Location:
        return self.profile.locations.get(path) or Location(self.profile.file, 1)


class Context(NamedTuple):
    """The environment being checked, and every other environment that loaded cleanly."""

    environment: Environment
    others: Sequence[Environment] = ()


Check = Callable[[Context], Iterable[Finding]]


class Rule(NamedTuple):
    id: str
    severity: Severity | Mapping[str, Severity]  # one, or one for each tier
    tiers: frozenset[str]
    description: str
    check: Check
    # The settings it reads by name: it applies where the catalogue lists it under policy:
    # (and declares them); a rule without applies to every project.
    reads: tuple[KeyPath, ...] = ()

    def severity_in(self, tier: str) -> Severity:
        return self.severity if isinstance(self.severity, str) else self.severity[tier]


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str,
    description: str,
    tiers: Iterable[str] = ALL_TIERS,
    severity: Severity | Mapping[str, Severity] = "error",
    reads: Iterable[KeyPath] = (),
) -> Callable[[Check], Check]:
    """Register a check as a rule; ``reads``: the settings it names (see Rule.reads)."""

    def register(check: Check) -> Check:
        assert rule_id not in RULES, rule_id
        RULES[rule_id] = Rule(rule_id, severity, frozenset(tiers), description, check, tuple(reads))
        return check

    return register
