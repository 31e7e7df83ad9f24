"""The JSON API of ``shenbao serve``: the same answers as the commands, files that open, a receipt that opens one
submission only, staff operations behind a sign-in and a CSRF token, and bad requests answered with a 4xx and a
Chinese message — never a 500."""

from __future__ import annotations

import io
import json
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from conftest import ROOT, changed, sample
from webapp import STAFF, signed_in

import toolkit
import toolkit.files

FORM = "tj-high-tech-enterprise-application"
JSON = {"content-type": "application/json"}


def body(data: Any) -> bytes:
    """``data`` as the JSON a browser or client sends (exact decimals as numbers)."""
    return toolkit.files.json_text(data).encode("utf-8")


def post(test_client: Any, url: str, data: Any, **kwargs: Any) -> Any:
    return test_client.post(url, content=body(data), headers={**JSON, **kwargs.pop("headers", {})}, **kwargs)


def test_validate_answers_as_the_command_does(client: Any, tmp_path: Path, shenbao: Any) -> None:
    failing = changed(sample(FORM), {"staff.rd": 4})
    path = tmp_path / "a.json"
    path.write_bytes(body(failing))
    answer = post(client, f"/api/forms/{FORM}/validate", failing)
    assert answer.status_code == 200
    command = json.loads(shenbao("validate", "--json", FORM, str(path))[1])
    assert answer.json() == {**command, "file": None}
    assert not answer.json()["ok"]
    assert any(f["path"] == "/staff/rd" and f["clause"] for f in answer.json()["findings"])


def test_a_draft_is_checked_without_asking_for_blank_fields(client: Any) -> None:
    answer = post(client, f"/api/forms/{FORM}/validate?stage=draft", {"enterprise": {"name": "天津某公司"}})
    assert answer.status_code == 200 and answer.json()["ok"], answer.json()


def test_render_gives_a_docx_and_a_pdf(client: Any) -> None:
    data = sample(FORM)
    answer = post(client, f"/api/forms/{FORM}/render?format=docx", data)
    assert answer.status_code == 200
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(answer.content)).paragraphs)
    text += "\n".join(c.text for t in docx.Document(io.BytesIO(answer.content)).tables for r in t.rows
                      for c in r.cells)
    assert data["enterprise"]["name"] in text
    pdf = post(client, f"/api/forms/{FORM}/render?format=pdf", data)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert toolkit.extract(FORM, pdf.content).data == toolkit.extract(FORM, toolkit.to_pdf(answer.content)).data


def test_render_refuses_an_application_with_errors_unless_a_draft(client: Any) -> None:
    failing = changed(sample(FORM), {"staff.rd": 4})
    refused = post(client, f"/api/forms/{FORM}/render", failing)
    assert refused.status_code == 422 and "研发" in refused.json()["detail"]
    assert post(client, f"/api/forms/{FORM}/render?draft=true", failing).status_code == 200


def test_two_pdfs_at_once_are_both_made(tmp_path: Path) -> None:
    """Two downloads of a PDF at the same moment: each gets its own, whole (the pool has a worker for each)."""
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient
    from webapp import make_app

    certificate = "tj-high-tech-certificate"
    names = ["天津甲科技有限公司", "天津乙科技有限公司"]
    given = [changed(sample(certificate), {"enterprise.name": name}) for name in names]
    with TestClient(make_app(tmp_path, office_workers=2), base_url="https://testserver") as test_client:
        with ThreadPoolExecutor(2) as threads:
            answers = list(threads.map(lambda data: post(test_client, f"/api/forms/{certificate}/render?format=pdf",
                                                         data), given))
    for answer, name in zip(answers, names, strict=True):
        assert answer.status_code == 200 and answer.content.startswith(b"%PDF"), answer.text[:300]
        assert answer.content.rstrip().endswith(b"%%EOF")
        text = subprocess.run(["pdftotext", "-", "-"], input=answer.content, capture_output=True, check=True).stdout
        assert name in text.decode("utf-8") and names[1 - names.index(name)] not in text.decode("utf-8")


def test_extract_answers_as_the_command_does(client: Any, tmp_path: Path, shenbao: Any) -> None:
    pdf = toolkit.to_pdf(toolkit.render(FORM, sample(FORM)))
    (tmp_path / "a.pdf").write_bytes(pdf)
    answer = client.post(f"/api/forms/{FORM}/extract", files={"file": ("申请书.pdf", pdf, "application/pdf")})
    assert answer.status_code == 200, answer.text
    command = json.loads(shenbao("extract", "--json", FORM, str(tmp_path / "a.pdf"))[1])
    assert answer.json()["data"] == command["data"] == json.loads(body(sample(FORM)))
    assert answer.json()["findings"] == command["findings"]


