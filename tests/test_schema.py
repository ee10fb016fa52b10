"""The profile schema itself: valid for cerberus, which the command line does not check again."""

from __future__ import annotations

import cerberus
import pytest

from mantis_render.catalogue.builtin import TIERS
from mantis_render.profiles import ProfileSet
from mantis_render.profiles.problems import _ProfileValidator, validated_schemas

from .conftest import REPO


@pytest.mark.parametrize("tier", [*TIERS, None])
@pytest.mark.parametrize("name", ["profile", "services"])
def test_our_schemas_are_valid_cerberus_schemas(name: str, tier: str | None) -> None:
    """The shipped catalogue compiled, for each tier (and for a profile with no valid tier)."""
    schemas = validated_schemas(ProfileSet(REPO / "profiles").catalogue, tier)
    _ProfileValidator(schemas[name])  # raises SchemaError on any rule cerberus refuses


def test_cerberus_refuses_a_schema_with_a_mistake() -> None:
    _ProfileValidator._valid_schemas.clear()
    with pytest.raises(cerberus.SchemaError, match="unknown rule"):
        _ProfileValidator({"port": {"typ": "integer"}})
