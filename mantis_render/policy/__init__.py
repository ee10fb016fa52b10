"""Environment policy: the guide's checklists as rules, each with an id, a severity and its tiers.

A rule is a function that yields findings for one environment; adding a rule is adding a function
with the @rule decorator to a module of this package (one module per family) and a test beside
the others. A profile may waive a rule for its own environment with a written reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..catalogue import Catalogue
from ..errors import Problem, closest, quoted
from ..profiles import Profile
from ..yaml_source import KeyPath, format_key_path
from .rule import RULES, Context, Environment, Finding, Rule, Severity, rule


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
