"""Extraction: every form comes back out of its PDF field for field, also after an applicant re-styled the
document; every kind of unusable file is told apart in one line, and a notice or another form is named as such.
(Word files: ``test_word_submissions.py``.)"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import changed, sample
from conftest import render_file as render
from PIL import Image

import toolkit
from toolkit import convert, scan_reading
from toolkit.cli import main
from toolkit.extraction import extract_file as extract
from toolkit.values import join_lines
from toolkit.values import read_printed as typed

FORMS = [f.id for f in toolkit.forms() if not f.is_notice]
WITH_OFFICE_SECTIONS = [f.id for f in toolkit.forms() if f.office_sections]


def applicants_part(form_id: str) -> dict[str, Any]:
    """The sample as an applicant submits it: the office's sections not filled in yet."""
    data = sample(form_id)
    for section in toolkit.form(form_id).office_sections:
        data.pop(section[1:])
    return data


def restyled(docx: Path, out: Path) -> Path:
    """The document as an applicant might re-style it before printing: other fonts, everything 1 pt larger."""
    with zipfile.ZipFile(docx) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename in ("word/document.xml", "word/styles.xml"):
                xml = data.decode("utf-8")
                xml = re.sub(r'w:eastAsia="[^"]+"', 'w:eastAsia="楷体_GB2312"', xml)
                xml = re.sub(r'w:(ascii|hAnsi)="[^"]+"', r'w:\1="Liberation Sans"', xml)
                xml = re.sub(r'<w:(sz|szCs) w:val="(\d+)"/>', lambda m: f'<w:{m[1]} w:val="{int(m[2]) + 2}"/>', xml)
                data = xml.encode("utf-8")
            target.writestr(item, data)
    return out


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("submitted")
    documents = []
    for form_id in FORMS:
        documents.append(render(form_id, sample(form_id), folder / f"{form_id}.docx"))
        documents.append(restyled(documents[-1], folder / f"{form_id}.restyled.docx"))
    for form_id in WITH_OFFICE_SECTIONS:
        documents.append(render(form_id, applicants_part(form_id), folder / f"{form_id}.applicant.docx"))
    return {p.stem: p for p in convert.to_pdf(documents)}


@pytest.mark.parametrize("form_id", FORMS)
def test_round_trip_gives_back_the_sample(pdfs: dict[str, Path], form_id: str) -> None:
    result = extract(form_id, pdfs[form_id])
    assert result.missing == []
    assert result.data == sample(form_id)
    assert result.report is not None and result.report.findings == ()


@pytest.mark.parametrize("form_id", FORMS)
def test_round_trip_after_restyling(pdfs: dict[str, Path], form_id: str) -> None:
    result = extract(form_id, pdfs[f"{form_id}.restyled"])
    assert result.missing == []
    assert result.data == sample(form_id)


@pytest.mark.parametrize("form_id", WITH_OFFICE_SECTIONS)
def test_round_trip_with_the_office_sections_blank(pdfs: dict[str, Path], form_id: str) -> None:
    """Unticked boxes (☐同意认定　☐不予认定) and empty cells of the office's sections read back as not filled."""
    original = toolkit.check(form_id, applicants_part(form_id))
    result = extract(form_id, pdfs[f"{form_id}.applicant"])
    assert result.report is not None and result.report.findings == original.findings == ()
    assert toolkit.check(form_id, result.data, stage="office").findings == toolkit.check(
        form_id, applicants_part(form_id), stage="office").findings


def test_json_output_and_field_positions(pdfs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    form_id = "tj-high-tech-enterprise-application"
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", form_id, str(pdfs[form_id]), "--json", "-j", "1"])
    assert exit_info.value.code == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"form", "file", "data", "findings", "fields"}
    assert payload["data"]["enterprise"]["name"] == sample(form_id)["enterprise"]["name"]
    where = payload["fields"]["enterprise.uscc"]
    assert where["page"] == 2 and len(where["bbox"]) == 4 and where["bbox"][0] < where["bbox"][2]
    assert payload["fields"]["ip.1.title"]["page"] >= 2


def test_output_file_is_ready_for_validate(pdfs: dict[str, Path], tmp_path: Path) -> None:
    form_id = "tj-productivity-center-application"
    out = tmp_path / "data.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", form_id, str(pdfs[form_id]), "-o", str(out)])
    assert exit_info.value.code == 0
    assert toolkit.validate(form_id, toolkit.load_application(out)).findings == ()


def _pdf_bytes(pdfs: dict[str, Path]) -> bytes:
    return pdfs["tj-productivity-center-application"].read_bytes()


