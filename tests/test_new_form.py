"""A form added as data only — a schema, a rule file and a sample in a folder, no code — goes end to end:
check, render (its template laid out from the schema), PDF, and extraction back to the same data."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import docx
import pytest

import toolkit

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "forms" / "demo-innovation-voucher.schema.json"


@pytest.fixture(scope="module")
def voucher() -> toolkit.Form:
    return toolkit.Form.load(FIXTURE)


def _sample(target: toolkit.Form) -> dict:
    return json.loads(target.sample_path.read_text(encoding="utf-8"), parse_float=Decimal)


def test_its_facts_and_rules_come_from_the_files(voucher: toolkit.Form) -> None:
    assert voucher.id == "demo-innovation-voucher" and voucher.title == "示例市科技创新券申请表"
    assert voucher.role == "application" and voucher.office_sections == ("/review",)
    assert voucher.template_path is None  # nothing shipped: laid out from the schema when rendered
    assert voucher.id not in [f.id for f in toolkit.forms()]


def test_check_applies_its_rules(voucher: toolkit.Form) -> None:
    data = _sample(voucher)
    assert toolkit.check(voucher, data).findings == ()
    data["staff"]["rd"] = 4
    data["amount"] = Decimal("20.5")
    findings = {f.rule: f for f in toolkit.check(voucher, data).findings}
    assert findings["rd-share"].message == "研发人员占职工总数的 8.33%，低于 10%"
    assert findings["rd-share"].title == "人员情况 · 研发人员数（人）" and findings["rd-share"].clause == "第五条(二)"
    assert findings["voucher-cap"].message == "申请额度 20.5万元，超过上限 20万元"


def test_render_pdf_and_extract_back(voucher: toolkit.Form) -> None:
    data = _sample(voucher)
    document = toolkit.render(voucher, data)
    text = "\n".join(c.text for t in docx.Document(io.BytesIO(document)).tables for r in t.rows for c in r.cells)
    assert "示例市云杉检测科技有限公司" in text and "材料成分检测" in text and "12.5万元" in text
    pdf = toolkit.to_pdf(document)
    result = toolkit.extract(voucher, pdf, "voucher.pdf")
    assert result.missing == []
    assert result.data == data
    assert result.report is not None and result.report.ok
