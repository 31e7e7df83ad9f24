"""Data-driven rule cases: ``tests/cases/<form>.toml`` states, for each rule, both sides of its bound.

A case starts from the form's sample, sets or deletes fields, validates, and names the rules that must
fire (``fail``), must stay silent (``pass``) and, optionally, the exact message of the first failing rule;
``stage = "office"`` checks it as the office does before deciding (pending rules asked, office sections required).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

import pytest
from conftest import CASES, changed, form_ids, sample

import toolkit


def _load(form_id: str) -> list[dict[str, Any]]:
    path = CASES / f"{form_id}.toml"
    if not path.exists():
        return []
    return tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal).get("case", [])


CASES_BY_FORM = {f: _load(f) for f in form_ids()}
ALL_CASES = [pytest.param(f, c, id=f"{f}: {c['name']}") for f, cases in CASES_BY_FORM.items() for c in cases]


@pytest.mark.parametrize(("form_id", "case"), ALL_CASES)
def test_rule_case(form_id: str, case: dict[str, Any]) -> None:
    data = changed(sample(form_id), case.get("set"), case.get("delete"))
    report = toolkit.check(form_id, data, stage=case.get("stage", "application"))
    fired = {f.rule: f for f in report.findings}
    for rule in case.get("fail", []):
        assert rule in fired, f"{rule} should fire; findings: {[f.message for f in report.findings]}"
    for rule in case.get("pass", []):
        assert rule not in fired, f"{rule} should not fire: {fired[rule].message if rule in fired else ''}"
    if "message" in case:
        assert fired[case["fail"][0]].message == case["message"]
    if "clause" in case:
        assert fired[case["fail"][0]].clause == case["clause"]
    if "ok" in case:
        assert report.ok is case["ok"], [f.message for f in report.findings]


@pytest.mark.parametrize("form_id", form_ids())
def test_every_rule_has_both_sides(form_id: str) -> None:
    """Each rule of the form is shown firing by some case, and shown silent on a boundary by another."""
    rules = {r.id for r in toolkit.form(form_id).rules.rules}
    cases = CASES_BY_FORM[form_id]
    failing = {r for c in cases for r in c.get("fail", [])}
    passing = {r for c in cases for r in c.get("pass", [])}
    assert rules - failing == set(), f"rules never shown failing: {sorted(rules - failing)}"
    assert rules - passing == set(), f"rules never shown passing at a boundary: {sorted(rules - passing)}"
    unknown = (failing | passing) - rules - {"schema.required", "schema.type", "schema.enum", "format.uscc",
                                              "format.date", "format.cn-phone", "format.cn-resident-id",
                                              "schema.minimum", "schema.maxItems", "schema.minItems", "office.required"}
    assert not unknown, f"cases name rules that do not exist: {sorted(unknown)}"
