"""Extraction of submissions that are not the toolkit's own PDFs: every form's sample as applicants produce it
(letter paper, wider margins, narrower label columns, dates and units typed by hand, a cover page with a running
header and footer, ticks typed as ``√ ■ ☒``, printed again by a viewer, saved as HTML and printed by Chromium,
exported as PDF/A-2, printed from .odt), field for field against the sample — and every field that comes back
wrong carries a finding. Hostile files are refused within a budget."""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import render_file, sample
from extract_variants import CHROMIUM, DOCX_VARIANTS, EXPORTS, PDF_VARIANTS, PDFA, print_html, reprint, score, soffice

import toolkit
from toolkit import convert
from toolkit.cli import main
from toolkit.extraction import _check_form, _Extractor, extract, extract_many
from toolkit.pdf_reading import BUDGET, Budget, Line, OverBudget, Row, read_pdf
from toolkit.values import read_printed

FORMS = [f.id for f in toolkit.forms() if not f.is_notice]
VARIANTS = [*DOCX_VARIANTS, *PDF_VARIANTS, *EXPORTS]


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every form's sample in every variant: LibreOffice runs once per kind of output (the .docx variants and
    the .odt files are printed in one run), while Chromium prints the HTML pages one by one beside it."""
    folder = tmp_path_factory.mktemp("variants")
    plain = [render_file(form_id, sample(form_id), folder / f"{form_id}.docx") for form_id in FORMS]
    documents = [change(docx, folder / f"{docx.stem}.{name}.docx") for name, change in DOCX_VARIANTS.items()
                 for docx in plain]
    pages = soffice(plain, "html", folder, "chromium")
    with ThreadPoolExecutor(1) as pool:
        printed = pool.map(print_html, pages, [p.with_suffix(".pdf") for p in pages]) if CHROMIUM else iter(())
        odts = soffice(plain, "odt", folder, "odt")
        pdfs = {p.name.removesuffix(".pdf"): p for p in convert.to_pdf(plain + documents + odts)}
        pdfs |= {p.name.removesuffix(".pdf"): p for p in soffice(plain, PDFA, folder, "pdfa")}
        pdfs |= {p.name.removesuffix(".pdf"): p for p in printed}
    made = {(form_id, name): pdfs[f"{form_id}.{name}"] for form_id in FORMS for name in [*DOCX_VARIANTS, *EXPORTS]
            if f"{form_id}.{name}" in pdfs}
    made |= {(form_id, "cairo"): reprint(pdfs[form_id], folder / f"{form_id}.cairo.pdf") for form_id in FORMS}
    return made


def no_chromium() -> None:
    """Skipped without Chromium on a developer's machine; in CI (CI=true, make installs it) a failure."""
    if os.environ.get("CI"):
        pytest.fail("Chromium 未安装（make install 用 apt 安装 chromium）")
    pytest.skip("Chromium 未安装（apt install chromium）")


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_comes_back_and_no_wrong_field_is_silent(variants: dict[tuple[str, str], Path],
                                                                variant: str) -> None:
    if (FORMS[0], variant) not in variants:
        no_chromium()
    accuracy: dict[str, float] = {}
    for form_id in FORMS:
        result = extract(form_id, variants[form_id, variant].read_bytes(), f"{form_id}.{variant}.pdf")
        fields, wrong, silent = score(sample(form_id), result)
        accuracy[form_id] = 1 - len(wrong) / fields
        assert silent == [], (form_id, silent)
        assert not wrong or not result.ok
    assert min(accuracy.values()) >= 0.9, accuracy
    assert sum(accuracy.values()) / len(accuracy) >= 0.98, accuracy


@pytest.mark.parametrize(("text", "node", "value"), [
    ("√是 □否", {"type": "boolean"}, True),
    ("□是 ■否", {"type": "boolean"}, False),
    ("☒是 ☐否", {"type": "boolean"}, True),
    ("✓是 ☐否", {"type": "boolean"}, True),
    ("□是 □否", {"type": "boolean"}, None),
    ("√", {"type": "boolean"}, True),
    ("□企业类 ✔事业类", {"type": "string", "enum": ["企业类", "事业类"]}, "事业类"),
    ("二〇一七年二月二十四日", {"type": "string", "format": "date"}, "2017-02-24"),
    ("二〇二四年十一月三十日", {"type": "string", "format": "date"}, "2024-11-30"),
    ("2018/9/20", {"type": "string", "format": "date"}, "2018-09-20"),
    ("2018.09.28", {"type": "string", "format": "date"}, "2018-09-28"),
    ("360平方米", {"type": "number", "title": "物理空间面积（㎡）"}, 360),
    ("360㎡", {"type": "number", "title": "物理空间面积（㎡）"}, 360),
    ("36人", {"type": "integer", "title": "职工总数（人）"}, 36),
    ("360元", {"type": "number", "title": "营业收入（万元）"}, "360元"),
])
def test_values_typed_by_hand_are_read(text: str, node: dict[str, Any], value: Any) -> None:
    assert read_printed(text, node) == value


def _tokens(variants: dict[tuple[str, str], Path], form_id: str) -> list[Any]:
    return read_pdf(variants[form_id, "letter"].read_bytes(), "x.pdf")[0]


def _run(form_id: str, tokens: list[Any]) -> _Extractor:
    target = toolkit.form(form_id)
    _check_form(target, tokens, "x.pdf", "PDF")
    extractor = _Extractor(target, tokens)
    extractor.run()
    return extractor


