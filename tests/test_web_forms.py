"""The applicant's side of the web application: the form drawn from its schema (``form_view``), the pages anyone
opens (the programmes, a form, a receipt), and a clerk in Chromium filling in, checking, downloading and submitting
the high-tech application.

Screenshots of the pages are saved when ``SHENBAO_SHOTS`` names a folder (``SHENBAO_SHOTS=/tmp/web-shots``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from toolkit import catalogue, fields
from toolkit.web.form_view import view

ROOT = Path(__file__).resolve().parent.parent
APPLICATIONS = [f for f in catalogue.forms() if not f.is_notice]
NOTICES = [f for f in catalogue.forms() if f.is_notice]
HIGH_TECH = "tj-high-tech-enterprise-application"
SAMPLE = ROOT / "samples" / f"{HIGH_TECH}.json"
HTML = {"Accept": "text/html"}


def nodes(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every node of a view by its dotted field path as ``fields.fields`` names it (``ip[].title``)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any]) -> None:
        if "pointer" in node:
            parts: list[str] = []
            for part in node["pointer"].split("/")[1:]:
                if part == "-":
                    parts[-1] += "[]"
                else:
                    parts.append(part)
            found[".".join(parts)] = node
            if node["kind"] == "choices":  # its items are its options
                found[".".join(parts) + "[]"] = node
        for child in node.get("children", ()):
            walk(child)
        if "item" in node:
            walk(node["item"])

    walk(tree)
    return found


def office_path(form: catalogue.Form, path: str) -> bool:
    return any(path == fields.dotted(p) or path.startswith(fields.dotted(p) + ".")
               or path.startswith(fields.dotted(p) + "[]") for p in form.office_sections)


# --- the form as the page draws it ---------------------------------------------------------------------------

@pytest.mark.parametrize("form", APPLICATIONS, ids=lambda f: f.id)
def test_view_has_every_field_and_splits_the_office_sections(form: catalogue.Form) -> None:
    applicant, office = nodes(view(form)), nodes(view(form, "office"))
    schema = set(fields.fields(form))
    assert set(applicant) | set(office) == schema  # every field of the schema, leaves and sections
    assert not any(office_path(form, p) for p in applicant)  # the office's sections left out …
    assert all(office_path(form, p) for p in office)  # … and given alone to the office
    assert bool(office) == bool(form.office_sections)
    top = [key for key in form.schema["properties"] if f"/{key}" not in form.office_sections]
    assert [n["key"] for n in view(form)["children"]] == top  # the official outline's order
    for node in applicant.values():
        assert node["title"] and node["kind"] in {"object", "list", "text", "long-text", "date", "number",
                                                   "integer", "money", "enum", "boolean", "choices", "texts"}
    json.dumps(view(form), ensure_ascii=False)  # JSON-able as it is


def test_view_kinds_help_and_clauses() -> None:
    form = catalogue.form(HIGH_TECH)
    tree = view(form)
    found = nodes(tree)
    assert tree["policy"] == "天津市市级高新技术企业认定管理办法"
    assert tree["left_out"][0]["title"].startswith("专家评审")  # named when a loaded draft holds it
    assert found["application_date"]["kind"] == "date"
    assert found["tech_field"]["kind"] == "enum" and "电子信息技术" in found["tech_field"]["options"]
    assert found["enterprise.registered_in_tianjin"]["kind"] == "boolean"
    money = found["finance.sales_revenue_2y"]
    assert money["kind"] == "money" and money["unit"] == "万元" and money["exclusive_min"] == 0
    assert found["staff.total"]["kind"] == "integer" and found["staff.total"]["unit"] == "人"
    assert found["ip"]["kind"] == "list" and found["ip"]["item"]["kind"] == "object" and found["ip"]["min_items"] == 1
    assert found["ip[].acquired_date"]["pointer"] == "/ip/-/acquired_date"
    years = found["finance.fiscal_years"]
    assert years["kind"] == "list" and years["item"]["kind"] == "integer" and years["max_items"] == 2
    assert found["descriptions.rd_management"]["kind"] == "long-text"
    assert found["materials.audit_report.provided"]["kind"] == "boolean"  # through $ref
    assert found["staff.rd"]["help"].endswith("须占当年职工总数的7%以上。")
    assert found["staff.rd"]["clause"] == "第九条(三)" and found["ip[].in_force"]["clause"] == "第十条(2)4"
    assert found["enterprise.name"]["required"] and not found["audit"]["required"]
    assert found["contact.phone"]["format"] == "cn-phone"
    office = nodes(view(form, "office"))
    assert set(office) >= {"expert_score", "district_review.conclusion"} and office["expert_score"]["unit"] == "分"
    assert office["district_review.conclusion"]["options"] == ["同意认定", "不予认定"]
    record = nodes(view(catalogue.form("tj-assistance-record")))
    approaches = record["assistance.approaches"]
    assert approaches["kind"] == "choices" and "走访调研" in approaches["options"]
    plan = nodes(view(catalogue.form("tj-tech-innovation-center-plan")))
    assert plan["attachments"]["kind"] == "texts"
    assert plan["capacity_project.subsidy_by_year"]["item"]["kind"] == "money"


def test_view_refuses_an_unknown_part() -> None:
    with pytest.raises(ValueError):
        view(catalogue.form(HIGH_TECH), "staff")  # type: ignore[arg-type]


# --- the pages --------------------------------------------------------------------------------------------------

def test_index_lists_every_application_form_with_its_policy(client: Any) -> None:
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    for form in APPLICATIONS:
        assert f'href="/forms/{form.id}"' in page.text and form.title in page.text
        assert f"《{form.policy}》" in page.text
    for notice in NOTICES:
        assert f'href="/forms/{notice.id}"' not in page.text


@pytest.mark.parametrize("form", APPLICATIONS, ids=lambda f: f.id)
def test_form_page(client: Any, form: catalogue.Form) -> None:
    page = client.get(f"/forms/{form.id}", headers=HTML)
    assert page.status_code == 200
    assert f"<h1>{form.title}</h1>" in page.text and "/static/form.js" in page.text
    embedded = page.text.split('<script type="application/json" id="form-view">', 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded) == view(form)
    for label in ("检查", "下载 Word", "下载 PDF", "保存草稿", "载入草稿或已填文件", "提交"):
        assert f">{label}</button>" in page.text


def test_a_notice_has_no_form_page(client: Any) -> None:
    page = client.get("/forms/tj-high-tech-recognition-notice", headers=HTML)
    assert page.status_code == 404 and "发文机关" in page.text
    assert client.get("/forms/no-such-form", headers=HTML).status_code == 404


def test_receipt_page_shows_that_submission_only(client: Any) -> None:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    answer = client.post(f"/api/forms/{HIGH_TECH}/submissions", json=data)
    assert answer.status_code == 201, answer.text
    path = "/receipts/" + answer.json()["url"].rsplit("/receipts/", 1)[1]
    page = client.get(path, headers=HTML)
    assert page.status_code == 200
    for shown in ("待审", "市级高企认定申请书", data["enterprise"]["name"], f'>{answer.json()["submission"]}<'):
        assert shown in page.text
    assert data["contact"]["phone"] not in page.text and data["ip"][0]["number"] not in page.text  # no data
    assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get("/receipts/" + "A" * 32, headers=HTML).status_code == 404
    assert client.get(path[:-1], headers=HTML).status_code == 404


# --- a clerk in the browser -------------------------------------------------------------------------------------

ROUND_TRIP = """([view, text]) => {
    const box = document.createElement("div");
    const mounted = Shenbao.mountForm(box, view, Shenbao.parseExact(text));
    return Shenbao.stringify(mounted.collect());
}"""


def docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    texts = [p.text for p in document.paragraphs]
    texts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(texts)


def test_a_clerk_fills_checks_downloads_and_submits(server: str, browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shots = Path(os.environ["SHENBAO_SHOTS"]) if os.environ.get("SHENBAO_SHOTS") else None
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    context = browser.new_context(locale="zh-CN", accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{server}/")
        expect(page.get_by_role("link", name="市级高企认定申请书")).to_be_visible()
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "index.png"), full_page=True)
        page.get_by_role("link", name="市级高企认定申请书").click()
        expect(page.get_by_role("heading", name="市级高企认定申请书", level=1)).to_be_visible()
        for form in catalogue.forms():  # every form (the staff enter notices' facts with it) gives back its data
            text = form.sample_path.read_text(encoding="utf-8")
            back = page.evaluate(ROUND_TRIP, [view(form), text])
            given = {k: v for k, v in json.loads(text).items() if f"/{k}" not in form.office_sections}
            assert json.loads(back) == fields.without_blanks(form, given), form.id

        with page.expect_file_chooser() as chooser:  # the clerk continues from a saved draft
            page.get_by_role("button", name="载入草稿或已填文件").click()
        chooser.value.set_files(str(SAMPLE))
        status = page.locator("#form-status")
        expect(status).to_contain_text("已从「tj-high-tech-enterprise-application.json」载入")
        expect(status).to_contain_text("由受理机关填写，已略去")  # the sample's 专家评分 and 区县意见
        expect(page.get_by_role("textbox", name="企业名称", exact=True)).to_have_value(sample["enterprise"]["name"])
        expect(page.get_by_label("所在区县")).to_have_value("滨海新区")
        expect(page.locator("fieldset.section.list").first.locator("ol.rows > li")).to_have_count(3)

        rd = page.get_by_label("其中：研发人员数（人）")
        field = page.locator(".field").filter(has=rd)
        rd.fill("3")  # 3 of 68: 4.41%, under the 7% of 第九条(三)
        finding = field.locator(".findings li.error")
        expect(finding).to_contain_text("研发人员占当年职工总数的 4.41%，低于 7%")
        expect(finding).to_contain_text("第九条(三)")
        expect(rd).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#form-summary")).to_contain_text("1 处错误")
        if shots:
            rd.evaluate("element => element.scrollIntoView({block: 'center'})")
            page.wait_for_timeout(300)
            page.screenshot(path=str(shots / "form.png"))
        rd.fill("17")
        expect(field.locator(".findings li")).to_have_count(0)
        expect(rd).not_to_have_attribute("aria-invalid", "true")

        sales = page.get_by_label("近二个会计年度销售收入总额（万元）")
        sales.fill("5120.30")  # the digits as typed go into the JSON, not a float's
        exact = page.evaluate("() => Shenbao.stringify(Shenbao.page.collect().finance)")
        assert '"sales_revenue_2y":5120.30' in exact and "expert_score" not in page.evaluate(
            "() => Shenbao.stringify(Shenbao.page.collect())")

        page.get_by_role("button", name="检查").click()
        expect(page.locator("#form-summary")).to_contain_text("检查通过")

        with page.expect_download() as download:
            page.get_by_role("button", name="下载 Word").click()
        assert download.value.suggested_filename == "市级高企认定申请书.docx"
        saved = tmp_path / "application.docx"
        download.value.save_as(saved)
        assert sample["enterprise"]["name"] in docx_text(saved)

        page.get_by_role("button", name="提交").click()
        page.get_by_role("button", name="确认提交").click()
        link = page.locator("#receipt-link")
        expect(link).to_be_visible()
        expect(page.locator("#form-receipt")).to_contain_text("待审")
        href = link.get_attribute("href") or ""
        assert re.fullmatch(rf"{re.escape(server)}/receipts/[A-Za-z0-9_-]{{16,}}", href)
        page.goto(href)
        expect(page.get_by_role("heading", name="申请回执")).to_be_visible()
        expect(page.locator("main")).to_contain_text("待审")
        expect(page.locator("main")).to_contain_text(sample["enterprise"]["name"])
        if shots:
            page.screenshot(path=str(shots / "receipt.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()
