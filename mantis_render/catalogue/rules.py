"""The types and custom checks the compiled cerberus rules name, for the predicate
(mantis_render.catalogue.precheck) and cerberus's validator alike."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..secrets.references import reference_problem
from .precheck import TypeDefinition


class _FiniteNumberType(type):
    def __instancecheck__(cls, value: Any) -> bool:
        return isinstance(value, int | float) and math.isfinite(value)


class FiniteNumber(metaclass=_FiniteNumberType):
    """isinstance() is true for an int or a float that is neither NaN nor infinite: YAML's
    `.nan` and `.inf` are floats, and no reader of the output (docker compose, kubectl) takes
    them where a number is expected."""


# The types the schema names, as cerberus's TypeDefinition spells them (included, excluded):
# cerberus counts True as an integer (bool subclasses int); a port of `true` is a mistake.
TYPES = {
    "string": TypeDefinition("string", (str,), ()),
    "integer": TypeDefinition("integer", (int,), (bool,)),
    "number": TypeDefinition("number", (FiniteNumber,), (bool,)),
    "boolean": TypeDefinition("boolean", (bool,), ()),
    "dict": TypeDefinition("dict", (Mapping,), ()),
    "list": TypeDefinition("list", (Sequence,), (str,)),
}


def _is_reference_or_text(value: Any) -> bool:
    return not isinstance(value, dict) or reference_problem(value) is None


# The schema's own checks (cerberus's check_with), for the predicate and the validator alike.
CHECKS: dict[str, Callable[[Any], bool]] = {"secret": _is_reference_or_text}