def _rows(tokens: list[Any], first: str) -> list[int]:
    return [i for i, t in enumerate(tokens) if isinstance(t, Row) and t.cells[0] == first]


def test_a_lost_row_and_a_stray_line_in_a_list_are_findings(variants: dict[tuple[str, str], Path]) -> None:
    form_id = "cixi-tech-innovation-center-plan"
    tokens = _tokens(variants, form_id)
    assert _run(form_id, list(tokens)).unsure == {}
    lost = list(tokens)
    del lost[_rows(lost, "2")[0]]  # item 2 of the first list lost at a page break: item 3 moves up
    assert "base_unit.provincial_carriers" in _run(form_id, lost).unsure
    stray = list(tokens)
    row = _rows(stray, "2")[0]
    stray.insert(row, Line("某个未识别的页脚", stray[row].page, stray[row].top - 1))
    extractor = _run(form_id, stray)
    assert len(extractor.data["base_unit"]["provincial_carriers"]) == 3  # the list goes on past the line …
    assert "夹有一行文字" in extractor.unsure["base_unit.provincial_carriers"]  # … and says so


def test_unsure_fields_make_the_extraction_not_ok(variants: dict[tuple[str, str], Path]) -> None:
    result = extract("xm-enterprise-profile", variants["xm-enterprise-profile", "letter"].read_bytes())
    assert result.ok
    result.unsure["/difficulties"] = "未能确定此字段读取正确：测试，请核对"
    assert not result.ok
    assert [f.rule for f in result.findings if f.path == "/difficulties"] == ["extract.unsure"]
    assert {"form", "file", "data", "findings", "fields"} == set(result.as_dict())


def test_running_headers_footers_and_page_numbers_are_skipped(variants: dict[tuple[str, str], Path]) -> None:
    tokens = read_pdf(variants["cixi-innovation-consortium-plan", "furniture"].read_bytes())[0]
    texts = [t.text.replace(" ", "") for t in tokens if isinstance(t, Line)]
    assert not [t for t in texts if "页共" in t or t == "2024年度科技计划项目申报材料" or "以下无正文" in t]


def test_cairo_reprint_lines_are_whole(variants: dict[tuple[str, str], Path]) -> None:
    """pdfplumber places a cairo reprint's CJK glyphs below the Latin ones of the same line: by baseline, the
    line ``联系电话：022-27401234`` is one line again."""
    tokens = read_pdf(variants["tj-productivity-center-application", "cairo"].read_bytes())[0]
    assert "联系电话：022-27401234" in [t.text.replace(" ", "") for t in tokens if isinstance(t, Line)]


def hostile_pdf(megabytes: int = 200) -> bytes:
    """A small PDF whose one content stream inflates to ``megabytes``."""
    content = zlib.compress(b"0 0 m " * (megabytes * 2**20 // 6), 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_pdf_bomb_is_refused_in_one_line_and_a_run_goes_on(tmp_path: Path, variants: dict[tuple[str, str], Path],
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(hostile_pdf(120))
    assert bomb.stat().st_size < 400_000
    form_id = "tj-productivity-center-application"
    with pytest.raises(SystemExit) as exit_info:
        main(["extract", form_id, str(bomb)])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2 and captured.out == "" and captured.err.count("\n") == 1
    assert "解压后超过 50 MB 的上限" in captured.err
    good = variants[form_id, "letter"]
    results = extract_many([(form_id, good), (form_id, bomb), (form_id, good)], jobs=2)
    assert [type(r).__name__ for r in results] == ["Extraction", "OverBudget", "Extraction"]


def test_pages_and_time_have_a_budget(variants: dict[tuple[str, str], Path]) -> None:
    data = variants["tj-high-tech-enterprise-application", "letter"].read_bytes()
    with pytest.raises(OverBudget, match="超过 2 页的上限"):
        read_pdf(data, "x.pdf", Budget(pages=2))
    with pytest.raises(OverBudget, match="秒的时间上限"):
        read_pdf(data, "x.pdf", Budget(seconds=0.01))
    assert read_pdf(data, "x.pdf", BUDGET)[1] > 2


def test_the_exports_are_what_they_claim(variants: dict[tuple[str, str], Path]) -> None:
    """The PDF/A variant is PDF/A-2 (its XMP says so); the .odt variant went through an .odt file."""
    form_id = FORMS[0]
    assert b"<pdfaid:part>2</pdfaid:part>" in variants[form_id, "pdfa"].read_bytes()
    assert variants[form_id, "odt"].with_suffix(".odt").is_file()


def test_a_chromium_print_reads_as_typed(variants: dict[tuple[str, str], Path]) -> None:
    """Chromium's Type 3 fonts name ``工`` by the Kangxi radical ``⼯`` and a space by ``\\x01``; a table row
    broken across pages has no rule at the break, and the table's header is repeated atop the next page."""
    if ("tj-productivity-center-change-report", "chromium") not in variants:
        no_chromium()
    tokens = read_pdf(variants["tj-productivity-center-change-report", "chromium"].read_bytes())[0]
    texts = [t.text if isinstance(t, Line) else "".join(c or "" for c in t.cells) for t in tokens]
    assert not [t for t in texts if any("\u2e80" <= c <= "\u2fdf" or c < " " and c not in "\n\t" for c in t)]
    second = [t for t in tokens if isinstance(t, Row) and t.cells[0] == "2"]
    assert len(second) == 1 and "满足为企业服务的需要。" in (second[0].cells[-1] or "").replace("\n", "")
