"""The guide's production checklist."""

from __future__ import annotations

from collections.abc import Iterator

from ..secrets.references import StoreReference
from .rule import Context, Finding, rule

PRODUCTION = ["production"]


@rule("production-debug-off", "Debug mode is off in production", PRODUCTION, reads=[("debug",)])
def debug_off(context: Context) -> Iterator[Finding]:
    if context.environment.value(("debug",)) is not False:
        yield Finding(("debug",), "must be false in production")


@rule(
    "production-log-level",
    "Production logs at WARNING or above",
    PRODUCTION,
    reads=[("log_level",)],
)
def log_level(context: Context) -> Iterator[Finding]:
    level = context.environment.value(("log_level",))
    if level not in ("WARNING", "ERROR", "CRITICAL"):
        yield Finding(("log_level",), f"must be WARNING or ERROR in production, not {level}")


@rule(
    "production-no-mock-data",
    "Production generates no mock data",
    PRODUCTION,
    reads=[("enable_mock_data",)],
)
def no_mock_data(context: Context) -> Iterator[Finding]:
    if context.environment.value(("enable_mock_data",)) is not False:
        yield Finding(("enable_mock_data",), "must be false in production")


@rule("production-tls", "TLS everywhere in production", PRODUCTION, reads=[("security", "tls")])
def tls(context: Context) -> Iterator[Finding]:
    if context.environment.value(("security", "tls")) is not True:
        yield Finding(("security", "tls"), "must be true in production")


@rule(
    "production-audit-logging",
    "Audit logging on in production",
    PRODUCTION,
    reads=[("security", "audit_logging")],
)
def audit_logging(context: Context) -> Iterator[Finding]:
    if context.environment.value(("security", "audit_logging")) is not True:
        yield Finding(("security", "audit_logging"), "must be true in production")


@rule(
    "production-secrets-from-store",
    "Every production secret comes from a secrets manager (Vault, AWS, Azure, Kubernetes)",
    PRODUCTION,
)
def secrets_from_store(context: Context) -> Iterator[Finding]:
    environment = context.environment
    for variable in [*environment.variables, *environment.tls]:
        if variable.source == "composed":
            continue  # made from other secrets, each judged itself
        if variable.secret and variable.path and not isinstance(variable.reference, StoreReference):
            yield Finding(
                variable.path,
                "must be a secret store reference in production, "
                "like {vault: mantis/production/<service>, key: ...}",
            )


@rule(
    "production-replicas",
    "Production runs at least 3 replicas (high availability)",
    PRODUCTION,
    reads=[("resources", "replicas")],
)
def replicas(context: Context) -> Iterator[Finding]:
    count = context.environment.value(("resources", "replicas"))
    if count < 3:
        yield Finding(("resources", "replicas"), f"must be at least 3 in production, not {count}")


@rule(
    "production-monitoring",
    "Prometheus, Grafana, Jaeger and ELK are required in production",
    PRODUCTION,
    reads=[("monitoring", tool) for tool in ("prometheus", "grafana", "jaeger", "elk")],
)
def monitoring(context: Context) -> Iterator[Finding]:
    for tool in ("prometheus", "grafana", "jaeger", "elk"):
        level = context.environment.value(("monitoring", tool))
        if level != "required":
            yield Finding(("monitoring", tool), f"must be required in production, not {level}")


@rule(
    "production-alerting",
    "Production alerts go to PagerDuty or Slack",
    PRODUCTION,
    reads=[("monitoring", "alerting")],
)
def alerting(context: Context) -> Iterator[Finding]:
    channels = context.environment.value(("monitoring", "alerting"))
    if not {"pagerduty", "slack"} & set(channels):
        yield Finding(("monitoring", "alerting"), "must include pagerduty or slack in production")