@pytest.mark.parametrize(("name", "content", "status", "words"), [
    ("a.exe", b"MZ\x90\x00" + b"\x00" * 100, 415, "只接受"),
    ("a.pdf", b"", 400, "为空"),
    ("a.pdf", b"%PDF-1.7\n" + b"0" * 3000, 400, "a.pdf"),
    ("a.docx", b"PK\x03\x04word/" + b"\x00" * 100, 400, "a.docx"),
])
def test_bad_uploads_are_refused_with_a_reason(client: Any, name: str, content: bytes, status: int,
                                               words: str) -> None:
    answer = client.post(f"/api/forms/{FORM}/extract", files={"file": (name, content, "application/octet-stream")})
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]


def test_an_upload_past_the_limit_is_refused(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from webapp import make_app

    with TestClient(make_app(tmp_path, max_upload=1000), base_url="https://testserver") as small:
        answer = small.post(f"/api/forms/{FORM}/extract", files={"file": ("a.pdf", b"%PDF-" + b"0" * 2000)})
    assert answer.status_code == 413 and "上限" in answer.json()["detail"]


@pytest.mark.parametrize(("content", "headers", "status"), [
    (b"{not json", JSON, 400), (b"[1, 2]", JSON, 400), (b'{"a": 1}', {"content-type": "text/plain"}, 415),
    (b"", JSON, 400), (b'{"a": NaN}', JSON, 400),
])
def test_bad_bodies_are_4xx_with_a_message(client: Any, content: bytes, headers: dict[str, str],
                                           status: int) -> None:
    answer = client.post(f"/api/forms/{FORM}/validate", content=content, headers=headers)
    assert answer.status_code == status
    assert answer.json()["detail"]


def test_an_unknown_form_is_404_with_suggestions(client: Any) -> None:
    answer = post(client, "/api/forms/tj-high-tech-enterprise-aplication/validate", {})
    assert answer.status_code == 404 and FORM in answer.json()["detail"]


def test_a_submission_gives_a_receipt_that_opens_only_itself(client: Any) -> None:
    first = post(client, f"/api/forms/{FORM}/submissions", sample(FORM))
    assert first.status_code == 201, first.text
    receipt = first.json()
    token = receipt["url"].rsplit("/", 1)[1]
    assert receipt["url"].startswith("https://testserver/receipts/") and len(token) >= 16
    other = post(client, "/api/forms/xm-enterprise-request/submissions", sample("xm-enterprise-request")).json()
    mine = client.get(f"/api/receipts/{token}").json()
    assert mine["submission"] == receipt["submission"] != other["submission"]
    assert mine["status"] == "待审" and mine["data"]["enterprise"]["name"] == sample(FORM)["enterprise"]["name"]
    assert "decided_by" not in json.dumps(mine)
    for guess in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 32, token[:15]):
        assert client.get(f"/api/receipts/{guess}").status_code == 404
    assert client.get(f"/receipts/{token}", headers={"accept": "text/html"}).status_code == 200


def test_an_application_with_errors_is_not_submitted(client: Any) -> None:
    answer = post(client, f"/api/forms/{FORM}/submissions", changed(sample(FORM), {"staff.rd": 4}))
    assert answer.status_code == 422 and "未提交" in answer.json()["detail"]
    signed_in(client)
    assert client.get("/api/staff/submissions").json() == []


def test_a_notice_cannot_be_submitted(client: Any) -> None:
    notice = "tj-high-tech-recognition-notice"
    assert post(client, f"/api/forms/{notice}/submissions", sample(notice)).status_code == 400


def test_staff_operations_need_a_sign_in_and_a_csrf_token(client: Any) -> None:
    for url in ("/api/staff/submissions", "/api/staff/submissions/1", "/api/staff/export", "/api/staff/jobs/1"):
        assert client.get(url).status_code == 401, url
    assert client.post("/api/staff/submissions/1/decision?verdict=通过").status_code == 401
    page = client.get("/staff/", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/staff/login")
    csrf = signed_in(client)
    post(client, f"/api/forms/{FORM}/submissions", sample(FORM))
    assert client.get("/api/staff/submissions").status_code == 200
    refused = client.post("/api/staff/submissions/1/decision?verdict=通过")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = client.post("/api/staff/submissions/1/decision?verdict=通过", headers={"x-csrf-token": csrf + "x"})
    assert wrong.status_code == 403


def test_the_session_cookie_is_secure_and_http_only(client: Any) -> None:
    client.get("/staff/login")
    token = client.cookies.get("shenbao_login_csrf")
    answer = client.post("/staff/login", data={"name": STAFF, "password": "wrong password", "csrf": token},
                         follow_redirects=False)
    assert answer.status_code == 401 and "不正确" in answer.text
    from webapp import PASSWORD

    client.get("/staff/login")
    token = client.cookies.get("shenbao_login_csrf")
    answer = client.post("/staff/login", data={"name": STAFF, "password": PASSWORD, "csrf": token},
                         follow_redirects=False)
    cookie = answer.headers["set-cookie"].lower()
    assert "shenbao_session=" in cookie and "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    assert client.post("/staff/login", data={"name": STAFF, "password": PASSWORD, "csrf": "forged"},
                       follow_redirects=False).status_code == 403


