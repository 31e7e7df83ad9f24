"""Rendering: every sample becomes a .docx whose text holds every value of the sample, and a PDF whose text
holds them too; no tag is left; hostile values cannot break a document."""

from __future__ import annotations

import datetime as dt
import html
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import changed, form_ids, sample
from conftest import render_file as render

import toolkit
from toolkit import convert
from toolkit.rendering import BLANK
from toolkit.values import chinese_date, decimal_text

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(path: Path) -> str:
    """The text of a .docx as a reader sees it: runs joined, a line break as a newline, a paragraph per line."""
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    xml = re.sub(r"<w:br[^>]*/>", "\n", xml)
    xml = re.sub(r"</w:p>", "\n", xml)
    return html.unescape(re.sub(r"<[^>]+>", "", xml))  # entities and character references alike


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def shown(value: Any) -> str | None:
    """How a sample value appears in the document (None: shown as a checkbox, checked elsewhere)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return decimal_text(value, 4)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return chinese_date(dt.date.fromisoformat(value))
    return value


def printed_leaves(form_id: str) -> list[tuple[str, Any]]:
    """The sample's values that the document prints as they are (the schema's x-not-printed excepted)."""
    skip = NOT_PRINTED_AS_IS | set(toolkit.schema(form_id).get("x-not-printed", []))
    return [(p, v) for p, v in leaves(sample(form_id)) if re.sub(r"\.\d+", "[]", p) not in skip and p not in skip
            and shown(v) not in (None, "")]


def leaves(data: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [leaf for k, v in data.items() for leaf in leaves(v, f"{path}.{k}" if path else k)]
    if isinstance(data, list):
        return [leaf for i, v in enumerate(data) for leaf in leaves(v, f"{path}.{i}")]
    return [(path, data)]


# Fields of notices the layout prints in another form (发文字号 from issuer.code + number; 机关名称 as 署名; a
# finding's severity as 错误 or 警告).
NOT_PRINTED_AS_IS = {"number.year", "number.serial", "issuer.name", "sealed", "findings[].severity"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("rendered")
    return {f: render(f, sample(f), folder / f"{f}.docx") for f in form_ids()}


@pytest.fixture(scope="module")
def pdfs(rendered: dict[str, Path]) -> dict[str, Path]:
    made = convert.to_pdf(list(rendered.values()))
    return {path.stem: path for path in made}


@pytest.mark.parametrize("form_id", form_ids())
def test_every_value_of_the_sample_is_in_the_document(rendered: dict[str, Path], form_id: str) -> None:
    text = squeeze(docx_text(rendered[form_id]))
    missing = [(path, value) for path, value in printed_leaves(form_id) if squeeze(str(shown(value))) not in text]
    assert not missing, f"{form_id}: not in the document: {missing[:5]}"


@pytest.mark.parametrize("form_id", form_ids())
def test_no_tag_is_left(rendered: dict[str, Path], form_id: str) -> None:
    text = docx_text(rendered[form_id])
    assert "{{" not in text and "{%" not in text and "}}" not in text, form_id


@pytest.mark.parametrize("form_id", form_ids())
def test_pdf_text_holds_the_values(pdfs: dict[str, Path], form_id: str) -> None:
    import pdfplumber

    pages, cells = [], []
    with pdfplumber.open(pdfs[form_id]) as pdf:
        for page in pdf.pages:  # the running text, and each table cell's (a wrapped cell is split in the former)
            pages.append(page.extract_text() or "")
            cells += [cell for table in page.extract_tables() for row in table for cell in row if cell]
            page.close()
    running = "".join(re.sub(r"—\d+—$", "", squeeze(page)) for page in pages)  # without the page numbers
    text = "|".join([running] + [squeeze(cell) for cell in cells])
    values = [str(shown(v)) for _, v in printed_leaves(form_id) if len(str(shown(v))) < 40]
    missing = [v for v in values if squeeze(v) not in text]
    assert not missing, f"{form_id}: not in the PDF: {missing[:5]}"


HOSTILE_NAME = "天津A&B<科技>\"有限\"'公司' {{ 7*7 }} {% if 1 %}x{% endif %}\x01\x0c末"


def test_hostile_values_print_literally_and_cut_nothing(tmp_path: Path) -> None:
    form_id = "tj-productivity-center-application"
    data = changed(sample(form_id), {"center.name": HOSTILE_NAME,
                                     "descriptions.service_capability": "第一行\n第二行\r\n第三行"})
    out = render(form_id, data, tmp_path / "hostile.docx")
    text = docx_text(out)
    assert "天津A&B<科技>\"有限\"'公司' {{ 7*7 }} {% if 1 %}x{% endif %}末" in text
    assert "49" not in text.split("末")[0][-20:]
    assert "第一行\n第二行\n第三行" in text
    # nothing after the hostile value was lost: the last section of the form is still there
    assert squeeze(sample(form_id)["district_recommendation"]["opinion"]) in squeeze(text)
    import docx

    assert len(docx.Document(str(out)).tables) == len(docx.Document(str(toolkit.form(form_id).template_path)).tables)


def test_empty_lists_print_none(tmp_path: Path) -> None:
    form_id = "tj-high-tech-enterprise-application"
    data = changed(sample(form_id), {"products": [], "rd_projects": []})
    text = docx_text(render(form_id, data, tmp_path / "empty.docx"))
    assert text.count("\n无\n") >= 2


def test_draft_marks_blanks_for_hand_filling(tmp_path: Path) -> None:
    form_id = "tj-productivity-center-application"
    out = render(form_id, toolkit.skeleton(form_id), tmp_path / "draft.docx", draft=True)
    text = docx_text(out)
    assert text.count(BLANK) > 20 and "{{" not in text


def test_a_crash_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    form_id = "tj-productivity-center-application"
    out = tmp_path / "x.docx"
    out.write_bytes(b"the earlier version")

    def broken_write(self: Path, data: bytes) -> None:
        with open(self, "wb") as handle:
            handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr("pathlib.Path.write_bytes", broken_write)
    with pytest.raises(OSError):
        render(form_id, sample(form_id), out)
    assert out.read_bytes() == b"the earlier version"
    assert [p.name for p in tmp_path.iterdir()] == ["x.docx"]


@pytest.mark.parametrize("form_id", form_ids())
def test_identifiers_labels_and_dates_in_cells_stay_on_one_line(pdfs: dict[str, Path], form_id: str) -> None:
    """A USCC (``91120104MA05K7X10W``) or an ID number never breaks, nor does a label such as 统一社会信用代码,
    nor a date in a value cell (``2016年12月31日``)."""
    import pdfplumber

    from toolkit.form_layout import LABEL_CHARS
    from toolkit.layout_plan import FieldTable, ItemBlocks, form_plan

    with pdfplumber.open(pdfs[form_id]) as pdf:
        lines = [squeeze(line["text"]) for page in pdf.pages for line in page.extract_text_lines()]
    form = toolkit.form(form_id)
    entries = [f for b in ([] if form.is_notice else form_plan(form)) if isinstance(b, (FieldTable, ItemBlocks))
               for r in b.rows for f in getattr(r, "fields", [])]
    dated = {f.path for f in entries if f.node.get("format") == "date"}
    values = [(re.sub(r"\.\d+", "[]", path), v) for path, v in leaves(sample(form_id)) if isinstance(v, str)]
    identifiers = [v for _, v in values if re.fullmatch(r"[0-9A-Z]{18}", v)]
    dates = [str(shown(v)) for path, v in values if path in dated and v]
    assert identifiers or form_id not in ("tj-productivity-center-application", "tj-high-tech-certificate")
    assert dates or form.is_notice or form_id.startswith("cixi")
    assert not [v for v in identifiers + dates if not any(v in line for line in lines)], form_id
    labels = {f.label for f in entries if len(f.label) <= LABEL_CHARS}
    assert not [label for label in labels if not any(label in line for line in lines)], form_id


def test_a_draft_of_any_record_renders_or_says_why() -> None:
    """Values of any kind put anywhere in a sample (a list where money is printed, NaN, a date object …): a draft
    renders, or a ``ShenbaoError`` says why — never another exception (hypothesis)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_schema_check import _ANY_VALUE, _containers

    from toolkit.errors import ShenbaoError

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.sampled_from(form_ids()), st.lists(st.tuples(st.integers(0, 10**6), _ANY_VALUE), min_size=1,
                                                 max_size=3))
    def draft(form_id: str, changes: list[tuple[int, Any]]) -> None:
        data = sample(form_id)
        for where, value in changes:
            parent, key = (containers := _containers(data))[where % len(containers)]
            parent[key] = value
        try:
            toolkit.render(form_id, data, draft=True)
        except ShenbaoError:
            pass

    draft()


def test_a_draft_without_a_compared_date_prints_its_blank(tmp_path: Path) -> None:
    """The evaluation result compares 报送日期 with the deadline: in a draft without the deadline the comparison is
    not taken and the deadline is a line to fill by hand; a deadline of the wrong kind is refused by name."""
    notice = "tj-productivity-center-evaluation-result-notice"
    data = sample(notice)
    del data["submission"]["deadline"]
    text = docx_text(render(notice, data, tmp_path / "draft.docx", draft=True))
    assert "规定报送截止日期为＿" in text
    data["submission"]["deadline"] = ["2020-06-30"]
    with pytest.raises(toolkit.ShenbaoError, match="草稿中有字段的类型不对"):
        toolkit.render(notice, data, draft=True)
