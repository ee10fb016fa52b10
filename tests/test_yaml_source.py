"""Profiles are read as YAML 1.2 core, with the line of every key and no duplicate keys."""

from __future__ import annotations

import math

import pytest

from mantis_render.errors import Problem
from mantis_render.yaml_source import YamlProblems, parse_yaml


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("off", "off"),
        ("on", "on"),
        ("yes", "yes"),
        ("no", "no"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("0123", 123),
        ("0o17", 15),
        ("0x1F", 31),
        ("-5", -5),
        ("1_000", "1_000"),
        ("22:22", "22:22"),
        ("1e3", 1000.0),
        ("0.5", 0.5),
        ("2024-01-01", "2024-01-01"),
        ("'0123'", "0123"),
        ('"no"', "no"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, value: object) -> None:
    assert parse_yaml(f"key: {text}\n", "p.yaml").data == {"key": value}


def test_infinity_and_nan() -> None:
    data = parse_yaml("a: .inf\nb: -.Inf\nc: .nan\n", "p.yaml").data
    assert data["a"] == math.inf and data["b"] == -math.inf and math.isnan(data["c"])


def test_keys_are_taken_as_written() -> None:
    assert parse_yaml("on: 1\n1: 2\nnull: 3\n", "p.yaml").data == {"on": 1, "1": 2, "null": 3}


def test_every_key_and_list_item_has_its_line() -> None:
    parsed = parse_yaml("a:\n  b: 1\n  c:\n    - x\n    - y\nd: 2\n", "p.yaml")
    assert parsed.lines == {
        ("a",): 1,
        ("a", "b"): 2,
        ("a", "c"): 3,
        ("a", "c", 0): 4,
        ("a", "c", 1): 5,
        ("d",): 6,
    }


def test_anchors_and_aliases_are_resolved() -> None:
    assert parse_yaml("a: &x {p: 1}\nb: *x\n", "p.yaml").data == {"a": {"p": 1}, "b": {"p": 1}}


def test_every_duplicate_key_is_reported() -> None:
    with pytest.raises(YamlProblems) as raised:
        parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "p.yaml")
    assert raised.value.problems == [
        Problem("p.yaml", 4, "b.c", "duplicate key (first defined on line 3)"),
        Problem("p.yaml", 5, "a", "duplicate key (first defined on line 1)"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "a: !!binary aGk=\n",
            Problem("p.yaml", 1, "a", "unsupported YAML tag tag:yaml.org,2002:binary"),
        ),
        ("a: !custom x\n", Problem("p.yaml", 1, "a", "unsupported YAML tag !custom")),
        ("a: !!int twelve\n", Problem("p.yaml", 1, "a", "'twelve' is not a valid int")),
        (
            "? [a, b]\n: 1\n",
            Problem("p.yaml", 1, "", "a key must be a plain word, not a list or mapping"),
        ),
        (
            "a: b: c\n",
            Problem(
                "p.yaml", 1, "", "invalid YAML: mapping values are not allowed in this context"
            ),
        ),
        (
            "a: 1\n---\nb: 2\n",
            Problem(
                "p.yaml",
                2,
                "",
                "invalid YAML: expected a single document in the stream, but found another document",
            ),
        ),
    ],
)
def test_yaml_that_is_not_plain_data_is_a_located_problem(text: str, problem: Problem) -> None:
    with pytest.raises(YamlProblems) as raised:
        parse_yaml(text, "p.yaml")
    assert raised.value.problems == [problem]


def test_aliases_that_grow_with_the_document_are_expanded() -> None:
    """A large compose override aliases one mapping per service: linear, not a bomb."""
    anchor = "x: &shared {" + ", ".join(f"k{i}: {i}" for i in range(8)) + "}\n"
    text = anchor + "".join(f"s{n}: {{env: *shared, port: {n}}}\n" for n in range(20_000))
    data = parse_yaml(text, "p.yaml", with_lines=False).data
    assert len(data) == 20_001 and data["s19999"] == {"env": data["x"], "port": 19999}
