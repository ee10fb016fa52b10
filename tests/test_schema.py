"""The profile schema itself: valid for cerberus, which the command line does not check again."""

from __future__ import annotations

import cerberus
import pytest

from mantis_render.schema_problems import VALIDATED_SCHEMAS, _ProfileValidator


@pytest.mark.parametrize("name", sorted(VALIDATED_SCHEMAS))
def test_our_schemas_are_valid_cerberus_schemas(name: str) -> None:
    _ProfileValidator(VALIDATED_SCHEMAS[name])  # raises SchemaError on any rule cerberus refuses


def test_cerberus_refuses_a_schema_with_a_mistake() -> None:
    _ProfileValidator._valid_schemas.clear()
    with pytest.raises(cerberus.SchemaError, match="unknown rule"):
        _ProfileValidator({"port": {"typ": "integer"}})
