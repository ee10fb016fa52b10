"""The services pre-check vouches only for what cerberus accepts, and for the usual services."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from mantis_render.catalogue.builtin import services_rules
from mantis_render.catalogue.precheck import compile_rules, vouches
from mantis_render.catalogue.rules import CHECKS, TYPES
from mantis_render.profiles import ProfileSet
from mantis_render.profiles.problems import _ProfileValidator

from .conftest import REPO

PROFILE_SCHEMA = ProfileSet(REPO / "profiles").catalogue.schema  # the shipped catalogue's
# The services of a catalogue that declares none (any name, each with its own variables): the
# shipped catalogue declares each one, a fixed set of names.
SERVICES_RULES = services_rules("The project's services", True)
PREDICATE = compile_rules(SERVICES_RULES, TYPES, CHECKS)
CERBERUS = _ProfileValidator({"services": SERVICES_RULES})

# Values near every boundary of the rules, and of every type a YAML file can give.
scalars = st.one_of(
    st.sampled_from([0, 1, 4, 3, 65535, 65536, -1, 0.01, 0.005, 1.0, math.nan, math.inf]),
    st.sampled_from([True, False, None, "", "text", "8001"]),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=2), st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)


valid_services = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_]{0,40}", fullmatch=True),
    st.fixed_dictionaries(
        {
            "port": st.integers(1, 65535),
            "limits": st.fixed_dictionaries(
                {
                    "cpus": st.floats(0.01, 64) | st.integers(1, 64),
                    "memory_mb": st.integers(4, 1 << 20),
                }
            ),
        },
        optional={
            "variables": st.dictionaries(
                st.from_regex(r"[A-Z][A-Z0-9_]{0,60}", fullmatch=True),
                st.text()
                | st.integers()
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.booleans(),
                max_size=5,
            )
        },
    ),
    min_size=1,
    max_size=4,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The key path of every mapping entry below ``node``."""
    if not isinstance(node, dict):
        return []
    return [p for key, item in node.items() for p in [(*path, key), *_paths(item, (*path, key))]]


@st.composite
def one_mistake_away(draw: st.DrawFn) -> Any:
    """Valid services, half of them with one mistake: a value replaced, a key added or removed."""
    data = draw(valid_services)
    if draw(st.booleans()):
        *parent_path, key = draw(st.sampled_from(_paths(data)))
        parent = data
        for part in parent_path:
            parent = parent[part]
        mistake = draw(st.sampled_from(["replace", "add", "remove"]))
        if mistake == "replace":
            parent[key] = draw(values)
        elif mistake == "add":
            parent[draw(st.sampled_from(["image", "gpus", "A\n", "lower", "1X", "x\n"]))] = draw(
                values
            )
        else:
            del parent[key]
    return data


def cerberus_accepts(data: Any) -> bool:
    return bool(CERBERUS.validate({"services": data}, normalize=False))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(one_mistake_away())
@example({"a": {"port": 8001, "limits": {"cpus": math.nan, "memory_mb": 4}}})
@example({"x\n": {"port": 8001, "limits": {"cpus": 1, "memory_mb": 4}}})
@example({"a": {"port": True, "limits": {"cpus": 1, "memory_mb": 4}}})
def test_the_predicate_vouches_only_for_what_cerberus_accepts(data: Any) -> None:
    vouched, accepted = vouches(PREDICATE, data), cerberus_accepts(data)
    event(f"vouched: {vouched}, accepted: {accepted}")
    if vouched:
        assert accepted


@given(valid_services)
def test_the_predicate_vouches_for_services_written_as_documented(data: Any) -> None:
    assert cerberus_accepts(data)
    assert vouches(PREDICATE, data)


def test_a_rule_the_predicate_does_not_know_turns_it_off() -> None:
    assert compile_rules({"type": "string", "nullable": True}, TYPES) is None
    assert compile_rules({"type": "dict", "schema": {"x": {"type": "uuid"}}}, TYPES) is None
    assert compile_rules({"type": "string", "check_with": "other"}, TYPES, CHECKS) is None
    assert not vouches(None, {"anything": {}})


