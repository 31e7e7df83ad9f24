"""The layout plan: made from the schema alone (long texts marked ``x-long``, no sample), and its slots are what
the Word template draws, label by label and tag by tag."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SCHEMAS
from docx.oxml.ns import qn
from docx.table import _Cell
from docx.text.paragraph import Paragraph

import toolkit
from toolkit.catalogue import Form
from toolkit.form_layout import CELL_MARGINS_MM, CHAR_MM, LABEL_CHARS, PAIR_WIDTHS, FormLayout, _widths
from toolkit.layout_plan import (
    IDENTIFIER_WIDTH,
    OFFICE_HEADING,
    UNBREAKABLE_FORMATS,
    VALUE_CHARS,
    Cover,
    FieldTable,
    Heading,
    ListTable,
    LongRow,
    Narrative,
    Pair,
    Signatures,
    Slot,
    SubHeader,
    Title,
    boxed_choices,
    dotted,
    form_plan,
    form_slots,
)

FORMS = [f.id for f in toolkit.forms() if not f.is_notice]


def _drawn(document: Any) -> list[str]:
    """The texts of a document's body in reading order: each paragraph, each table cell once."""
    texts: list[str] = []
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            texts.append(Paragraph(element, document).text)
        elif element.tag == qn("w:tbl"):
            texts += [_Cell(tc, document).text for tr in element.tr_lst for tc in tr.tc_lst]
    return [text for text in texts if text.strip()]


def _labels(slots: list[Slot]) -> list[str]:
    """The labels a reader meets, slot by slot (a text's label is the heading just before it)."""
    labels: list[str] = []
    for slot in slots:
        if slot.kind == "list":
            labels += [label for label, _, _ in slot.columns]
        elif slot.kind == "blocks":
            labels += _labels(slot.items)
        elif slot.kind != "text":
            labels.append(slot.label)
    return labels


def _slot_paths(slots: list[Slot]) -> set[str]:
    paths: set[str] = set()
    for slot in slots:
        if slot.kind in ("field", "text"):
            paths.add(slot.path)
        paths |= {path for _, path, _ in slot.columns if path}
        paths |= _slot_paths(slot.items)
    return paths


def _printed_paths(texts: list[str]) -> set[str]:
    """The dotted path of every value tag, ``item`` standing for the list of the loop it is in."""
    paths: set[str] = set()
    within = ""
    for text in texts:
        loop = re.search(r"\{%(?:tr|p) for item in (\S+) %\}", text)
        within = dotted(loop[1]) if loop else within
        paths |= {dotted(e, within) for e in re.findall(r"\{\{ ([^|} ]+)", text) if not e.startswith("loop.")}
    return paths


def _furniture(plan: list[Any]) -> set[str]:
    """The fixed texts of a form that are no label: title, cover lines, signatures, ``无`` of an empty list."""
    texts = {"无"}
    for block in plan:
        if isinstance(block, Cover):
            texts |= {block.number, block.title}
        elif isinstance(block, Title):
            texts.add(block.text)
        elif isinstance(block, Signatures):
            texts |= set(block.lines)
    return texts


@pytest.mark.parametrize("form_id", FORMS)
def test_slots_are_what_the_template_draws(form_id: str) -> None:
    form = toolkit.form(form_id)
    texts = _drawn(FormLayout(form).build())
    slots = form_slots(form)
    furniture = _furniture(form_plan(form))
    assert [t for t in texts if "{{" not in t and "{%" not in t and t not in furniture] == _labels(slots)
    cover = {dotted(e) for b in form_plan(form) if isinstance(b, Cover) for _, tag in b.lines
             for e in re.findall(r"\{\{ ([^|} ]+)", tag)}
    printed = _printed_paths(texts)
    assert _slot_paths(slots) <= printed
    assert printed - _slot_paths(slots) <= cover  # only the cover repeats a value without a slot of its own


@pytest.mark.parametrize("form_id", FORMS)
def test_a_row_is_long_exactly_when_the_schema_says_so(form_id: str) -> None:
    """A narrative, a list of values, an identifier that must not break (a USCC, an ID number) or boxed choices
    too wide for a value cell take a row."""
    rows = [r for b in form_plan(toolkit.form(form_id)) if isinstance(b, FieldTable) for r in b.rows]
    for row in rows:
        for field in getattr(row, "fields", []):  # a sub-header has none
            node = field.node
            boxed = "　".join(f"☐{c}" for c in boxed_choices(node))
            long = node.get("x-long") is True or node.get("type") == "array"
            unbreakable = node.get("format") in UNBREAKABLE_FORMATS or len(boxed) > VALUE_CHARS
            assert (long or unbreakable) == isinstance(row, LongRow), field.path


