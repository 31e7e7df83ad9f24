"""The staff's side of the web application in a real browser (Debian's Chromium, headless, driven by Playwright):
a staff member signs in, finds a submission, enters the office's part, approves it, issues the notice as a
background job and downloads it numbered; an anonymous visitor reaches no staff page and no one else's receipt.
Screenshots of each page land in the test's folder (``SHENBAO_SHOTS`` to keep them)."""

from __future__ import annotations

import io
import json
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from conftest import ROOT, sample
from webapp import PASSWORD, STAFF

from toolkit.files import json_text

FORM = "tj-high-tech-enterprise-application"
OFFICE_PART = ("expert_score", "district_review")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("SHENBAO_SHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def submit(base: str, form: str, data: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{base}/api/forms/{form}/submissions", data=json_text(data).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as refused:
        raise AssertionError(refused.read().decode("utf-8")) from None


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/staff/")
    assert "/staff/login" in page.url  # sent to sign in first
    page.get_by_label("用户名").fill(STAFF)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/staff/")


def test_an_anonymous_visitor_reaches_no_staff_page_and_no_other_receipt(server: str, browser: Any,
                                                                          shots: Path) -> None:
    receipt = submit(server, "xm-enterprise-request", sample("xm-enterprise-request"))
    page = browser.new_page()
    for path in ("/staff/", "/staff/submissions/1", "/staff/intake", "/staff/issue", "/staff/jobs",
                 "/staff/export.xlsx"):
        page.goto(server + path)
        assert "/staff/login" in page.url, path
        assert page.get_by_role("heading", name="工作人员登录").is_visible()
    page.screenshot(path=str(shots / "staff-login.png"), full_page=True)
    answer = page.goto(f"{server}/api/staff/submissions")
    assert answer is not None and answer.status == 401
    token = receipt["url"].rsplit("/", 1)[1]
    other = token[:-2] + ("xy" if not token.endswith("xy") else "yz")
    answer = page.goto(f"{server}/receipts/{other}")
    assert answer is not None and answer.status == 404
    assert sample("xm-enterprise-request")["enterprise"]["name"] not in page.content()
    page.close()


def test_staff_approve_a_submission_and_download_its_numbered_notice(server: str, browser: Any,
                                                                       shots: Path) -> None:
    application = {k: v for k, v in sample(FORM).items() if k not in OFFICE_PART}
    receipt = submit(server, FORM, application)
    name = application["enterprise"]["name"]
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    sign_in(page, server)
    page.get_by_label("申请单位或信用代码").fill(name[:6])
    page.get_by_role("button", name="筛选").click()
    page.screenshot(path=str(shots / "staff-ledger.png"), full_page=True)
    page.get_by_role("link", name=name).first.click()
    page.wait_for_selector("#office-part input")
    review = sample(FORM)["district_review"]
    page.get_by_label("专家评审综合评分").fill("78.5")
    for title, key in (("区县工作小组", "working_group"), ("收到申请材料日期", "received_date"),
                       ("专家评审日期", "expert_review_date"), ("意见说明", "opinion"),
                       ("公示开始日期", "publicity_start"), ("公示结束日期", "publicity_end"),
                       ("报请审核检查日期", "submitted_date")):
        page.get_by_label(title, exact=True).fill(str(review[key]))
    page.get_by_label("认定意见", exact=True).select_option(review["conclusion"])
    page.get_by_label("通过", exact=True).check()
    page.get_by_label("说明（写入台账；不予通过时写明理由）").fill("专家评审78.5分，公示无异议")
    page.screenshot(path=str(shots / "staff-submission.png"), full_page=True)
    page.get_by_role("button", name="记录决定").click()
    page.wait_for_load_state()
    assert "通过 · " + STAFF in page.locator("main").inner_text()

    page.goto(f"{server}/staff/issue?notice=tj-high-tech-recognition-notice")
    facts = json.loads((ROOT / "examples" / "ledger-recognition.json").read_text(encoding="utf-8"))
    for title, value in (("成文日期", facts["date"]), ("印发日期", facts["printed_date"]),
                         ("公示开始日期", facts["publicity"]["start"]), ("公示结束日期", facts["publicity"]["end"]),
                         ("报请审核检查日期", facts["review"]["submitted_date"]),
                         ("审核通过日期", facts["review"]["approved_date"]),
                         ("发证日期", facts["certificate"]["issue_date"]),
                         ("有效期至", facts["certificate"]["valid_until"])):
        page.get_by_label(title).fill(value)  # its accessible name ends in 必填's * when required
    page.screenshot(path=str(shots / "staff-issue.png"), full_page=True)
    page.get_by_role("button", name="开始签发").click()
    page.wait_for_url("**/staff/jobs/*")
    link = page.get_by_role("link", name="下载结果（zip）")
    link.wait_for(state="visible", timeout=120_000)
    assert "发出 1 份" in page.locator("#job-message").inner_text()
    page.screenshot(path=str(shots / "staff-job.png"), full_page=True)
    with page.expect_download() as waiting:
        link.click()
    archive = zipfile.ZipFile(io.BytesIO(Path(waiting.value.path()).read_bytes()))
    (notice,) = [n for n in archive.namelist() if n.endswith(".docx")]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(archive.read(notice))).paragraphs)
    assert "津滨政发〔2016〕96号" in text and name in text

    page.goto(receipt["url"])  # the applicant's link now shows the decision and the notice's number
    shown = page.locator("main").inner_text()
    assert "通过" in shown and "津滨政发〔2016〕96号" in shown
    page.close()
