"""Word submissions: a .docx is read straight from its tables and paragraphs, with no LibreOffice, into what its PDF
would give — a rendered form as it is, edited in Word, or a draft filled in by hand; unusable Word files are told
apart in one line."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import changed, sample
from docx import Document
from docx.table import _Cell
from lxml import etree

import toolkit
from toolkit import convert
from toolkit.cli import main
from toolkit.rendering import BLANK, document

FORMS = [f.id for f in toolkit.forms() if not f.is_notice]
FORM = "tj-productivity-center-application"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"


@pytest.fixture(autouse=True)
def no_libreoffice(monkeypatch: pytest.MonkeyPatch) -> None:
    """A .docx is read without LibreOffice: any conversion fails these tests."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("LibreOffice was called for a .docx")

    monkeypatch.setattr(convert, "pdf_of", refuse)
    monkeypatch.setattr(convert, "_convert", refuse)


def value_cell(docx: Any, label: str) -> _Cell:
    """The value cell right of the first cell reading ``label``."""
    for table in docx.tables:
        for row in table.rows:
            cells = row.cells
            for index, cell in enumerate(cells):
                if cell.text.strip() == label:
                    return next(c for c in cells[index + 1:] if c._tc is not cell._tc)
    raise KeyError(label)


def edited(data: bytes, edits: dict[str, str]) -> bytes:
    """The document opened with python-docx, value cells (by their label) given new text, and saved."""
    docx = Document(io.BytesIO(data))
    for label, text in edits.items():
        value_cell(docx, label).text = text
    buffer = io.BytesIO()
    docx.save(buffer)
    return buffer.getvalue()


