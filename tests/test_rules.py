"""Data-driven rule cases: ``tests/cases/<form>.toml`` states, for each rule, both sides of its bound.

A case starts from the form's sample, sets or deletes fields, validates, and names the rules that must
fire (``fail``), must stay silent (``pass``) and, optionally, the exact message of the first failing rule;
``stage = "office"`` checks it as the office does before deciding (pending rules asked, office sections required).
"""

from __future__ import annotations

import copy
import random
import tomllib
from decimal import Decimal
from typing import Any

import pytest
from conftest import CASES, changed, form_ids, sample

import toolkit
from toolkit import fields, reading, validation
from toolkit.reading import read_filled


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


# --- the compiled rules, the one-walk reading and the schema's errors: what they replace, faster -----------------

def _moved(data: Any, rng: random.Random) -> Any:
    """``data`` with each number but years scaled by 0.5–1.5 (many of them then fail some rule)."""
    if isinstance(data, dict):
        return {k: _moved(v, rng) for k, v in data.items()}
    if isinstance(data, list):
        return [_moved(v, rng) for v in data]
    if isinstance(data, bool) or not isinstance(data, (int, Decimal)) or 1900 <= data <= 2100:
        return data
    scaled = Decimal(data) * rng.randint(50, 150) / 100
    return int(scaled) if isinstance(data, int) else scaled.quantize(Decimal("0.01"))


def _typed(data: Any, rng: random.Random) -> Any:
    """``data`` as people type it, here and there: 是/否, numbers as text with 万元, dates in Chinese, spaces,
    full-width digits, capitals made small, blanks."""
    if isinstance(data, dict):
        return {k: _typed(v, rng) for k, v in data.items()} if rng.random() > 0.03 else dict.fromkeys(data, "")
    if isinstance(data, list):
        return [_typed(v, rng) for v in data] + ([{}] if data and rng.random() < 0.1 else [])
    chance = rng.random()
    if isinstance(data, bool):
        return ("是" if data else "否") if chance < 0.2 else data
    if isinstance(data, (int, Decimal)):
        return f"{data:,}万元" if chance < 0.1 else str(data) if chance < 0.2 else "" if chance < 0.25 else data
    if isinstance(data, str) and chance < 0.4:
        day = data[:4].isdigit() and data[4:5] == "-" and len(data) == 10
        return rng.choice([f" {data}\u3000", data.lower(), data.translate(FULL_WIDTH), "", None,
                           f"{data[:4]}年{int(data[5:7])}月{int(data[8:])}日" if day else data + " "])
    return data


FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


@pytest.mark.parametrize("form_id", form_ids())
def test_the_compiled_rules_find_what_each_rule_finds_alone(form_id: str) -> None:
    """``RuleSet.evaluate`` runs every rule in one compiled function on the application as it is; each rule on its
    own (``evaluate_slowly``, on the application made exact first) finds the same breaches and notes."""
    form, rng = toolkit.form(form_id), random.Random(form_id)
    for _ in range(30):
        data = read_filled(form, _typed(_moved(sample(form_id), rng), rng))[0]
        if data and rng.random() < 0.2:
            del data[rng.choice(list(data))]
        assert repr(form.rules.evaluate(data)) == repr(form.rules.evaluate_slowly(data))


@pytest.mark.parametrize("form_id", form_ids())
def test_reading_in_one_walk_is_reading_then_leaving_out_blanks(form_id: str) -> None:
    form, rng = toolkit.form(form_id), random.Random(form_id)
    for _ in range(30):
        data = _typed(_moved(sample(form_id), rng), rng)
        read_as, readings = reading.read(form, copy.deepcopy(data))
        assert repr(reading.read_filled(form, data)) == repr((fields.without_blanks(form, read_as), readings))


@pytest.mark.parametrize("form_id", form_ids())
def test_texts_read_without_reading_them_again_read_as_read_text_reads_them(form_id: str) -> None:
    """The reader's shortcuts (an ISO date in a date field, a choice of the enum, a USCC in capitals …) give what
    ``values.read_text`` gives."""
    form = toolkit.form(form_id)
    texts = {"2016-04-18", "2016-02-30", "0000-01-01", "2016-4-18", " 2016-04-18", "91120116786375429R",
             "91120116786375429r", "9112 0116", "022-58186672", "０２２-1234", " 022 ", "", "是", "１２", "abc"}
    texts |= {str(v) for f in fields.fields(form).values() for v in f.node.get("enum", ())}
    texts |= {v for v in _texts(sample(form_id))}
    for field in fields.fields(form).values():
        shortcut = reading._text_reader(field.node)
        for text in texts:
            expected = reading._understood(text, field.node)
            assert repr(shortcut(text)) == repr(expected), (field.path, text)


def _texts(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [t for v in data.values() for t in _texts(v)]
    if isinstance(data, list):
        return [t for v in data for t in _texts(v)]
    return [data, f" {data} ", data.lower()] if isinstance(data, str) else []


@pytest.mark.parametrize("form_id", form_ids())
def test_the_schema_errors_of_a_form_seen_before_are_the_validators(form_id: str) -> None:
    """From a form's second rejected application on, the sections the compiled checks accept are not walked:
    the errors, and their order, stay ``Form.validator``'s."""
    form, rng = toolkit.form(form_id), random.Random(form_id)
    errors = validation._errors(form)
    for _ in range(20):
        data = read_filled(form, _typed(_moved(sample(form_id), rng), rng))[0]
        if data and rng.random() < 0.5:
            del data[rng.choice(list(data))]
        data[rng.choice(["unknown", next(iter(data), "x")])] = rng.choice([None, "?", -1, [], {}])
        mine = [(e.json_path, e.message, e.validator) for e in errors.iter_errors(data)]
        assert errors.rejected > 1 or mine  # the first one goes through the validator itself
        assert mine == [(e.json_path, e.message, e.validator) for e in form.validator.iter_errors(data)]
