"""Environment policy: the guide's checklists as rules, each with an id, a severity and its tiers.

A rule is a function that yields findings for one environment; adding a rule is adding a function
with the @rule decorator to a module of this package (one module per family) and a test beside
the others. A profile may waive a rule for its own environment with a written reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from ..catalogue import Catalogue
from ..catalogue.builtin import TIERS
from ..certificates import Certificate
from ..errors import Problem, closest, quoted
from ..profiles import Location, Profile
from ..variables import Variable, value_at
from ..yaml_source import KeyPath, format_key_path

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


class PolicyResult(NamedTuple):
    """Problems that count, and the ones a waiver turned off (shown, never failing)."""

    problems: list[Problem]
    waived: list[Problem]


WAIVER_RULE = "waivers"


def check_policy(context: Context) -> PolicyResult:
    """Run every rule of the environment's tier; apply its waivers."""
    environment = context.environment
    waivers = _waivers(environment.profile)
    problems, waived, fired = [], [], set()
    applied = environment.profile.catalogue.policy
    for registered in RULES.values():
        if environment.tier not in registered.tiers:
            continue
        if registered.reads and registered.id not in applied:
            continue
        for finding in registered.check(context):
            fired.add(registered.id)
            location = environment.location(finding.path)
            key = format_key_path(finding.path)
            problem = Problem(
                location.file,
                location.line,
                key,
                finding.message,
                registered.id,
                registered.severity_in(environment.tier),
            )
            if registered.id in waivers:
                reason = waivers[registered.id][0]
                waived.append(
                    problem._replace(
                        message=f"{finding.message}; waived: {reason}", severity="waived"
                    )
                )
            else:
                problems.append(problem)
    problems += _waiver_problems(environment, waivers, fired)
    return PolicyResult(sorted(problems), sorted(waived))


def _waivers(profile: Profile) -> dict[str, tuple[str, int]]:
    """rule id -> (reason, index in the list), from the profile's waivers."""
    return {
        waiver["rule"]: (waiver["reason"], index)
        for index, waiver in enumerate(profile.data.get("waivers", []))
    }


def _waiver_problems(
    environment: Environment, waivers: dict[str, tuple[str, int]], fired: set[str]
) -> list[Problem]:
    problems = []
    for rule_id, (_, index) in waivers.items():
        path: KeyPath = ("waivers", index, "rule")
        location = environment.location(path)
        key = format_key_path(path)

        def problem(message: str, severity: Severity = "error") -> Problem:
            return Problem(location.file, location.line, key, message, WAIVER_RULE, severity)  # noqa: B023

        if location.file != environment.profile.file:
            problems.append(
                problem(f"waivers belong in the environment's own profile, not in {location.file}")
            )
        elif rule_id not in RULES:
            close = closest(rule_id, RULES)
            problems.append(
                problem(
                    f"no rule named {quoted(rule_id)}"
                    + (f"; did you mean {close!r}?" if close else "")
                )
            )
        elif rule_id not in fired:
            problems.append(
                problem(f"waives {rule_id}, which finds nothing in {environment.name}", "warning")
            )
    return problems


def catalogue_problems(catalogue: Catalogue) -> list[tuple[int, str]]:
    """The mistakes of the catalogue's policy: list, as (index in it, message): a rule that does
    not exist, one that applies to every project anyway, one that reads a setting the catalogue
    does not declare."""
    declared = set(catalogue.types)
    found = []
    for index, rule_id in enumerate(catalogue.policy):
        registered = RULES.get(rule_id)
        if registered is None:
            close = closest(rule_id, [r.id for r in RULES.values() if r.reads])
            hint = f"; did you mean {close!r}?" if close else ""
            found.append((index, f"no rule named {quoted(rule_id)}{hint}"))
        elif not registered.reads:
            found.append((index, f"{rule_id} applies to every project; remove it from policy:"))
        else:
            missing = [format_key_path(path) for path in registered.reads if path not in declared]
            if missing:
                found.append(
                    (
                        index,
                        f"{rule_id} reads {', '.join(missing)}, which the catalogue does not "
                        "declare",
                    )
                )
    return found


def failing(problems: Iterable[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity == "error"]


def _load_rule_modules() -> None:
    from . import network, production, secrets, staging, tls  # noqa: F401 - they register rules


_load_rule_modules()


__all__ = [
    "RULES",
    "Context",
    "Environment",
    "Finding",
    "PolicyResult",
    "Rule",
    "catalogue_problems",
    "check_policy",
    "failing",
    "rule",
]