def _encrypted(pdfs: dict[str, Path]) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pdfs["tj-productivity-center-application"])
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _scan(pdfs: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (595, 842), "white").save(buffer, "PDF")
    return buffer.getvalue()


def _without_unicode_maps(pdfs: dict[str, Path]) -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pdfs["tj-productivity-center-application"])
    for page in writer.pages:
        for font in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
            font = font.get_object()
            font.pop("/ToUnicode", None)
            for descendant in font.get("/DescendantFonts", []):
                descendant.get_object().pop("/ToUnicode", None)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


UNUSABLE = {
    "not-a-pdf": (lambda p: "申请表".encode() * 100, "不是 PDF 文件"),
    "empty": (lambda p: b"", "文件为空"),
    "truncated": (lambda p: _pdf_bytes(p)[: len(_pdf_bytes(p)) // 3], "PDF 文件已损坏或不完整"),
    "encrypted": (_encrypted, "PDF 已加密"),
    "scan": (_scan, "not a scan of tj-productivity-center-application" if scan_reading.available()
             else "a scan: OCR is not installed"),  # read by OCR where it is installed, else refused
    "cid": (_without_unicode_maps, "(cid:NNN)"),
    "another-form": (lambda p: p["tj-high-tech-enterprise-application"].read_bytes(),
                     "this looks like tj-high-tech-enterprise-application"),
}


@pytest.mark.parametrize("kind", sorted(UNUSABLE))
def test_unusable_files_are_told_apart(pdfs: dict[str, Path], tmp_path: Path, kind: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    make, reason = UNUSABLE[kind]
    path = tmp_path / f"{kind}.pdf"
    path.write_bytes(make(pdfs))
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", "tj-productivity-center-application", str(path)])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and str(path) in captured.err and reason in captured.err, captured.err


def test_a_run_over_many_files_goes_past_a_bad_one(pdfs: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    form_id = "tj-productivity-center-application"
    good = [shutil.copy(pdfs[form_id], tmp_path / f"good{i}.pdf") for i in range(3)]
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7 broken")
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", form_id, str(good[0]), str(bad), str(good[1]), str(good[2]), "--json", "-j", "2"])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2
    assert [r["file"] for r in json.loads(captured.out)] == [str(g) for g in good]
    summary = captured.err.splitlines()
    assert summary[-5].split()[:2] == ["文件", "结果"] and "无法读取" in summary[-3]
    assert summary[-1].split()[1] == "通过"


def test_missing_fields_are_findings(tmp_path: Path, pdfs: dict[str, Path]) -> None:
    form_id = "tj-productivity-center-application"
    data: dict[str, Any] = sample(form_id)
    del data["contact"]["email"]
    data["staff"]["total"] = 14
    pdf = convert.to_pdf([render(form_id, data, tmp_path / "x.docx")])[0]
    result = extract(form_id, pdf)
    assert not result.ok
    assert "contact" in result.data and "email" not in result.data["contact"]
    assert any(f.rule == "enterprise-staff" for f in result.report.findings)


@pytest.mark.parametrize(("text", "node", "value"), [
    ("812.5万元", {"type": "number"}, 812.5),
    ("１，２３４.５万元", {"type": "number"}, 1234.5),
    ("2,860.5", {"type": "number"}, 2860.5),
    ("36", {"type": "integer"}, 36),
    ("2024年11月8日", {"type": "string", "format": "date"}, "2024-11-08"),
    ("2024 年 11 月 8 日", {"type": "string", "format": "date"}, "2024-11-08"),
    ("☑是 ☐否", {"type": "boolean"}, True),
    ("☐是 ☑否", {"type": "boolean"}, False),
    ("☐企业类 ☑事业类", {"type": "string", "enum": ["企业类", "事业类"]}, "事业类"),
    ("☐同意认定　☐不予认定", {"type": "string", "enum": ["同意认定", "不予认定"]}, None),
    ("☐是 ☐否", {"type": "boolean"}, None),
    ("1．甲、乙\n2．丙", {"type": "array", "items": {"type": "string"}}, ["甲、乙", "丙"]),
    ("2014、2015", {"type": "array", "items": {"type": "integer"}}, [2014, 2015]),
    ("无", {"type": "array", "items": {"type": "string"}}, []),
    ("91120104MA05K7X1\n0W", {"type": "string", "format": "uscc"}, "91120104MA05K7X10W"),
])
def test_values_are_typed_back(text: str, node: dict, value: Any) -> None:
    from decimal import Decimal

    result = typed(text, node)
    assert result == (Decimal(str(value)) if isinstance(value, float) else value)


@pytest.mark.parametrize(("text", "joined"), [
    ("天津市南开区科技生\n产力促进中心", "天津市南开区科技生产力促进中心"),
    ("sunyq@bzzk-\noe.example.cn", "sunyq@bzzk-oe.example.cn"),
    ("绝缘耐压1000V\nDC", "绝缘耐压1000V DC"),
    ("到 2021 年建成", "到2021年建成"),
    ("主任 张立民", "主任 张立民"),
])
def test_wrapped_lines_are_joined_as_typed(text: str, joined: str) -> None:
    assert join_lines(text) == joined


@pytest.fixture(scope="module")
def rejection_notice() -> bytes:
    """The 不予通过通知 of a failing 市级高企认定申请书, as ``decide`` renders it (.docx)."""
    form_id = "tj-high-tech-enterprise-application"
    failing = changed(sample(form_id), {"staff.rd": 1})
    decided = toolkit.decide(form_id, failing, {}, sample("rejection-notice"))
    assert decided.notice is not None and decided.notice.id == "rejection-notice" and decided.document is not None
    return decided.document


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_a_notice_about_the_form_is_named_as_a_notice(rejection_notice: bytes, kind: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Its title quotes the form's (``关于…《市级高企认定申请书》不予通过的通知``): that makes it no application."""
    path = tmp_path / f"通知.{kind}"
    path.write_bytes(toolkit.to_pdf(rejection_notice) if kind == "pdf" else rejection_notice)
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", "tj-high-tech-enterprise-application", str(path)])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2 and captured.out == "" and captured.err.count("\n") == 1
    notice = "津科成〔2018〕171号，关于天津海泰中科光电技术有限公司《市级高企认定申请书》不予通过的通知"
    assert f"这是一份公文（{notice}），不是「市级高企认定申请书」" in captured.err, captured.err


def test_a_title_wrapped_over_two_lines_is_the_title_and_one_quoted_in_a_line_is_not() -> None:
    from toolkit.extraction import _check_form
    from toolkit.pdf_reading import Line

    form = toolkit.form("tj-productivity-center-application")
    _check_form(form, [Line("编号：____________", 1, 10), Line("天津市市级生产力促进", 1, 20),
                       Line("中心培育申请表", 1, 30)], "x.pdf", "PDF")
    with pytest.raises(toolkit.UnusableInput, match="没有找到表单标题「天津市市级生产力促进中心培育申请表」：这不是 "
                                                    r"tj-productivity-center-application 的 PDF \(not a PDF of"):
        _check_form(form, [Line("《天津市市级生产力促进中心培育申请表》填写说明", 1, 10)], "x.pdf", "PDF")


def test_json_output_and_the_output_file_give_the_same_typed_data(pdfs: dict[str, Path], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    form_id = "cixi-innovation-complex-plan"
    out = tmp_path / "data.json"
    with pytest.raises(SystemExit):
        main(["extract", form_id, str(pdfs[form_id]), "-o", str(out)])
    with pytest.raises(SystemExit):
        main(["extract", form_id, str(pdfs[form_id]), "--json", "-j", "1"])
    printed = json.loads(capsys.readouterr().out)["data"]
    assert printed == json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(printed["approach"]["existing_base"]["space_area_m2"], (int, float))


def test_the_fast_reading_gives_what_pdfplumber_gives(pdfs: dict[str, Path]) -> None:
    """``page_objects`` builds the objects pdfplumber's ``page.objects`` would, and a row's cells hold the text
    ``Table.extract`` gives: the speed of ``pdf_reading`` is never paid for in what it reads (a pdfplumber upgrade
    that changes either shows here)."""
    import pdfplumber

    from toolkit.pdf_reading import Row, _page_tokens, deduped, page_objects

    for form_id in ("tj-high-tech-enterprise-application", "xm-enterprise-profile"):
        with pdfplumber.open(pdfs[form_id]) as mine, pdfplumber.open(pdfs[form_id]) as theirs:
            for page, same in zip(mine.pages, theirs.pages, strict=True):
                assert page_objects(page) == {"char": [], **same.objects}
                clean = deduped(page)
                rows = [t.cells for t in _page_tokens(clean, page.page_number) if isinstance(t, Row)]
                tables = clean.find_tables()
                expected = [[c if c is None else c.strip() for c in texts]
                            for table in tables for texts in table.extract(x_tolerance=3) if any(texts)]
                assert rows == expected
