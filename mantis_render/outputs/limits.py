"""What the consumers of the output accept, beyond reading a value back exactly (the filters'
job): the bounds the stack's servers put on the credentials they are started with (each
secret's ``meta.accepts`` in the schema), a secret that resolved to nothing, and the size of
data Kubernetes allows an object. Checked once secrets are resolved; no message holds a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import Problem
from ..profiles import Location, Profile
from ..profiles.services import service_environments
from ..profiles.variables import Variable
from ..yaml_source import format_key_path

# The API server refuses a ConfigMap or Secret whose keys and values add up to more (bytes).
KUBERNETES_DATA_LIMIT = 1 << 20
_LARGEST_NAMED = 3


def consumer_problems(
    profile: Profile,
    variables: Sequence[Variable],
    tls: Sequence[Variable] = (),
    kubernetes: bool = True,
) -> list[Problem]:
    """Every value a consumer would refuse; ``kubernetes``: the objects' sizes too."""
    problems = [
        problem for variable in [*variables, *tls] for problem in _refused(profile, variable)
    ]
    if kubernetes:
        plain = [v for v in variables if v.source == "setting"]
        project = profile.catalogue.project
        problems += _too_large(profile, f"the ConfigMap {project}-config", plain)
        environments = service_environments(profile, variables)
        if not environments:  # else each service has its own Secret, below
            in_cluster = [v for v in variables if v.secret and v.source not in ("env", "file")]
            problems += _too_large(profile, f"the Secret {project}-secrets", in_cluster)
        problems += _too_large(profile, f"the Secret {project}-tls", list(tls))
        for service, given in environments.items():
            named = [g.variable._replace(name=g.name) for g in given]
            dashed = service.replace("_", "-")
            plain = [v for v in named if not v.secret]
            problems += _too_large(profile, f"the ConfigMap {project}-{dashed}-config", plain)
            in_cluster = [v for v in named if v.secret and v.source not in ("env", "file")]
            problems += _too_large(profile, f"the Secret {project}-{dashed}-secrets", in_cluster)
    return problems


def _refused(profile: Profile, variable: Variable) -> Iterable[Problem]:
    if variable.value is None or variable.path is None:
        return
    value = variable.value
    if variable.secret and variable.reference is not None and value == "":
        yield _problem(profile, variable, "its stored value is empty; a secret needs one")
        return
    accepts: dict[str, Any] | None = (
        profile.catalogue.rules_at(variable.path).get("meta", {}).get("accepts")
    )
    if not accepts:
        return
    consumer, why = accepts["consumer"], accepts["why"]
    if accepts.get("single_line") and ("\n" in value or "\r" in value):
        what = "a line feed" if "\n" in value else "a carriage return"
        yield _problem(profile, variable, f"cannot be given to {consumer}: it holds {what}; {why}")
    minimum = accepts.get("min_length")
    if minimum is not None and len(value) < minimum:
        yield _problem(
            profile,
            variable,
            f"cannot be given to {consumer}: {len(value)} characters; {why}",
        )


def _too_large(profile: Profile, what: str, variables: list[Variable]) -> list[Problem]:
    sizes = [
        (len(v.name.encode("utf-8")) + len(v.value.encode("utf-8", "surrogatepass")), v)
        for v in variables
        if v.value is not None
    ]
    total = sum(size for size, _ in sizes)
    if total <= KUBERNETES_DATA_LIMIT:
        return []
    largest = sorted(sizes, key=lambda pair: (-pair[0], pair[1].name))[:_LARGEST_NAMED]
    named = ", ".join(f"{v.name} ({size:,} bytes)" for size, v in largest)
    where = _location(profile, largest[0][1])
    message = (
        f"{what} would hold {total:,} bytes of data; Kubernetes takes at most "
        f"{KUBERNETES_DATA_LIMIT:,} (1 MiB): the largest are {named}"
    )
    key = format_key_path(largest[0][1].path) if largest[0][1].path else ""
    return [Problem(where.file, where.line, key, message)]


def _problem(profile: Profile, variable: Variable, message: str) -> Problem:
    where = _location(profile, variable)
    named = f"{variable.name} ({variable.reference})" if variable.reference else variable.name
    assert variable.path is not None
    return Problem(where.file, where.line, format_key_path(variable.path), f"{named}: {message}")


def _location(profile: Profile, variable: Variable) -> Location:
    if variable.path is None:
        return Location(profile.file, 0)
    return profile.locations.get(variable.path) or Location(profile.file, 0)