def test_a_sign_in_goes_back_only_to_this_site(client: Any) -> None:
    client.get("/staff/login")
    from webapp import PASSWORD

    answer = client.post("/staff/login", data={"name": STAFF, "password": PASSWORD, "next": "//evil.example/x",
                                               "csrf": client.cookies.get("shenbao_login_csrf")},
                         follow_redirects=False)
    assert answer.headers["location"] == "/staff/"


def _wait(test_client: Any, job_url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job = test_client.get(job_url).json()
        if job["state"] in ("已完成", "失败") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.2)


def test_staff_decide_and_issue_the_numbered_notice(client: Any) -> None:
    csrf = signed_in(client)
    headers = {"x-csrf-token": csrf}
    application = {k: v for k, v in sample(FORM).items() if k not in ("expert_score", "district_review")}
    submitted = post(client, f"/api/forms/{FORM}/submissions", application).json()
    number = submitted["submission"]
    pending = client.post(f"/api/staff/submissions/{number}/decision?verdict=通过", headers=headers)
    assert pending.status_code == 409 and "待办" in pending.json()["detail"]  # no expert score yet
    review = {k: sample(FORM)[k] for k in ("expert_score", "district_review")}
    from webapp import OFFICE  # noqa: F401

    decided = client.post(f"/staff/submissions/{number}/decision",
                          data={"verdict": "通过", "note": "专家评审通过", "csrf": csrf,
                                "review": body(review).decode()},
                          follow_redirects=False)
    assert decided.status_code == 303, decided.text
    shown = client.get(f"/api/staff/submissions/{number}").json()
    assert shown["status"] == "通过" and shown["decision"]["decided_by"] == STAFF
    assert [d["name"] for d in shown["documents"]] == ["市级高企认定申请书.docx", "市级高企认定申请书.json"]
    facts = json.loads((ROOT / "examples" / "ledger-recognition.json").read_text(encoding="utf-8"))
    started = post(client, "/api/staff/issue?notice=tj-high-tech-recognition-notice&status=通过", facts,
                   headers=headers)
    assert started.status_code == 202, started.text
    job = _wait(client, started.json()["url"])
    assert job["state"] == "已完成", job
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["download"]).content))
    (name,) = [n for n in archive.namelist() if n.endswith(".docx")]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(archive.read(name))).paragraphs)
    assert "津滨政发〔2016〕96号" in text and sample(FORM)["enterprise"]["name"] in text
    again = _wait(client, post(client, "/api/staff/issue?notice=tj-high-tech-recognition-notice", facts,
                               headers=headers).json()["url"])
    assert "发出 0 份，跳过 1 份" in again["message"]  # never twice
    receipt = client.get(f"/api/receipts/{submitted['url'].rsplit('/', 1)[1]}").json()
    assert receipt["decision"]["document_number"] == "津滨政发〔2016〕96号"


