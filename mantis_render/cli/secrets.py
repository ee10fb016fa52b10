"""secrets audit and secrets init."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from .common import (
    check_environment,
    complete_environment,
    exit_invalid_if,
    format_option,
    open_project,
    report,
)

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path


@click.group()
def secrets() -> None:
    """Commands about the secrets that profiles reference."""


@secrets.command()
@click.argument("environment", metavar="ENV", shell_complete=complete_environment)
@format_option
@click.option(
    "--as-of",
    metavar="DATE",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Audit as of this date (YYYY-MM-DD) instead of today, to plan rotations.",
)
@click.pass_obj
def audit(root: Path, environment: str, output_format: str, as_of: datetime | None) -> None:
    """Report the age of ENV's stored secrets, and its certificate's expiry.

    \b
    Periods, from the environments guide: database passwords, API keys and admin
    passwords 90 days; JWT secrets 180 days. Certificates are renewed before they
    expire: due within tls.renew_before_days (30 by default), overdue once expired.
    Exit status 1 when a secret or the certificate is overdue or due, or when one
    cannot be read.
    """
    from datetime import UTC, datetime

    from ..errors import MantisRenderError
    from ..reporters import JSON_REPORTER, REPORTER_BY_NAME

    project = open_project(root)
    check_environment(project, environment)
    when = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    try:
        ages, certificate, problems = project.audit(environment, os.environ, when)
    except MantisRenderError as error:
        ages, certificate, problems = [], None, error.problems
    if output_format == "json":  # a document even when nothing could be read: its problems say why
        click.echo(JSON_REPORTER.audit(environment, ages, certificate, problems), nl=False)
    elif ages or certificate:
        click.echo(REPORTER_BY_NAME[output_format].audit(environment, ages, certificate), nl=False)
    late = any(age.status == "overdue" for age in ages)
    late |= certificate is not None and certificate.status != "ok"
    exit_invalid_if(report(problems) or late)


@secrets.command()
@click.argument("environment", metavar="ENV", shell_complete=complete_environment)
@click.option(
    "--dry-run", is_flag=True, help="Say what would be created; write nothing to any store."
)
@click.pass_obj
def init(root: Path, environment: str, dry_run: bool) -> None:
    """Create, in its store, each secret ENV references that is missing.

    \b
    Each value is generated (letters and digits; 32 characters, 40 for API keys,
    64 for JWT secrets), written where nothing is and never over a value: Vault
    with check-and-set, AWS Secrets Manager by creating the secret. Nothing secret
    is printed. Certificates are not generated: a missing one is a failure.
    Exit status 1 when any secret could not be checked or created.
    """
    from ..errors import MantisRenderError

    project = open_project(root)
    check_environment(project, environment)
    try:
        provisioning = project.init_secrets(environment, os.environ, dry_run)
    except MantisRenderError as error:
        exit_invalid_if(report(error.problems))
        return
    steps = provisioning.steps
    width = max((len(step.outcome) for step in steps), default=0)
    name_width = max((len(step.variable) for step in steps), default=0)
    for step in steps:
        click.echo(f"{step.outcome:<{width}}  {step.variable:<{name_width}}  {step.reference}")
    exit_invalid_if(report(provisioning.problems))