# The whole profile: the shipped ones, each one mistake away from valid, anywhere in it.
ROOT = {"type": "dict", "schema": PROFILE_SCHEMA}
PROFILE_PREDICATE = compile_rules(ROOT, TYPES, CHECKS)
PROFILE_CERBERUS = _ProfileValidator(PROFILE_SCHEMA)
SHIPPED = [
    ProfileSet(REPO / "profiles").load(name).data
    for name in ProfileSet(REPO / "profiles").environments()
]
MISTAKES = st.one_of(
    values,
    st.sampled_from(
        [
            "",
            "VERBOSE",
            "off",
            {"vault": "x"},
            {"vault": "a/b", "key": "k", "env": "X"},
            {"env": "lower"},
            {"file": ""},
            ["slack", "sms"],
            [],
            [1],
            {"rule": "x"},
        ]
    ),
)


def _paths_and_items(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every mapping entry and list item below ``node``."""
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    else:
        return []
    return [p for k, item in children for p in [(*path, k), *_paths_and_items(item, (*path, k))]]


@st.composite
def profile_one_mistake_away(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(draw(st.sampled_from(SHIPPED)))
    *parent_path, key = draw(st.sampled_from(_paths_and_items(data)))
    parent = data
    for part in parent_path:
        parent = parent[part]
    mistake = draw(st.sampled_from(["replace", "add", "remove"]))
    if mistake == "replace":
        parent[key] = draw(MISTAKES)
    elif mistake == "add" and isinstance(parent, dict):
        parent[draw(st.sampled_from(["image", "hots", "tls_", "x\n"]))] = draw(MISTAKES)
    elif isinstance(parent, dict):
        del parent[key]
    else:
        parent.pop(key)
    return data


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(profile_one_mistake_away())
def test_the_profile_predicate_vouches_only_for_what_cerberus_accepts(data: Any) -> None:
    vouched = vouches(PROFILE_PREDICATE, data)
    accepted = bool(PROFILE_CERBERUS.validate(data, normalize=False))
    event(f"vouched: {vouched}, accepted: {accepted}")
    if vouched:
        assert accepted


def test_the_profile_predicate_vouches_for_every_shipped_profile() -> None:
    assert PROFILE_PREDICATE is not None
    assert all(vouches(PROFILE_PREDICATE, data) for data in SHIPPED)


def test_a_valid_profile_is_checked_without_importing_cerberus() -> None:
    script = (
        "import sys; from pathlib import Path\n"
        "from mantis_render.profiles import ProfileSet\n"
        "from mantis_render.profiles.validation import validate_profile\n"
        f"profiles = ProfileSet(Path({str(REPO / 'profiles')!r}))\n"
        "assert validate_profile(profiles.load('staging')) == []\n"
        "print('cerberus' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout == "False\n", result.stderr


def _service(**changes: Any) -> dict[str, Any]:
    service: dict[str, Any] = {
        "port": 8001,
        "limits": {"cpus": 0.5, "memory_mb": 512},
        "variables": {"QUEUE": "alarms"},
    }
    for key, value in changes.items():
        if value is _REMOVED:
            del service[key]
        else:
            service[key] = value
    return service


_REMOVED = object()


@pytest.mark.parametrize(
    "data",
    [
        {"ingestion": _service(port=0)},  # min
        {"ingestion": _service(port=65536)},  # max
        {"ingestion": _service(port=True)},  # type: a bool is no integer
        {"ingestion": _service(port=80.0)},  # type
        {"ingestion": _service(port=_REMOVED)},  # required
        {"ingestion": _service(image="mantis")},  # unknown key
        {"ingestion": _service(limits={"cpus": 0.005, "memory_mb": 512})},  # nested min
        {"ingestion": _service(limits={"cpus": 0.5})},  # nested required
        {"ingestion": _service(variables=None)},  # nullable
        {"ingestion": _service(variables={"lower": "x"})},  # keys regex
        {"ingestion": _service(variables={"QUEUE": ["a"]})},  # values type
        {"Ingestion": _service()},  # service name regex
        {"ingestion": "not a mapping"},  # values type
        {},  # minlength
    ],
)
def test_each_rule_stops_the_predicate_where_cerberus_refuses(data: dict[str, Any]) -> None:
    assert not cerberus_accepts(data)
    assert not vouches(PREDICATE, data)


def test_without_a_type_rule_none_is_still_refused_as_by_cerberus() -> None:
    rules = {"regex": "[a-z]+"}
    assert not _ProfileValidator({"x": rules}).validate({"x": None}, normalize=False)
    assert not vouches(compile_rules(rules, TYPES), None)
    assert vouches(compile_rules(rules, TYPES), "abc")