def test_a_value_cell_holds_its_characters() -> None:
    assert PAIR_WIDTHS[1] >= VALUE_CHARS * CHAR_MM + CELL_MARGINS_MM


def test_a_uscc_in_a_list_gets_a_column_wide_enough() -> None:
    [members] = [b for b in form_plan(toolkit.form("cixi-innovation-consortium-plan")) if isinstance(b, ListTable)
                 and b.path == "member_enterprises"]
    widths = _widths([c.weight for c in members.columns], [c.fixed for c in members.columns])
    [column] = [w for w, c in zip(widths, members.columns, strict=True) if c.node.get("format") == "uscc"]
    assert column >= IDENTIFIER_WIDTH * CHAR_MM + CELL_MARGINS_MM - 0.1 and sum(widths) == pytest.approx(156)
    assert IDENTIFIER_WIDTH * CHAR_MM >= 44.3  # 91120104MA05K7X10W in Times New Roman 12 pt, in mm


def test_a_label_of_eight_characters_fits_its_column() -> None:
    assert PAIR_WIDTHS[0] >= LABEL_CHARS * CHAR_MM + CELL_MARGINS_MM + 1 and sum(PAIR_WIDTHS) == 156
    labels = {f.label for form_id in FORMS for b in form_plan(toolkit.form(form_id)) if isinstance(b, FieldTable)
              for r in b.rows for f in getattr(r, "fields", [])}
    assert {"统一社会信用代码", "是否在天津市注册"} <= {label for label in labels if len(label) == LABEL_CHARS}


@pytest.mark.parametrize("form_id", FORMS)
def test_the_offices_sections_come_last_under_their_heading(form_id: str) -> None:
    form = toolkit.form(form_id)
    plan = form_plan(form)
    office = [p.removeprefix("/") for p in form.office_sections]
    headings = [b.text for b in plan if isinstance(b, Heading)]
    if not office:
        assert OFFICE_HEADING not in headings
        return
    start = next(i for i, b in enumerate(plan) if isinstance(b, Heading) and b.text == OFFICE_HEADING)
    assert plan[start] == Heading(OFFICE_HEADING, 1, indented=form.layout["outline"])
    assert isinstance(plan[start - 1], Signatures), "the applicant signs before the office's part"
    before, after = _roots(plan[:start]), _roots(plan[start:])
    assert not set(before) & set(office) and list(dict.fromkeys(after)) == office  # all of them, in schema order


def _roots(blocks: list[Any]) -> list[str]:
    """The top-level field of every value printed in the tables of ``blocks``, in order."""
    return [f.path.split(".")[0] for b in blocks if isinstance(b, FieldTable) for r in b.rows
            for f in getattr(r, "fields", [])]


def test_an_office_section_in_the_middle_of_the_schema_moves_last(tmp_path: Path) -> None:
    schema = {**SMALL, "x-office-sections": ["/name", "/company"]}
    plan = form_plan(_small_form(tmp_path, schema))
    assert [type(b) for b in plan] == [Title, FieldTable, Heading, ListTable, Signatures, Heading, FieldTable]
    assert [b.text for b in plan if isinstance(b, Heading)] == ["一、成员", OFFICE_HEADING]
    office = plan[-1].rows
    assert [r.fields[0].label if not isinstance(r, SubHeader) else r.label for r in office] == [
        "名称", "单位", "单位名称", "业务领域"]


def test_the_long_texts_of_a_form_are_its_x_long_fields() -> None:
    form = toolkit.form("tj-productivity-center-application")
    long = {r.field.path for b in form_plan(form) if isinstance(b, FieldTable) for r in b.rows
            if isinstance(r, LongRow)}
    assert {"descriptions.quality_system", "district_recommendation.opinion", "premises.equipment"} <= long
    assert "center.name" not in long


def _walk(node: Any, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found += [node] if "x-long" in node else []
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)
    return found


def test_x_long_marks_only_free_texts_of_forms() -> None:
    marked = {path.name: _walk(json.loads(path.read_text(encoding="utf-8")), [])
              for path in SCHEMAS.glob("*.schema.json")}
    for form in toolkit.forms():
        nodes = marked[form.schema_path.name]
        assert not (form.is_notice and nodes), form.id
        assert all(n["x-long"] is True and n.get("type") == "string" and "enum" not in n for n in nodes), form.id
    assert sum(len(nodes) for nodes in marked.values()) > 50
    assert not any(_walk(json.loads(p.read_text(encoding="utf-8")), []) for p in (SCHEMAS / "common").glob("*"))


