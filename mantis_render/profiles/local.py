"""mantis-render local ENV: a developer's personal overrides file, with a commented example."""

from __future__ import annotations

from ..errors import MantisRenderError, Problem
from . import LOCAL_TIER, ProfileSet

TEMPLATE = """\
# Personal overrides of {shared}, for this machine only. Git-ignored, merged last, and
# never part of what is committed or checked (rendered/ and its checks ignore this file): it
# changes your .env, `mantis-render exec {name}` and rendered/{name}/docker-compose.local.yml
# (the compose override to start instead of the committed one). Uncomment what differs here:
#
# log_level: INFO
# postgres:
#   port: 5434            # a PostgreSQL of your own already listens on 5432
#   password: {{file: ~/.config/mantis/postgres-password}}
# services:
#   dashboard: {{port: 3001, limits: {{cpus: 0.5, memory_mb: 256}}}}
"""


def create_local(profiles: ProfileSet, name: str) -> str:
    """Write profiles/<name>.local.yaml; return its path as shown. MantisRenderError when the
    environment is not of the development tier or the file exists (nothing is overwritten)."""
    profile = profiles.load(name)
    local = profiles.local_name(name)
    shown = profiles.display(local)
    tier = profile.data.get("tier")
    if tier != LOCAL_TIER:
        message = (
            f"personal overrides are for development-tier environments only; {name} is tier {tier}"
        )
        raise MantisRenderError([Problem(shown, 0, "", message)])
    path = profiles.path_of(local)
    text = TEMPLATE.format(shared=profiles.display(name), name=name)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise MantisRenderError([Problem(shown, 0, "", "exists already; edit it")]) from None
    return shown