def with_xml(data: bytes, change: Any) -> bytes:
    """The .docx with ``change`` applied to its parsed ``word/document.xml``."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {item: source.read(item.filename) for item in source.infolist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item, part in parts.items():
            if item.filename == "word/document.xml":
                root = etree.fromstring(part)
                change(root)
                part = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            target.writestr(item, part)
    return out.getvalue()


def replace_run(text: str, xml: str) -> Any:
    """A change of ``with_xml``: the run printing ``text`` gives way to the runs of ``xml`` (WordprocessingML)."""

    def change(root: Any) -> None:
        run = next(t for t in root.iter(f"{{{W}}}t") if t.text == text).getparent()
        wrapper = etree.fromstring(f'<w:x xmlns:w="{W}" xmlns:w14="{W14}">{xml}</w:x>')
        for element in reversed(list(wrapper)):
            run.addnext(element)
        run.getparent().remove(run)

    return change


@pytest.mark.parametrize("form_id", FORMS)
def test_round_trip_gives_back_the_sample(form_id: str) -> None:
    result = toolkit.extract(form_id, toolkit.render(form_id, sample(form_id)), f"{form_id}.docx")
    assert result.missing == []
    assert result.data == sample(form_id)
    assert result.report is not None and result.report.findings == ()


def test_a_document_edited_in_word_gives_the_changed_values_typed() -> None:
    data = edited(toolkit.render(FORM, sample(FORM)), {
        "从业人员总数（人）": "40", "上年度服务收入（万元）": "1,020.5万元", "登记注册日期": "2016年1月5日",
        "是否在天津市登记注册": "☐是　☑否"})
    result = toolkit.extract(FORM, data, "改过的申请表.docx")
    assert result.missing == []
    assert result.data == changed(sample(FORM), {
        "staff.total": 40, "finance.service_revenue_last_year": Decimal("1020.5"),
        "center.registration_date": "2016-01-05", "center.registered_in_tianjin": False})


def test_word_edits_as_word_stores_them() -> None:
    """Tracked changes (the old text deleted, the new inserted in pieces between bookmarks), a box ticked in
    Wingdings 2 (``R``; ``£`` is the empty box), check box content controls, and a content control never filled
    in (its prompt is no value)."""
    data = toolkit.render(FORM, sample(FORM))
    tracked = ('<w:del w:id="91" w:author="张三"><w:r><w:delText>812.5万元</w:delText></w:r></w:del>'
               '<w:ins w:id="92" w:author="张三"><w:r><w:t>9</w:t></w:r><w:proofErr w:type="spellStart"/>'
               '<w:bookmarkStart w:id="0" w:name="_GoBack"/><w:r><w:t>00</w:t></w:r><w:bookmarkEnd w:id="0"/>'
               '<w:r><w:t>万元</w:t></w:r></w:ins>')
    wingdings = '<w:rPr><w:rFonts w:ascii="Wingdings 2" w:hAnsi="Wingdings 2"/></w:rPr>'
    ticked = (f'<w:r>{wingdings}<w:t>£</w:t></w:r><w:r><w:t>是　</w:t></w:r>'
              f'<w:r>{wingdings}<w:t>R</w:t></w:r><w:r><w:t>否</w:t></w:r>')

    def box(checked: bool, glyph: str) -> str:
        return (f'<w:sdt><w:sdtPr><w14:checkbox><w14:checked w14:val="{int(checked)}"/></w14:checkbox></w:sdtPr>'
                f'<w:sdtContent><w:r><w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>')

    boxes = f'{box(False, "☐")}<w:r><w:t>企业类　</w:t></w:r>{box(True, "☒")}<w:r><w:t>事业类</w:t></w:r>'
    prompt = ('<w:sdt><w:sdtPr><w:showingPlcHdr/></w:sdtPr><w:sdtContent><w:r><w:t>单击或点击此处输入文字。'
              '</w:t></w:r></w:sdtContent></w:sdt>')
    for text, xml in (("812.5万元", tracked), ("1560.3万元", prompt)):
        data = with_xml(data, replace_run(text, xml))
    data = edited(data, {"是否在天津市登记注册": "TICKED", "中心类别": "BOXES"})
    data = with_xml(with_xml(data, replace_run("TICKED", ticked)), replace_run("BOXES", boxes))
    result = toolkit.extract(FORM, data, "改过的申请表.docx")
    expected = changed(sample(FORM), {"finance.service_revenue_last_year": Decimal("900"),
                                      "center.registered_in_tianjin": False, "center.type": "事业类"},
                       delete=["finance.total_assets_last_year_end"])
    assert result.data == expected and result.missing == []


def test_a_draft_filled_in_by_hand() -> None:
    """The draft's blank lines filled in Word read back typed; those left blank are not filled, never ``＿``."""
    partial = {"center": {"name": "天津市南开区科技生产力促进中心有限公司", "uscc": "91120104MA05K7X10W"}}
    draft = document(FORM, partial, draft=True)
    assert value_cell(Document(io.BytesIO(draft)), "从业人员总数（人）").text == BLANK
    filled = edited(draft, {"从业人员总数（人）": "36", "上年度服务收入（万元）": "812.5万元",
                            "登记注册日期": "2015年6月18日", "姓名": "李慧敏"})
    result = toolkit.extract(FORM, filled, "草稿.docx")
    data = result.data
    assert data["center"]["name"] == partial["center"]["name"] and data["center"]["uscc"] == partial["center"]["uscc"]
    assert data["staff"]["total"] == 36 and data["finance"]["service_revenue_last_year"] == Decimal("812.5")
    assert data["center"]["registration_date"] == "2015-06-18" and data["center"]["principal"]["name"] == "李慧敏"
    assert "bachelor_or_above" not in data["staff"] and "total_assets_last_year_end" not in data["finance"]
    assert "registered_in_tianjin" not in data["center"] and "email" not in data.get("contact", {})
    assert not data["center"]["address"]  # a plain text left blank: empty, as an empty cell of a PDF
    assert BLANK[0] not in json.dumps(data, ensure_ascii=False, default=str)