def test_the_plan_does_not_depend_on_word() -> None:
    tree = ast.parse((ROOT / "toolkit" / "layout_plan.py").read_text(encoding="utf-8"))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {m for m in imported if m.startswith("docx") or m in ("docxtpl", "form_layout", "docx_parts")}


SMALL = {
    "title": "测试登记表",
    "x-role": "record",
    "type": "object",
    "properties": {
        "name": {"title": "名称", "type": "string"},
        "code": {"title": "编号", "type": "string"},
        "remark": {"title": "备注", "type": "string", "x-long": True},
        "company": {"title": "单位", "type": "object", "properties": {
            "name": {"title": "单位名称", "type": "string"},
            "fields": {"title": "业务领域", "type": "array", "items": {"type": "string"}}}},
        "members": {"title": "成员", "type": "array", "items": {"type": "object", "properties": {
            "name": {"title": "姓名", "type": "string"},
            "born": {"title": "出生日期", "type": "string", "format": "date"}}}},
    },
}


def _small_form(tmp_path: Path, schema: dict[str, Any], sample: dict[str, Any] | None = None) -> Form:
    path = tmp_path / "small.schema.json"
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    if sample is not None:  # a sample beside the schema: the plan must not look at it
        (tmp_path / "small.json").write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    return Form.load(path)


def test_a_schema_alone_gets_a_plan(tmp_path: Path) -> None:
    plan = form_plan(_small_form(tmp_path, SMALL, {"code": "长" * 100}))
    assert [type(b) for b in plan] == [Title, FieldTable, Heading, FieldTable, Heading, ListTable, Signatures]
    title, loose, company_heading, company, members_heading, members, signatures = plan
    assert title == Title("测试登记表")
    assert [[f.label for f in r.fields] if isinstance(r, Pair) else r.field.label for r in loose.rows] == [
        ["名称", "编号"], "备注"]
    assert company_heading == Heading("一、单位", 1, indented=False)
    assert isinstance(company.rows[1], LongRow) and company.rows[1].field.tag == "{{ company.fields|join_list }}"
    assert members_heading.text == "二、成员"
    assert [(c.label, c.tag, c.path) for c in members.columns] == [
        ("序号", "{{ loop.index }}", ""), ("姓名", "{{ item.name }}", "members[].name"),
        ("出生日期", "{{ item.born|cn_date }}", "members[].born")]
    assert signatures.lines[0] == "填报人（签字）："
    assert [(s.kind, s.label, s.path) for s in form_slots(_small_form(tmp_path, SMALL))][:4] == [
        ("field", "名称", "name"), ("field", "编号", "code"), ("field", "备注", "remark"), ("heading", "一、单位", "")]


def test_without_x_long_a_text_shares_its_row(tmp_path: Path) -> None:
    schema = json.loads(json.dumps(SMALL))
    del schema["properties"]["remark"]["x-long"]
    loose = form_plan(_small_form(tmp_path, schema))[1]
    assert [[f.label for f in r.fields] for r in loose.rows] == [["名称", "编号"], ["备注"]]


def test_an_outline_plan_has_a_cover_and_narratives(tmp_path: Path) -> None:
    schema = {
        "title": "建设方案", "x-layout": {"cover": True, "outline": True}, "x-policy": "某办法", "x-clause": "第三条",
        "type": "object",
        "properties": {
            "host": {"title": "牵头单位", "type": "object", "properties": {
                "name": {"title": "单位名称", "type": "string"}}},
            "date": {"title": "编制日期", "type": "string", "format": "date"},
            "basis": {"title": "一、建设基础", "type": "object", "properties": {
                "history": {"title": "（一）发展历程", "type": "string", "x-long": True},
                "staff": {"title": "人数", "type": "integer"}}},
        },
    }
    plan = form_plan(_small_form(tmp_path, schema))
    assert plan[0] == Cover("建设方案", [("编制单位（盖章）", "{{ host.name }}"), ("编制日期", "{{ date|cn_date }}")])
    assert Heading("（一）发展历程", 2, indented=True) in plan
    assert Narrative("（一）发展历程", "basis.history", "basis.history") in plan
    assert [s.kind for s in form_slots(_small_form(tmp_path, schema))] == [
        "heading", "field", "field", "heading", "heading", "text", "field"]
    assert plan[-1].lines[0] == "编制单位（盖章）："
