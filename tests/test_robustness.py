"""No application, however wrong, makes the validator raise: every field of every sample is replaced by
values of the wrong kind and the result must be findings, never an exception."""

from __future__ import annotations

import copy
import math
from decimal import Decimal
from typing import Any

import pytest
from conftest import sample

import toolkit
from toolkit.reading import read_filled, settled
from toolkit.schema_check import fast_check

HOSTILE: list[Any] = [None, "", "   ", "abc", -1, 0, Decimal("1e30"), Decimal("-0.0001"), True, [], {}, [None],
                      "2024-02-30", "0000-00-00", "<w:p>&amp;</w:p>", "{{ x }}", "\x00\x1f", "９９",
                      float("nan"), Decimal("NaN"), float("-inf"), Decimal("Infinity")]


def _leaves(data: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(data, dict):
        return [path] + [p for k, v in data.items() for p in _leaves(v, path + (k,))]
    if isinstance(data, list):
        return [path] + [p for i, v in enumerate(data) for p in _leaves(v, path + (i,))]
    return [path]


def _replaced(data: Any, path: tuple, value: Any) -> Any:
    result = copy.deepcopy(data)
    if not path:
        return result
    target = result
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return result


def test_hostile_values_in_every_field_give_findings_not_exceptions(form_id: str) -> None:
    base = sample(form_id)
    form = toolkit.form(form_id)
    checked = 0
    fastjsonschema = fast_check(form.schema)  # what a form's check falls back on, held to the same verdicts
    assert fastjsonschema is not None
    as_read = settled(form)
    assert as_read is not None
    for path in _leaves(base)[1:]:
        for value in HOSTILE:
            data = _replaced(base, path, value)
            if not (isinstance(value, (float, Decimal)) and not math.isfinite(value)):  # NaN: read as a text first
                assert form.is_valid(data) == form.validator.is_valid(data) == fastjsonschema(data), (path, value)
            if as_read(data):  # taken as it is by check: reading it would change nothing and note nothing
                assert form.is_valid(data) and read_filled(form, data) == (data, []), (path, value)
            report = toolkit.validate(form_id, data)
            assert isinstance(report.ok, bool)
            for finding in report.findings:
                assert finding.message and finding.title and finding.clause, finding
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("data", [{}, {"unknown": 1}, {"application_date": None}])
def test_nearly_empty_applications_are_reported(form_id: str, data: dict) -> None:
    report = toolkit.validate(form_id, data)
    assert not report.ok
    assert any(f.rule == "schema.required" for f in report.findings)


@pytest.mark.parametrize("data", [[], "text", 3, None])
def test_a_non_object_is_unusable(data: Any) -> None:
    with pytest.raises(toolkit.UnusableInput):
        toolkit.validate("tj-productivity-center-application", data)


@pytest.mark.parametrize("value", [float("nan"), Decimal("NaN"), float("inf"), Decimal("-Infinity")])
def test_a_number_that_is_no_number_is_a_finding(value: Any) -> None:
    """NaN and the infinities (a library caller's floats or decimals; JSON has none) are read as texts, which a
    number field refuses by name — never a comparison that raises."""
    data = sample("tj-high-tech-enterprise-application")
    data["finance"]["rd_expense_2y"] = value
    report = toolkit.check("tj-high-tech-enterprise-application", data)
    (finding,) = [f for f in report.findings if f.path == "/finance/rd_expense_2y"]
    assert finding.rule == "schema.type" and finding.message == f"应为数值，现为「{value}」"
