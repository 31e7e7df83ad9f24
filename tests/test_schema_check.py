"""The generated schema check (``toolkit.schema_check``) answers as jsonschema's validator does: on edge values of
every JSON type against every keyword it compiles, and it declines a schema with a keyword it does not know."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from conftest import ROOT, sample
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from test_robustness import _leaves, _replaced

import toolkit
from toolkit.formats import FORMAT_CHECKER
from toolkit.schema_check import compile_schema, fast_check


class Text(str):
    pass


VALUES: list[Any] = [None, True, False, 0, 1, -1, 5, 2.0, 2.5, float("nan"), float("inf"), Decimal("5"),
                     Decimal("2.50"), Fraction(1, 3), 10**40, "", " ", "a", "2024-02-30", "2024-02-29", Text("x"),
                     "91120116MA05K3XJ0D", "abc@x.cn", "a" * 600, [], [1, 1], [1, True], [{"a": 1}, {"a": 1}],
                     {}, {"a": 1}, {"provided": True}, {"provided": 1}, {"provided": True, "file": ""},
                     {"provided": True, "file": "x"}, {"x": None}]

SCHEMAS: list[dict[str, Any]] = [
    {"type": "string", "minLength": 1, "maxLength": 500},
    {"type": "integer", "minimum": 0, "maximum": 100},
    {"type": "number", "exclusiveMinimum": 0, "maximum": 10**12},
    {"type": "boolean"},
    {"type": ["string", "null"]},
    {"type": "string", "format": "date"},
    {"type": "string", "format": "uscc"},
    {"format": "date"},
    {"minimum": 1},
    {"maxLength": 2},
    {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
    {"enum": ["a", "b"]},
    {"const": True},
    {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
    {"type": "array", "uniqueItems": True},
    {"uniqueItems": True},
    {"type": "object", "additionalProperties": False, "required": ["provided"],
     "properties": {"provided": {"type": "boolean"}, "file": {"type": "string"}},
     "if": {"properties": {"provided": {"const": True}}, "required": ["provided"]},
     "then": {"required": ["file"], "properties": {"file": {"minLength": 1}}}},
    {"$defs": {"n": {"type": "integer"}}, "type": "object", "properties": {"a": {"$ref": "#/$defs/n"}}},
    {"required": ["a"]},
    {"properties": {"a": {"type": "string"}}},
]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: "-".join(sorted(k for k in s if k != "$defs")))
def test_every_keyword_answers_as_jsonschema_does(schema: dict[str, Any]) -> None:
    check = compile_schema(schema)
    assert check is not None
    validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
    for value in VALUES:
        assert check(value) == validator.is_valid(value), value


@pytest.mark.parametrize("schema", [{"oneOf": [{"type": "string"}]}, {"type": "string", "multipleOf": 2},
                                    {"definitions": {"x": {"type": "string"}}, "$ref": "#/definitions/x"},
                                    {"enum": [1, "a"]},
                                    {"additionalProperties": {"type": "string"}}])
def test_a_keyword_it_does_not_know_leaves_the_schema_to_fastjsonschema(schema: dict[str, Any]) -> None:
    assert compile_schema(schema) is None
    check = fast_check(schema)
    assert check is not None and check("a") == Draft202012Validator(schema).is_valid("a")


def test_every_form_is_compiled_here_and_its_sample_passes() -> None:
    for form in toolkit.forms():
        check = compile_schema(form.schema)
        assert check is not None, form.id
        assert check(sample(form.id)), form.id
        skeleton = toolkit.skeleton(form.id)
        assert check(skeleton) == form.validator.is_valid(skeleton)


TYPED: list[Any] = ["  x", "x\u3000", "x\u200b", "", " ", "\t", "2016年3月1日", "2016-3-1", "91120116ma05k3xj0d",
                    " 022-23456789", "是", 1.5, 2.0, Decimal("1e3"), None, [], {}, [""], [{}], Text("x")]


def test_a_record_as_read_is_taken_as_it_is_and_any_other_is_read(form_id: str) -> None:
    """Every leaf of the sample replaced by values typed as people type them (or left blank): the check that
    lets a record skip reading says yes only when reading would give back the same record and note nothing."""
    from toolkit.reading import read_filled, settled

    form = toolkit.form(form_id)
    as_read = settled(form)
    assert as_read is not None
    base = sample(form_id)
    taken = 0
    if as_read(base):  # the sample itself, as it is
        assert read_filled(form, base) == (base, []) and form.is_valid(base)
        taken += 1
    for path in _leaves(base)[1:]:
        for value in TYPED:
            data = _replaced(base, path, value)
            if as_read(data):
                taken += 1
                assert read_filled(form, data) == (data, []) and form.is_valid(data), (path, value)
    assert taken > 0 or not as_read(base)


_ANY_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**13) | st.decimals(allow_nan=True, places=3)
    | st.floats() | st.text(max_size=12) | st.dates() | st.fractions(max_denominator=1000)
    | st.sampled_from(["2024-02-29", "2024-13-01", " 是", "1,008.2万元", "91120116786375429R", "  ", "\u200b",
                       Decimal("sNaN"), Decimal("-0")]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(p.name.removesuffix(".json") for p in (ROOT / "samples").glob("*.json"))),
       st.lists(st.tuples(st.integers(0, 10**6), _ANY_VALUE), min_size=1, max_size=4))
def test_any_record_is_checked_without_an_exception_and_taken_as_is_only_when_reading_changes_nothing(
        form_id: str, changes: list[tuple[int, Any]]) -> None:
    """Several values of any kind put anywhere in a sample: ``check`` answers with findings, never an exception,
    and the check that lets a record skip reading says yes only when reading would give it back unchanged."""
    from toolkit.reading import read_filled, settled

    data = sample(form_id)
    for where, value in changes:
        containers = _containers(data)
        parent, key = containers[where % len(containers)]
        parent[key] = value
    form = toolkit.form(form_id)
    as_read = settled(form)
    assert as_read is not None
    if as_read(data):
        assert read_filled(form, data) == (data, []) and form.is_valid(data)
    assert isinstance(toolkit.check(form_id, data).ok, bool)


def _containers(data: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of ``data``'s values, depth first."""
    found: list[tuple[Any, Any]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in items:
        found.append((data, key))
        found += _containers(value)
    return found
