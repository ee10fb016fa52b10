"""The mantis-render command line: parse arguments, call the core, print, choose the exit code.

One module per family of commands; click is used nowhere else in the package. The core is
imported only when a command runs, so `mantis-render --help` costs little more than click.
"""

from __future__ import annotations

from pathlib import Path

import click

from . import render, review, secrets


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Project folder holding profiles/ and templates/.",
)
@click.pass_context
def main(context: click.Context, root: Path) -> None:
    """Render MANTIS configuration (.env, compose override, Kubernetes manifests) from profiles.

    \b
    Exit status: 0 success, 1 invalid input, 2 usage error.
    """
    context.obj = root


for command in (
    render.render,
    render.validate,
    render.list_environments,
    render.env_template,
    review.check,
    review.diff,
    review.explain,
    review.verify,
    secrets.secrets,
):
    main.add_command(command)