def test_the_issuing_page_takes_the_offices_own_template(client: Any) -> None:
    """签发通知 with an uploaded template: linted first (a problem is a 422 naming it, and no job), then each notice
    on the office's layout, its 发文字号 in the footer; without a file, the built-in layout."""
    from test_templates import footer_text, office_template

    from toolkit.ledger.models import Decision, Submission, now

    csrf, notice, moment = signed_in(client), "tj-high-tech-recognition-notice", now()
    client.app.state.ledger.write(lambda session: session.add(Submission(
        form=FORM, file_name="1.pdf", sha256="1" * 64, status="通过", applicant_name="海泰", data=sample(FORM),
        received_at=moment, updated_at=moment,
        decision=Decision(verdict="通过", decided_by=STAFF, decided_at=moment, notice=notice))))
    page = client.get(f"/staff/issue?notice={notice}")
    assert 'enctype="multipart/form-data"' in page.text and "本机关模板（.docx，可选）" in page.text
    facts = (ROOT / "examples" / "ledger-recognition.json").read_text(encoding="utf-8")
    fields = {"csrf": csrf, "notice": notice, "status": "通过", "facts": facts}
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    wrong = office_template(notice, "{{ doc_numbr }}")
    refused = client.post("/staff/issue", data=fields, files={"template": ("我们的通知.docx", wrong, docx_type)},
                          follow_redirects=False)
    assert refused.status_code == 422 and "我们的通知.docx" in refused.text and "doc_numbr" in refused.text
    own = office_template(notice, "{{ doc_number }}")
    started = client.post("/staff/issue", data=fields, files={"template": ("我们的通知.docx", own, docx_type)},
                          follow_redirects=False)
    assert started.status_code == 303, started.text
    job = _wait(client, "/api/staff/jobs/" + started.headers["location"].rsplit("/", 1)[1])
    assert job["state"] == "已完成" and "发出 1 份" in job["message"], job
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["download"]).content))
    (name,) = [n for n in archive.namelist() if n.endswith(".docx")]
    assert footer_text(archive.read(name)) == "津滨政发〔2016〕96号"
    again = client.post("/staff/issue", data=fields, files={"template": ("", b"", "application/octet-stream")},
                        follow_redirects=False)  # no file chosen: the built-in layout (nothing left to issue)
    assert again.status_code == 303, again.text


def test_the_issuing_api_takes_the_offices_own_template(client: Any) -> None:
    """``POST /api/staff/issue`` as a form: the facts as JSON text beside the 本机关模板, linted first (422 naming
    the problem, no job), then the notices on it; a facts field that is no JSON is a 400, never a 500."""
    from test_templates import footer_text, office_template

    from toolkit.ledger.models import Decision, Submission, now

    csrf, notice, moment = signed_in(client), "tj-high-tech-recognition-notice", now()
    client.app.state.ledger.write(lambda session: session.add(Submission(
        form=FORM, file_name="1.pdf", sha256="2" * 64, status="通过", applicant_name="海泰", data=sample(FORM),
        received_at=moment, updated_at=moment,
        decision=Decision(verdict="通过", decided_by=STAFF, decided_at=moment, notice=notice))))
    url, headers = f"/api/staff/issue?notice={notice}&status=通过", {"x-csrf-token": csrf}
    facts = (ROOT / "examples" / "ledger-recognition.json").read_text(encoding="utf-8")
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    wrong = {"template": ("我们的通知.docx", office_template(notice, "{{ doc_numbr }}"), docx_type)}
    refused = client.post(url, headers=headers, data={"facts": facts}, files=wrong)
    assert refused.status_code == 422 and "我们的通知.docx" in refused.text and "doc_numbr" in refused.text
    broken = client.post(url, headers=headers, data={"facts": "{not json"}, files=wrong)
    assert broken.status_code == 400, broken.text
    own = {"template": ("我们的通知.docx", office_template(notice, "{{ doc_number }}"), docx_type)}
    started = client.post(url, headers=headers, data={"facts": facts}, files=own)
    assert started.status_code == 202, started.text
    job = _wait(client, started.json()["url"])
    assert job["state"] == "已完成" and "发出 1 份" in job["message"], job
    archive = zipfile.ZipFile(io.BytesIO(client.get(job["download"]).content))
    (name,) = [n for n in archive.namelist() if n.endswith(".docx")]
    assert footer_text(archive.read(name)) == "津滨政发〔2016〕96号"


def test_staff_intake_keeps_the_files(client: Any) -> None:
    csrf = signed_in(client)
    pdf = toolkit.to_pdf(toolkit.render(FORM, sample(FORM)))
    answer = client.post(f"/api/staff/intake?form={FORM}", headers={"x-csrf-token": csrf},
                         files=[("files", ("a.pdf", pdf, "application/pdf")),
                                ("files", ("b.pdf", pdf, "application/pdf")),
                                ("files", ("c.pdf", pdf[:3000], "application/pdf"))])
    assert answer.status_code == 201, answer.text
    assert [o["status"] for o in answer.json()] == ["待审", "重复", "无法读取"]
    shown = client.get("/api/staff/submissions/1").json()
    (kept,) = shown["documents"]
    assert client.get(kept["url"]).content == pdf


def test_the_ledger_exports_to_excel(client: Any) -> None:
    import openpyxl

    signed_in(client)
    post(client, f"/api/forms/{FORM}/submissions", sample(FORM))
    answer = client.get("/api/staff/export")
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    values = [c.value for row in book.active.iter_rows() for c in row]
    assert sample(FORM)["enterprise"]["name"] in values


