"""The wheel carries the MANTIS example project (``mantis-render init --example mantis``): this
repository's own profiles/, templates/ and compose/, copied into the package when it is built, so
that the example is never a second copy kept by hand."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

EXAMPLE_FOLDERS = ("profiles", "templates", "compose")


class BuildWithExample(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "mantis_render" / "examples" / "mantis"
        for folder in EXAMPLE_FOLDERS:
            destination = target / folder
            if destination.exists():
                shutil.rmtree(destination)
            shutil.copytree(
                here / folder, destination, ignore=shutil.ignore_patterns("*.local.yaml")
            )


setup(cmdclass={"build_py": BuildWithExample})
