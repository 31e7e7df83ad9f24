"""The library's workflows, in memory: a form and data or bytes in, result objects out, no file written."""

from __future__ import annotations

import builtins
import io
import os
import threading
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest
from conftest import changed, sample

import toolkit
from toolkit.sheets import Row

APPLICATION = "tj-high-tech-enterprise-application"
CERTIFICATE = "tj-high-tech-certificate"


@pytest.fixture
def no_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a file for writing fails the test."""
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        assert not set(mode) & set("wax+"), f"wrote {file}"
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        assert not flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT), f"wrote {path}"
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)


def text_of(document: bytes) -> str:
    parsed = docx.Document(io.BytesIO(document))
    cells = [cell.text for table in parsed.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in parsed.paragraphs] + cells)


def test_check_returns_a_report_with_the_rules_version_and_figures(no_writes: None) -> None:
    data = changed(sample(APPLICATION), {"finance.rd_expense_2y": 50.40, "finance.sales_revenue_2y": 1008.2,
                                         "finance.sales_revenue_last_year": 600})
    report = toolkit.check(toolkit.form(APPLICATION), data)
    assert not report.ok
    assert (report.rules_version, report.rules_effective) == ("2015.1", "2015-08-17")
    rd = next(f for f in report.findings if f.path == "/finance/rd_expense_2y")
    assert "4.999%，低于 5%" in rd.message
    assert float(rd.value) == pytest.approx(50.40 / 1008.2) and rd.value < rd.bound == Decimal("0.05")
    assert rd.unit == "%"
    record = report.as_record()["findings"][0]
    assert {"value", "bound", "unit", "clause", "rule"} <= set(record)


def test_stages_draft_application_and_office(no_writes: None) -> None:
    data = sample(APPLICATION)
    del data["contact"]
    assert any(f.rule == "schema.required" for f in toolkit.check(APPLICATION, data).findings)
    assert not any(f.rule == "schema.required" for f in toolkit.check(APPLICATION, data, stage="draft").findings)
    pending = changed(sample(APPLICATION), delete=["expert_score"])
    assert not any(f.rule == "office.required" for f in toolkit.check(APPLICATION, pending).findings)
    decision = toolkit.check(APPLICATION, pending, stage="office")
    assert [f.path for f in decision.findings if f.rule == "office.required"] == ["/expert_score"]
    assert [f.rule for f in decision.pending] == ["office.required", "expert-score-pending"]
    assert not decision.ok


def test_render_gives_docx_bytes_and_refuses_an_invalid_application(no_writes: None) -> None:
    data = sample(APPLICATION)
    document = toolkit.render(APPLICATION, data)
    assert data["enterprise"]["name"] in text_of(document)
    bad = changed(data, {"staff.rd": 1})
    with pytest.raises(toolkit.NotValid) as refused:
        toolkit.render(APPLICATION, bad)
    assert any(f.rule == "rd-staff-ratio" for f in refused.value.report.errors)
    assert "＿＿＿＿＿＿" in text_of(toolkit.render(APPLICATION, toolkit.skeleton(APPLICATION), draft=True))


def test_render_takes_a_users_template_as_bytes(no_writes: None) -> None:
    template = toolkit.form(CERTIFICATE).template_path.read_bytes()
    own = toolkit.render(CERTIFICATE, sample(CERTIFICATE), template=template)
    assert sample(CERTIFICATE)["certificate_number"] in text_of(own)


def test_decide_in_memory(no_writes: None) -> None:
    facts = sample("tj-high-tech-recognition-notice")
    decided = toolkit.decide(APPLICATION, sample(APPLICATION), {}, facts)
    assert decided.approved and decided.notice.id == "tj-high-tech-recognition-notice"
    assert decided.notice_report.ok and sample(APPLICATION)["enterprise"]["name"] in text_of(decided.document)
    failing = changed(sample(APPLICATION), {"staff.rd": 1})
    rejected = toolkit.decide(APPLICATION, failing, {}, sample("rejection-notice"))
    assert not rejected.approved and rejected.notice.id == "rejection-notice"
    assert rejected.data["applicant"]["name"] == failing["enterprise"]["name"]
    assert "第九条(三)" in text_of(rejected.document)
    incomplete = toolkit.decide(APPLICATION, sample(APPLICATION), {})
    assert incomplete.document is None and not incomplete.notice_report.ok
    assert "/issuer/name" in [f.path for f in incomplete.missing]


def test_to_pdf_and_extract_from_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = sample("tj-productivity-center-application")
    document = toolkit.render("tj-productivity-center-application", data)
    pdf = toolkit.to_pdf(document)
    assert pdf.startswith(b"%PDF-")
    assert list(tmp_path.iterdir()) == []
    result = toolkit.extract("tj-productivity-center-application", pdf, "申请表.pdf")
    assert result.data == data and result.ok and result.file == "申请表.pdf"
    assert result.fields["/center/name"]["page"] >= 1
    from_word = toolkit.extract("tj-productivity-center-application", document)
    assert from_word.data == data


def test_extract_refuses_what_is_no_submission(no_writes: None) -> None:
    with pytest.raises(toolkit.UnusableInput, match="不是 PDF"):
        toolkit.extract("tj-productivity-center-application", b"hello", "x.txt")


def _certificates(count: int) -> list[dict[str, Any]]:
    base = sample(CERTIFICATE)
    return [changed(base, {"certificate_number": f"津滨高企 2016-{i:03d}", "enterprise.name": f"第{i}号科技有限公司"})
            for i in range(count)]


def test_batch_into_memory(no_writes: None) -> None:
    rows = _certificates(3) + [changed(sample(CERTIFICATE), {"issue_date": "2016-02-30"})]
    sink = toolkit.MemorySink()
    result = toolkit.batch(CERTIFICATE, rows, sink, name="{certificate_number}")
    assert [o.status for o in result.outcomes] == ["written"] * 3 + ["failed"]
    assert "/issue_date（发证日期）" in result.outcomes[3].message
    assert sorted(sink.documents) == [f"津滨高企 2016-00{i}.docx" for i in range(3)]
    assert "第2号科技有限公司" in text_of(sink.documents["津滨高企 2016-002.docx"])


def test_batch_takes_sheet_rows_with_chinese_headers(no_writes: None) -> None:
    row = Row(2, {"证书编号": "N-1", "企业名称": "甲公司"})
    defaults = sample(CERTIFICATE)
    result = toolkit.batch(CERTIFICATE, [row], sink := toolkit.MemorySink(), defaults=defaults, name="{__row__}")
    assert [o.file for o in result.outcomes] == ["2.docx"] and "甲公司" in text_of(sink.documents["2.docx"])
    unknown = toolkit.batch(CERTIFICATE, [Row(2, {"没有这一列": "x"})], toolkit.MemorySink(), defaults=defaults)
    assert "没有这一列" in unknown.outcomes[0].message


def test_batch_works_with_spawned_workers() -> None:
    sink = toolkit.MemorySink()
    result = toolkit.batch(CERTIFICATE, _certificates(40), sink, name="{certificate_number}", jobs=2,
                           start_method="spawn")
    assert result.count("written") == 40
    assert "第39号科技有限公司" in text_of(sink.documents["津滨高企 2016-039.docx"])


def test_two_batches_in_one_process_at_once() -> None:
    notice = "tj-productivity-center-inclusion-notice"
    results: dict[str, toolkit.MemorySink] = {}

    def run(form_id: str, rows: list[dict[str, Any]]) -> None:
        results[form_id] = toolkit.MemorySink()
        toolkit.batch(form_id, rows, results[form_id], jobs=2)

    threads = [threading.Thread(target=run, args=(CERTIFICATE, _certificates(40))),
               threading.Thread(target=run, args=(notice, [sample(notice)] * 40))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results[CERTIFICATE].documents) == len(results[notice].documents) == 40
    assert all("证书" in text_of(d) for d in results[CERTIFICATE].documents.values())
    assert all("证书编号" not in text_of(d) for d in results[notice].documents.values())


def test_zip_sink(tmp_path: Path) -> None:
    toolkit.batch(CERTIFICATE, _certificates(2), toolkit.ZipSink(tmp_path / "out.zip"), name="{certificate_number}")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert sorted(archive.namelist()) == ["manifest.csv", "津滨高企 2016-000.docx", "津滨高企 2016-001.docx"]