def test_a_failing_application_is_rejected_and_the_rejection_cites_the_rules(client: Any) -> None:
    csrf = signed_in(client)
    failing = changed(sample(FORM), {"staff.rd": 4})
    path_pdf = toolkit.to_pdf(toolkit.render(FORM, failing, draft=True))
    taken = client.post(f"/api/staff/intake?form={FORM}", headers={"x-csrf-token": csrf},
                        files=[("files", ("bad.pdf", path_pdf, "application/pdf"))]).json()
    assert taken[0]["status"] == "待补正"
    refused = client.post(f"/api/staff/submissions/{taken[0]['submission']}/decision?verdict=通过",
                          headers={"x-csrf-token": csrf})
    assert refused.status_code == 409 and "研发" in refused.json()["detail"]
    rejected = client.post(f"/api/staff/submissions/{taken[0]['submission']}/decision",
                           params={"verdict": "不予通过", "note": "研发人员比例不足"}, headers={"x-csrf-token": csrf})
    assert rejected.status_code == 200 and rejected.json()["notice"] == "rejection-notice"


def test_shenbao_serve_answers_and_user_add_takes_no_password_argument(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import urllib.request

    shenbao = [str(Path(sys.executable).with_name("shenbao"))]
    db = str(tmp_path / "ledger.db")
    added = subprocess.run([*shenbao, "user", "add", "李科员", "--db", db], input="long enough 1\n",
                           capture_output=True, text=True)
    assert added.returncode == 0 and "李科员" in added.stdout
    short = subprocess.run([*shenbao, "user", "add", "赵科员", "--db", db], input="short\n", capture_output=True,
                           text=True)
    assert short.returncode == 2 and "密码至少8个字符" in short.stderr
    again = subprocess.run([*shenbao, "user", "add", "李科员", "--db", db], input="long enough 2\n",
                           capture_output=True, text=True)
    assert again.returncode == 2 and "已存在" in again.stderr
    assert "--password " not in subprocess.run([*shenbao, "user", "add", "--help"], capture_output=True,
                                               text=True).stdout
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*shenbao, "serve", "--port", str(port), "--db", db], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as answer:
                    page = answer.read().decode("utf-8")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "shenbao serve did not start"
                time.sleep(0.2)
        assert "市级高企认定申请书" in page
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_web_application_on_a_postgresql_ledger(tmp_path: Path, pg_url: str) -> None:
    from fastapi.testclient import TestClient
    from webapp import make_app

    with TestClient(make_app(tmp_path, pg_url), base_url="https://testserver") as on_pg:
        receipt = post(on_pg, f"/api/forms/{FORM}/submissions", sample(FORM)).json()
        csrf = signed_in(on_pg)
        (listed,) = on_pg.get("/api/staff/submissions").json()
        assert listed["submission"] == receipt["submission"] and listed["status"] == "待审"
        shown = on_pg.get(f"/api/staff/submissions/{receipt['submission']}").json()
        docx_bytes = on_pg.get(shown["documents"][0]["url"]).content
        assert docx.Document(io.BytesIO(docx_bytes)).paragraphs  # the kept file comes back whole (bytea)
        decided = on_pg.post(f"/api/staff/submissions/{receipt['submission']}/decision",
                             params={"verdict": "通过"}, headers={"x-csrf-token": csrf})
        assert decided.status_code == 200, decided.text


def test_a_filled_word_file_or_sheet_is_imported_to_continue(client: Any) -> None:
    import openpyxl

    word = toolkit.render(FORM, sample(FORM))
    answer = client.post(f"/api/forms/{FORM}/import", files={"file": ("申请书.docx", word)})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == json.loads(body(sample(FORM)))
    book = openpyxl.Workbook()
    book.active.append(["企业基本信息 · 企业名称", "enterprise.uscc", "企业联系人 · 姓名"])
    book.active.append(["厦门某科技有限公司", "91350206MA31K8QX58", "林晓"])
    book.active.append(["第二家", "", ""])
    sheet = io.BytesIO()
    book.save(sheet)
    answer = client.post("/api/forms/xm-enterprise-profile/import", files={"file": ("企业.xlsx", sheet.getvalue())})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"enterprise": {"name": "厦门某科技有限公司", "uscc": "91350206MA31K8QX58"},
                                     "contact": {"name": "林晓"}}
    assert answer.json()["notes"] == ["表格有 2 行，只取第一行（第 2 行）"]
    unknown = io.BytesIO()
    book.active.cell(1, 1, "不是字段")
    book.save(unknown)
    refused = client.post("/api/forms/xm-enterprise-profile/import", files={"file": ("x.xlsx", unknown.getvalue())})
    assert refused.status_code == 400 and "不是字段" in refused.json()["detail"]