def test_json_output_of_a_word_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Pages counted by the explicit page breaks (the cover ends with one); Word keeps no boxes."""
    path = tmp_path / "申请书.docx"
    form_id = "tj-high-tech-enterprise-application"
    path.write_bytes(toolkit.render(form_id, sample(form_id)))
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", form_id, str(path), "--json", "-j", "1"])
    assert exit_info.value.code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["data"]["enterprise"]["name"] == sample(form_id)["enterprise"]["name"]
    assert payload["fields"]["enterprise.uscc"] == {"page": 2, "bbox": None}


def test_a_field_taken_out_in_word_is_missing() -> None:
    docx = Document(io.BytesIO(toolkit.render(FORM, sample(FORM))))
    row = value_cell(docx, "电子邮箱")._tc.getparent()
    row.getparent().remove(row)
    buffer = io.BytesIO()
    docx.save(buffer)
    result = toolkit.extract(FORM, buffer.getvalue(), "少一行.docx")
    assert result.missing == ["/contact/email"] and not result.ok
    assert [f.message for f in result.findings if f.rule == "extract.missing"] == ["在 Word 文件中没有找到此字段"]


def test_a_title_split_over_two_paragraphs_is_the_title_and_a_quoted_one_is_not() -> None:
    title = toolkit.form(FORM).title

    def split(root: Any) -> None:
        text = next(t for t in root.iter(f"{{{W}}}t") if t.text == title)
        paragraph = text.getparent().getparent()
        second = etree.fromstring(etree.tostring(paragraph))
        text.text = title[:12]
        next(second.iter(f"{{{W}}}t")).text = title[12:]
        paragraph.addnext(second)

    def quoted(root: Any) -> None:
        next(t for t in root.iter(f"{{{W}}}t") if t.text == title).text = f"关于《{title}》的填写说明"

    rendered = toolkit.render(FORM, sample(FORM))
    assert toolkit.extract(FORM, with_xml(rendered, split), "两行标题.docx").data == sample(FORM)
    with pytest.raises(toolkit.UnusableInput, match="没有找到表单标题.*的 Word 文件"):
        toolkit.extract(FORM, with_xml(rendered, quoted), "说明.docx")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _workbook() -> bytes:
    import openpyxl

    buffer = io.BytesIO()
    openpyxl.Workbook().save(buffer)
    return buffer.getvalue()


def _without_body_xml() -> bytes:
    with zipfile.ZipFile(io.BytesIO(toolkit.render(FORM, sample(FORM)))) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members["word/document.xml"] = members["word/document.xml"][:5000]
    return _zip(members)


def _encrypted() -> bytes:
    """What Word writes for a .docx with a password: an OLE compound file holding an ``EncryptedPackage`` stream
    (its header and directory entry only; nothing gets further)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entry = "EncryptedPackage".encode("utf-16-le").ljust(64, b"\0")
    return header + entry + bytes(448)


UNUSABLE = {
    "truncated": (lambda: toolkit.render(FORM, sample(FORM))[:4000], "Word 文件已损坏"),
    "broken-xml": (_without_body_xml, "Word 文件已损坏"),
    "another-zip": (lambda: _zip({"readme.txt": b"hello"}), "不是 PDF 或 Word 文件"),
    "a-workbook": (_workbook, "不是 PDF 或 Word 文件"),
    "encrypted": (_encrypted, "Word 文件已加密或为旧版 .doc 格式，请另存为 .docx"),
}


@pytest.mark.parametrize("kind", sorted(UNUSABLE))
def test_unusable_word_files_are_told_apart(kind: str) -> None:
    make, reason = UNUSABLE[kind]
    with pytest.raises(toolkit.UnusableInput) as problem:
        toolkit.extract(FORM, make(), f"{kind}.docx")
    assert reason in problem.value.reason and problem.value.source == f"{kind}.docx"


def test_an_old_doc_file_is_named_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real .doc (Word 97-2003), saved by LibreOffice from the rendered form."""
    monkeypatch.undo()  # this test makes the .doc with LibreOffice itself
    source = tmp_path / "申请表.docx"
    source.write_bytes(toolkit.render(FORM, sample(FORM)))
    subprocess.run([str(convert.soffice_path()), f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                    "--headless", "--convert-to", "doc", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=120)
    with pytest.raises(toolkit.UnusableInput, match="旧版 .doc 格式，请另存为 .docx"):
        toolkit.extract(FORM, (tmp_path / "申请表.doc").read_bytes(), "申请表.doc")


def test_an_external_entity_is_never_resolved(tmp_path: Path) -> None:
    """A .docx whose XML asks for a local file's text (XXE) gets nothing of it into the data."""
    secret = tmp_path / "secret.txt"
    secret.write_text("机密内容", encoding="utf-8")

    def hostile(xml: bytes) -> bytes:
        text = xml.decode("utf-8").replace("<w:document", f'<!DOCTYPE w:document [<!ENTITY x SYSTEM '
                                                          f'"{secret.as_uri()}">]><w:document', 1)
        return text.replace("赵晓峰", "&x;").encode("utf-8")

    with zipfile.ZipFile(io.BytesIO(toolkit.render(FORM, sample(FORM)))) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members["word/document.xml"] = hostile(members["word/document.xml"])
    result = toolkit.extract(FORM, _zip(members), "hostile.docx")
    assert "机密内容" not in json.dumps(result.data, ensure_ascii=False, default=str)
