"""The catalogue itself: every schema is valid 2020-12, documented, names its contract fields, and its
sample passes every rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import SAMPLES, SCHEMAS, form_ids, sample
from jsonschema import Draft202012Validator

import toolkit

# The field paths that ../shared/catalogue.md declares a public contract, form by form.
CONTRACT = {
    "tj-productivity-center-application": [
        "center.name", "center.uscc", "center.registration_date", "center.registered_in_tianjin",
        "center.independent_legal_person", "center.type", "center.iso9001_certified", "staff.total",
        "staff.bachelor_or_above", "finance.service_revenue_last_year", "finance.total_assets_last_year_end",
        "premises.self_controlled_area_m2", "application_date", "district_recommendation"],
    "tj-tech-innovation-center-plan": [
        "center.type", "field", "construction_mode", "capacity_project.total_investment",
        "capacity_project.subsidy_by_year"],
    "tj-high-tech-enterprise-application": [
        "enterprise.name", "enterprise.uscc", "enterprise.registration_date", "enterprise.registered_in_tianjin",
        "application_date", "tech_field", "ip", "ip[].title", "ip[].acquisition_mode", "ip[].acquired_date",
        "ip[].licence_years", "staff.total", "staff.tech_college_or_above", "staff.rd",
        "finance.sales_revenue_last_year", "finance.sales_revenue_2y", "finance.rd_expense_2y",
        "finance.rd_expense_domestic_2y", "finance.high_tech_revenue_last_year",
        "finance.total_revenue_last_year", "expert_score", "materials"],
    "tj-assistance-record": ["enterprise.revenue_target", "cadre.level", "record_date"],
    "cixi-innovation-complex-plan": ["sector", "subsidy.operating_annual", "subsidy.salary"],
    "cixi-tech-innovation-center-plan": [
        "base_unit.provincial_carriers", "independent_legal_entity", "funding.upper_subsidy",
        "funding.local_matching", "funding.entrusted_management_fee"],
    "xm-enterprise-request": ["enterprise.category", "responsible_office"],
}
CATALOGUE_FORMS = [
    "tj-productivity-center-application", "tj-productivity-center-evaluation",
    "tj-productivity-center-change-report", "tj-tech-innovation-center-plan",
    "tj-high-tech-enterprise-application", "tj-assistance-record", "cixi-innovation-complex-plan",
    "cixi-innovation-consortium-plan", "cixi-tech-innovation-center-plan", "xm-enterprise-profile",
    "xm-enterprise-request",
]


def _schema(form_id: str) -> dict[str, Any]:
    """The schema as every stage sees it: the file, with its references to shared files laid in."""
    return toolkit.form(form_id).schema


def _file(form_id: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{form_id}.schema.json").read_text(encoding="utf-8"))


def _walk(node: dict[str, Any], root: dict[str, Any], path: str = ""):
    node = toolkit.fields.resolve(node, root)
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _walk(sub, root, f"{path}.{name}" if path else name)
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], root, f"{path}[]")


def test_every_catalogue_form_is_present() -> None:
    missing = sorted(set(CATALOGUE_FORMS) - set(form_ids()))
    assert not missing, f"schemas missing for {missing}"


def test_schema_passes_the_metaschema(form_id: str) -> None:
    Draft202012Validator.check_schema(_file(form_id))
    Draft202012Validator.check_schema(_schema(form_id))
    assert _file(form_id)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_gbt9704_elements_live_once_and_every_notice_references_them() -> None:
    shared = json.loads((SCHEMAS / "common" / "notice-header.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(shared)
    notices = [f for f in toolkit.forms() if f.is_notice]
    assert len(notices) == 10
    for notice in notices:
        raw = _file(notice.id)["properties"]
        for name in shared["$defs"]:
            assert raw[name] == {"$ref": f"common/notice-header.schema.json#/$defs/{name}"}, (notice.id, name)
            assert notice.schema["properties"][name] == shared["$defs"][name]


def test_form_facts_are_declared(form_id: str) -> None:
    target = toolkit.form(form_id)
    assert target.role in ("application", "record", "notice")
    assert target.rules_version and target.rules_effective is not None
    for pointer in (target.applicant, target.as_of, *target.office_sections):
        if pointer is not None:
            assert toolkit.fields.node(target, toolkit.fields.schema_path(pointer)), (form_id, pointer)
    if target.applicant:
        assert {"name"} <= set(toolkit.fields.node(target, toolkit.fields.schema_path(target.applicant))["properties"])


def test_schema_carries_its_place_in_the_policy(form_id: str) -> None:
    schema = _schema(form_id)
    keys = ("title", "description", "x-kind", "x-policy", "x-clause", "x-seed", "x-order")
    if form_id == "rejection-notice":  # for every form: it belongs to no one policy
        keys = ("title", "description", "x-kind", "x-policy", "x-order")
    for key in keys:
        assert schema.get(key), f"{form_id}: top-level {key} missing"


def test_every_property_has_a_chinese_title_and_a_description(form_id: str) -> None:
    schema = _schema(form_id)
    for path, node in _walk(schema, schema):
        if path and not path.endswith("[]"):
            title = node.get("title", "")
            assert any("\u4e00" <= c <= "\u9fff" for c in title), f"{form_id}: {path} has no Chinese title"
            assert node.get("description"), f"{form_id}: {path} has no description"


def test_objects_refuse_unknown_fields(form_id: str) -> None:
    schema = _schema(form_id)
    for path, node in _walk(schema, schema):
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"{form_id}: {path or '/'} allows unknown fields"


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_contract_field_paths_exist(form_id: str) -> None:
    schema = _schema(form_id)
    paths = {p for p, _ in _walk(schema, schema)}
    missing = [p for p in CONTRACT[form_id] if p not in paths]
    assert not missing, f"{form_id}: contract fields missing: {missing}"


def test_sample_is_valid_and_passes_every_rule(form_id: str) -> None:
    assert (SAMPLES / f"{form_id}.json").exists(), f"samples/{form_id}.json missing"
    report = toolkit.validate(form_id, sample(form_id))
    assert report.findings == (), [f"{f.path}: {f.message}" for f in report.findings]


def test_sample_fills_every_field(form_id: str) -> None:
    """Samples are complete: every property the schema knows appears in the sample."""
    schema = _schema(form_id)
    data = sample(form_id)
    absent = [p for p, _ in _walk(schema, schema) if p and not _present(data, p)]
    assert not absent, f"{form_id}: sample leaves out {absent}"


def _present(data: Any, path: str) -> bool:
    values = [data]
    for part in path.replace("[]", ".[]").split("."):
        if part == "[]":
            values = [v for value in values if isinstance(value, list) for v in value]
        else:
            values = [v[part] for v in values if isinstance(v, dict) and part in v]
    return bool(values)


def test_skeleton_has_every_top_level_field(form_id: str) -> None:
    blank = toolkit.skeleton(form_id)
    assert set(blank) == set(_schema(form_id)["properties"])


# Keywords that mean the same in draft 7 and 2020-12, so that the compiled fast check (draft 7) and the
# full validator (2020-12) agree. A schema that needs another keyword must extend Form.is_valid first.
SHARED_KEYWORDS = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "type", "properties", "additionalProperties",
    "required", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "format", "items", "minItems", "maxItems", "uniqueItems", "if", "then", "else",
    "allOf", "anyOf", "oneOf", "not", "multipleOf", "default", "examples",
}


def _keywords(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_keywords(n) for n in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {k for k in node if not k.startswith("x-")}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            found |= set().union(*(_keywords(v) for v in value.values())) if value else set()
        elif key not in ("enum", "const", "required", "examples", "default") and not key.startswith("x-"):
            found |= _keywords(value)
    return found


def test_schema_uses_only_keywords_shared_by_draft7_and_2020_12(form_id: str) -> None:
    assert _keywords(_schema(form_id)) <= SHARED_KEYWORDS, _keywords(_schema(form_id)) - SHARED_KEYWORDS


def test_validating_leaves_the_schema_as_it_was(form_id: str) -> None:
    """The fast check compiles a copy: fastjsonschema rewrites the schema it is given (a bug seen once)."""
    before = json.dumps(toolkit.schema(form_id), sort_keys=True)
    toolkit.validate(form_id, {})
    toolkit.validate(form_id, sample(form_id))
    assert json.dumps(toolkit.schema(form_id), sort_keys=True) == before
