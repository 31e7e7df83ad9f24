"""Notices are official documents after GB/T 9704-2012: checked in the XML of every rendered notice."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from conftest import changed, sample
from conftest import render_file as render
from test_render import docx_text

import toolkit
from toolkit.decision import decide

NOTICES = [f.id for f in toolkit.forms() if f.is_notice]
OFFICIAL = [n for n in NOTICES if n != "tj-high-tech-certificate"]
TWIPS_PER_MM = 1440 / 25.4


def test_the_catalogue_has_its_ten_notices() -> None:
    assert sorted(NOTICES) == sorted([
        "tj-high-tech-certificate", "tj-high-tech-recognition-notice", "tj-high-tech-publicity-list",
        "tj-productivity-center-inclusion-notice", "tj-productivity-center-evaluation-result-notice",
        "tj-tech-innovation-center-start-notice", "cixi-plan-approval-notice", "cixi-annual-assessment-result-notice",
        "xm-rd-subsidy-notice", "rejection-notice"])


@pytest.fixture(scope="module")
def notices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Each notice's sample rendered: (document.xml, settings.xml + footers)."""
    folder = tmp_path_factory.mktemp("notices")
    result = {}
    for notice_id in NOTICES:
        path = render(notice_id, sample(notice_id), folder / f"{notice_id}.docx")
        with zipfile.ZipFile(path) as archive:
            others = "".join(archive.read(n).decode("utf-8") for n in archive.namelist()
                             if n.startswith("word/footer") or n == "word/settings.xml")
            result[notice_id] = (archive.read("word/document.xml").decode("utf-8"), others)
    return result


def _mm(twips: str) -> float:
    return round(int(twips) / TWIPS_PER_MM, 1)


@pytest.mark.parametrize("notice_id", OFFICIAL)
def test_a4_and_gb9704_margins(notices: dict, notice_id: str) -> None:
    xml = notices[notice_id][0]
    size = re.search(r'<w:pgSz w:w="(\d+)" w:h="(\d+)"', xml)
    assert size and (_mm(size.group(1)), _mm(size.group(2))) == (210.0, 297.0)
    margins = dict(re.findall(r'w:(top|bottom|left|right)="(\d+)"', re.search(r"<w:pgMar[^>]*>", xml).group(0)))
    assert {k: _mm(v) for k, v in margins.items()} == {"top": 37.0, "bottom": 35.0, "left": 28.0, "right": 26.0}


@pytest.mark.parametrize("notice_id", OFFICIAL)
def test_masthead_red_rule_and_document_number(notices: dict, notice_id: str) -> None:
    xml = notices[notice_id][0]
    data = sample(notice_id)
    mark = re.search(r"<w:p>(?:(?!</w:p>).)*" + re.escape(data["issuer"]["mark"]), xml)
    assert mark and 'w:color w:val="FF0000"' in mark.group(0), "发文机关标志 in red"
    assert 'w:eastAsia="方正小标宋简体"' in mark.group(0)
    number = f"{data['issuer']['code']}〔{data['number']['year']}〕{data['number']['serial']}号"
    paragraph = re.search(r"<w:p>(?:(?!</w:p>).)*" + re.escape(number) + r".*?</w:p>", xml)
    assert paragraph, f"发文字号 {number} with 六角括号"
    assert re.search(r'<w:bottom w:val="single" w:sz="\d+" w:space="\d+" w:color="FF0000"/>', paragraph.group(0)), \
        "red rule under the 发文字号"


@pytest.mark.parametrize("notice_id", OFFICIAL)
def test_title_addressee_body_fonts(notices: dict, notice_id: str) -> None:
    xml = notices[notice_id][0]
    assert re.search(r'w:eastAsia="方正小标宋简体"/>(?:<[^>]+>)*<w:sz w:val="44"/>', xml), "2号小标宋 title"
    assert re.search(r'w:eastAsia="仿宋_GB2312"/>(?:<[^>]+>)*<w:sz w:val="32"/>', xml), "3号仿宋 body"
    assert sample(notice_id)["addressee"] + "：" in docx_text_of(xml)


