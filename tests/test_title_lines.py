"""A notice's title is broken into lines before Word sees it: names and form titles whole, lines balanced
(GB/T 9704 7.3.3: 回行时词意完整、排列对称), and LibreOffice sets exactly those lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import changed, sample
from conftest import render_file as render
from test_render import docx_text

import toolkit
from toolkit.notice_layout import BREAK_HINT, TITLE_CHARS, _width, title_lines
from toolkit.rendering import context, document, notice_title

NOTICES = [f.id for f in toolkit.forms() if f.is_notice]
LONG_NAME = "天津海泰中科光电技术有限公司滨海新区中新生态城第一分公司"  # 28 characters, more than a line


def _rejection(name: str, form_title: str = "市级高企认定申请书") -> dict:
    return changed(sample("rejection-notice"), {"applicant.name": name, "form.title": form_title})


def test_a_title_line_holds_twenty_characters_of_2hao() -> None:
    assert TITLE_CHARS == 20


def test_the_rejection_title_breaks_after_the_name_not_inside_the_form_title() -> None:
    title = notice_title(toolkit.form("rejection-notice"), _rejection("天津海泰中科光电技术有限公司"))
    assert title.split("\n") == ["关于天津海泰中科光电技术有限公司", "《市级高企认定申请书》不予通过的通知"]


def test_a_name_longer_than_a_line_is_cut_where_a_name_may_be_cut() -> None:
    lines = notice_title(toolkit.form("rejection-notice"), _rejection(LONG_NAME)).split("\n")
    assert "".join(lines) == f"关于{LONG_NAME}《市级高企认定申请书》不予通过的通知"
    assert len(lines) == 3 and all(_width(line) <= TITLE_CHARS for line in lines)
    assert lines[0].endswith("有限公司") and "《市级高企认定申请书》" in lines[2]
    assert max(map(len, lines)) - min(map(len, lines)) <= 4, lines  # balanced


def test_the_recognition_title_does_not_cut_the_company_name() -> None:
    data = changed(sample("tj-high-tech-recognition-notice"), {"enterprise.name": "天津市天海为天科技有限公司"})
    lines = notice_title(toolkit.form("tj-high-tech-recognition-notice"), data).split("\n")
    assert lines == ["关于认定天津市天海为天科技有限公司", "为天津市市级高新技术企业的通知"]


def test_literal_text_breaks_where_the_title_marks_a_word_boundary() -> None:
    data = sample("tj-productivity-center-inclusion-notice")
    title = notice_title(toolkit.form("tj-productivity-center-inclusion-notice"), data)
    assert title.split("\n") == [f"关于公布{data['year']}年纳入天津市市级", "生产力促进中心培育体系名单的通知"]
    assert BREAK_HINT not in title


def test_a_name_that_fits_is_cut_rather_than_leaving_guanyu_alone() -> None:
    data = changed(sample("tj-productivity-center-evaluation-result-notice"),
                   {"center.name": "天津市南开区科技生产力促进中心有限公司"})
    lines = notice_title(toolkit.form("tj-productivity-center-evaluation-result-notice"), data).split("\n")
    assert lines == ["关于天津市南开区科技生产力促进中心", "有限公司绩效评估结果的通知"]


def test_the_certificate_title_stays_one_line() -> None:
    certificate = toolkit.form("tj-high-tech-certificate")
    assert notice_title(certificate, sample("tj-high-tech-certificate")) == "天津市市级高新技术企业证书"


@pytest.mark.parametrize(("pieces", "lines"), [
    ([("关于", False), ("2024", True), ("年度考核验收结果的通知", False)], ["关于2024年度考核验收结果的通知"]),
    ([("关于同意", False), ("慈溪市智能家电产业技术创新服务中心", True), ("建设方案的通知", False)],
     ["关于同意", "慈溪市智能家电产业技术创新服务中心", "建设方案的通知"]),  # a diamond, the name whole
    ([("甲" * 19, False), ("2024", True), ("年乙", False)], ["甲" * 19, "2024年乙"]),  # 年 stays with its year
    ([("关于", False), ("", True), ("的通知", False)], ["关于的通知"]),
    ([("关于", False), ("甲乙\n丙丁", True), ("的通知", False)], ["关于甲乙", "丙丁的通知"]),  # a value's own break
    ([], []),
])
def test_title_lines(pieces: list[tuple[str, bool]], lines: list[str]) -> None:
    assert title_lines(pieces) == lines


def test_no_line_starts_with_a_closing_mark() -> None:
    lines = title_lines([("关于" + "甲" * 17, False), ("乙" * 4, True), ("》丙丁", False)])
    assert not any(line.startswith(("》", "，", "。")) for line in lines) and "乙乙乙乙》" in "".join(lines)


@pytest.mark.parametrize("notice_id", NOTICES)
def test_every_notice_prints_its_title_as_computed(notice_id: str, tmp_path: Path) -> None:
    data = sample(notice_id)
    title = context(data, target=notice_id)["notice_title"]
    assert title and all(_width(line) <= TITLE_CHARS for line in title.split("\n"))
    assert f"\n{title}\n" in docx_text(render(notice_id, data, tmp_path / "n.docx"))  # a line break between lines


def test_libreoffice_sets_exactly_the_computed_lines(tmp_path: Path) -> None:
    import pdfplumber

    data = _rejection(LONG_NAME)
    expected = notice_title(toolkit.form("rejection-notice"), data).split("\n")
    pdf = tmp_path / "n.pdf"
    pdf.write_bytes(toolkit.to_pdf(document("rejection-notice", data)))
    with pdfplumber.open(pdf) as opened:
        lines = [re.sub(r"\s+", "", line["text"]) for line in opened.pages[0].extract_text_lines()]
    start = lines.index(expected[0])
    assert lines[start:start + len(expected)] == expected