@pytest.mark.parametrize("notice_id", OFFICIAL)
def test_date_signature_and_imprint(notices: dict, notice_id: str) -> None:
    xml = notices[notice_id][0]
    data = sample(notice_id)
    text = docx_text_of(xml)
    y, m, d = (int(x) for x in data["date"].split("-"))
    assert f"{y}年{m}月{d}日" in text, "成文日期 in Arabic numerals, no leading zeros"
    assert data["signatory"] in text
    p_y, p_m, p_d = (int(x) for x in data["printed_date"].split("-"))
    assert f"{data['printed_by']}" in text and f"{p_y}年{p_m}月{p_d}日印发" in text, "版记"
    if data["copy_to"]:
        assert "抄送：" + "，".join(data["copy_to"]) + "。" in text
    assert "tblpYSpec" in xml, "版记 anchored to the foot of the page"


@pytest.mark.parametrize("notice_id", OFFICIAL)
def test_page_numbers_odd_right_even_left(notices: dict, notice_id: str) -> None:
    _, others = notices[notice_id]
    assert "<w:evenAndOddHeaders/>" in others or "<w:evenAndOddHeaders " in others
    assert others.count("PAGE") >= 2 and "— " in others


def docx_text_of(xml: str) -> str:
    xml = re.sub(r"</w:p>", "\n", re.sub(r"<w:br[^>]*/>", "\n", xml))
    return re.sub(r"<[^>]+>", "", xml).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def test_publicity_list_is_one_document_with_a_table_row_per_enterprise(tmp_path: Path) -> None:
    data = sample("tj-high-tech-publicity-list")
    out = render("tj-high-tech-publicity-list", data, tmp_path / "list.docx")
    import docx

    tables = docx.Document(str(out)).tables
    rows = max(len(t.rows) for t in tables)
    assert rows == len(data["enterprises"]) + 1
    text = docx_text(out)
    assert "10个工作日" in text
    assert all(e["name"] in text for e in data["enterprises"])


def test_subsidy_amount_in_figures_and_daxie(tmp_path: Path) -> None:
    data = changed(sample("xm-rd-subsidy-notice"), {"amount": 12.345})
    text = docx_text(render("xm-rd-subsidy-notice", data, tmp_path / "subsidy.docx"))
    assert "12.345万元" in text and "壹拾贰万叁仟肆佰伍拾元整" in text


def test_decide_approves_a_passing_application(tmp_path: Path) -> None:
    application = sample("tj-high-tech-enterprise-application")
    decided = decide("tj-high-tech-enterprise-application", application, {},
                     sample("tj-high-tech-recognition-notice"))
    report, notice_id, data = decided.report, decided.notice.id, decided.data
    assert report.ok and notice_id == "tj-high-tech-recognition-notice"
    assert data["enterprise"]["name"] == application["enterprise"]["name"]
    assert toolkit.validate(notice_id, data).ok
    text = docx_text(render(notice_id, data, tmp_path / "approve.docx"))
    assert application["enterprise"]["name"] in text


def test_decide_rejects_citing_every_failed_rule(tmp_path: Path) -> None:
    application = changed(sample("tj-high-tech-enterprise-application"),
                          {"finance.rd_expense_2y": 50.40, "finance.sales_revenue_2y": 1008.2,
                           "finance.sales_revenue_last_year": 600, "expert_score": 60})
    decided = decide("tj-high-tech-enterprise-application", application, {}, sample("rejection-notice"))
    report, notice_id, data = decided.report, decided.notice.id, decided.data
    assert not report.ok and notice_id == "rejection-notice"
    assert toolkit.validate(notice_id, data).ok
    text = docx_text(render(notice_id, data, tmp_path / "reject.docx"))
    for finding in report.errors:
        assert finding.message in text and finding.clause in text
    assert "4.999%，低于 5%" in text and "第九条(四)1" in text and "第九条(六)" in text
    assert application["enterprise"]["name"] in text
