"""Signed notices that can be checked (issue 17): a PAdES signature with a seal over the signatory, a verification
code and QR code on every issued notice, and the check of a file — its signature, its code, the ledger's record.
Each way a document can fail fails with its own reason: one changed byte, a page added after signing, a code copied
onto another document, a revoked number, an untrusted signer; poppler's pdfsig (an independent verifier) accepts
the signature, and the QR code, read back from a rendering of the signed PDF, holds the printed code and link."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from conftest import ROOT, changed, sample

from toolkit import ledger, signing, verification_code
from toolkit.convert import pdfs_of
from toolkit.files import json_text, load_data
from toolkit.identifiers import uscc_check_character
from toolkit.ledger.models import Decision, Submission, now
from toolkit.rendering import document
from toolkit.sinks import MemorySink

FORM, RECOGNITION = "tj-high-tech-enterprise-application", "tj-high-tech-recognition-notice"
EXAMPLES = ROOT / "examples"
BASE = "https://kjj.example.gov.cn"
OFFICE = {**load_data(EXAMPLES / "ledger-office.toml"), "verify_url": BASE}
ISSUER = "天津市滨海新区人民政府"


def _application(n: int) -> dict[str, Any]:
    """The sample application as the ``n``-th enterprise's (a valid 统一社会信用代码 of its own)."""
    first = f"9112011600000{n:04d}"
    return changed(sample(FORM), {"enterprise.name": f"天津第{n}号科技有限公司",
                                  "enterprise.uscc": first + uscc_check_character(first)})


@dataclass
class Issued:
    """Three notices issued from a ledger and signed with a test key; another key, untrusted."""

    db: str
    key: bytes
    certificate: Path
    stranger: bytes
    docx: dict[str, bytes]  # by enterprise name
    pdf: dict[str, bytes]  # signed, by enterprise name
    codes: dict[str, str]
    folder: Path

    def trust(self) -> list[Any]:
        return signing.certificates(self.certificate.read_bytes())


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    folder = tmp_path_factory.mktemp("signing")
    db = str(folder / "ledger.db")
    names = [f"天津第{n}号科技有限公司" for n in (1, 2, 3)]

    def submit(session: Any) -> None:
        moment = now()
        session.add_all([Submission(form=FORM, file_name=f"{n}.pdf", sha256=f"{n:064d}", status="通过",
                                    applicant_name=f"天津第{n}号科技有限公司", data=_application(n),
                                    received_at=moment, updated_at=moment,
                                    decision=Decision(verdict="通过", decided_by="张三", decided_at=moment,
                                                      notice=RECOGNITION)) for n in (1, 2, 3)])

    sink = MemorySink()
    with ledger.Ledger(db) as book:
        book.write(submit)
        result = ledger.issue(book, RECOGNITION, OFFICE, load_data(EXAMPLES / "ledger-recognition.json"), sink)
        assert [o.status for o in result.outcomes] == ["written"] * 3, result.outcomes
        with book.reading() as session:
            decisions = {d.submission.applicant_name: d for d in session.query(Decision)}
            codes = {name: str(decisions[name].verification_code) for name in names}
            files = {name: str(decisions[name].document_name) for name in names}
    docx = {name: sink.documents[files[name]] for name in names}
    key = signing.keygen(ISSUER)
    certificate = folder / "office.pem"
    certificate.write_bytes(signing.certificate_pem(key))
    signer = signing.Signer(key)
    pdf = {name: signer.sign(made) for name, made in zip(names, pdfs_of([docx[n] for n in names]), strict=True)}
    return Issued(db, key, certificate, signing.keygen("冒名的机关"), docx, pdf, codes, folder)


def _check(issued: Issued, pdf: bytes, trust: list[Any] | None = None) -> signing.Verdict:
    with ledger.Ledger(issued.db) as book:
        return ledger.verify_document(pdf, issued.trust() if trust is None else trust, book)


FIRST, SECOND, THIRD = (f"天津第{n}号科技有限公司" for n in (1, 2, 3))


# --- the verification code ----------------------------------------------------------------------------------


def test_the_code_hashes_the_notices_canonical_json() -> None:
    data = {"b": Decimal("78.50"), "a": [1, "津〔2016〕"], "c": None, "d": True, "e": Decimal("2E+1")}
    assert verification_code.canonical(data) == '{"a":[1,"津〔2016〕"],"b":78.5,"c":null,"d":true,"e":20}'.encode()
    assert verification_code.digest(data) == hashlib.sha256(verification_code.canonical(data)).hexdigest()
    code = verification_code.Code("津滨高企2016-001", "ab" * 32, BASE + "/")
    assert code.text == "津滨高企2016-001-abababababab"
    assert code.link == f"{BASE}/verify/津滨高企2016-001-abababababab"
    assert verification_code.split(code.qr_content) == ("津滨高企2016-001", "abababababab")
    assert verification_code.split("津滨高企2016-001") is None


def test_every_issued_notice_carries_its_code_and_the_ledger_its_data(issued: Issued) -> None:
    with ledger.Ledger(issued.db) as book, book.reading() as session:
        for decision in session.query(Decision):
            data = decision.notice_data
            assert data is not None and decision.content_sha256 == verification_code.digest(data)
            assert decision.verification_code == f"{decision.document_number}-{decision.content_sha256[:12]}"
            assert decision.document_sha256 == hashlib.sha256(issued.docx[decision.submission.applicant_name]
                                                              ).hexdigest()
    text = verification_code.document_text(issued.pdf[FIRST])
    assert verification_code.printed_code(text) == issued.codes[FIRST]
    assert verification_code.shows(text, f"查验网址：{BASE}/verify/{issued.codes[FIRST]}")
    assert re.match(r"津滨政发〔2016〕9[6-8]号-[0-9a-f]{12}$", issued.codes[FIRST])


def test_a_rendered_sample_gets_no_code() -> None:
    """Only an issued notice carries a code: a notice rendered from its data alone (a sample's made-up number)
    does not."""
    docx = document(RECOGNITION, sample(RECOGNITION))
    assert b"shenbao-verification" not in docx and "验证码" not in _xml(docx)


def _xml(docx: bytes) -> str:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


# --- genuine --------------------------------------------------------------------------------------------------


def test_a_signed_notice_is_genuine(issued: Issued) -> None:
    verdict = _check(issued, issued.pdf[FIRST])
    assert verdict.genuine, verdict.problems
    assert verdict.intact and verdict.whole and verdict.trusted and verdict.test_key
    assert verdict.signer == ISSUER and verdict.key == signing.fingerprint(issued.trust()[0])
    assert signing.TEST_MARK in verdict.reason
    assert verdict.code == issued.codes[FIRST]
    record = verdict.record
    assert record is not None and record.to == FIRST and record.status == "有效"
    assert record.date == "2016年6月15日" and record.valid_until == "2019年6月14日"
    assert record.number == issued.codes[FIRST].rsplit("-", 1)[0]


def test_pdfsig_sees_a_valid_signature(issued: Issued) -> None:
    pdfsig = shutil.which("pdfsig")
    if pdfsig is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("poppler-utils (pdfsig) is not installed")
    path = issued.folder / "signed.pdf"
    path.write_bytes(issued.pdf[FIRST])
    out = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, timeout=60, check=False).stdout
    assert "Signature is Valid." in out and "Total document signed" in out, out
    assert "ETSI.CAdES.detached" in out and ISSUER in out


def test_the_qr_code_holds_the_printed_code_and_link(issued: Issued) -> None:
    if importlib.util.find_spec("cv2") is None and not os.environ.get("CI"):
        pytest.skip("OpenCV (the [ocr] extra) is not installed")
    import cv2  # the [ocr] extra
    import numpy as np

    path = issued.folder / "qr.pdf"
    path.write_bytes(issued.pdf[SECOND])
    pages = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    last = re.search(r"Pages:\s+(\d+)", pages)
    assert last is not None
    png = subprocess.run(["pdftoppm", "-png", "-r", "200", "-f", last.group(1), "-l", last.group(1), str(path)],
                         capture_output=True, check=True, timeout=120).stdout
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    content, points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert points is not None and content, "no QR code found on the last page"
    text = verification_code.document_text(issued.pdf[SECOND])
    printed = verification_code.printed_code(text)
    assert printed == issued.codes[SECOND]
    assert unquote(content) == f"{BASE}/verify/{printed}"  # the link printed under it
    assert verification_code.shows(text, f"查验网址：{unquote(content)}")


# --- not genuine, each for its own reason ---------------------------------------------------------------------


def test_one_changed_byte_is_an_alteration(issued: Issued) -> None:
    signed = issued.pdf[FIRST]
    where = signed.index(b"LibreOffice") + 3  # the producer's name, inside the signed bytes
    altered = signed[:where] + bytes([signed[where] ^ 0x01]) + signed[where + 1:]
    assert len(altered) == len(signed) and sum(a != b for a, b in zip(altered, signed, strict=True)) == 1
    assert _check(issued, altered).kinds() == ["altered"]


def test_a_page_added_after_signing_is_caught(issued: Issued) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(issued.pdf[FIRST]))
    content = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 720 Td (forged) Tj ET"))
    page = generic.DictionaryObject({
        generic.pdf_name("/Type"): generic.pdf_name("/Page"),
        generic.pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        generic.pdf_name("/Resources"): generic.DictionaryObject(), generic.pdf_name("/Contents"): content})
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    verdict = _check(issued, out.getvalue())
    assert verdict.kinds() == ["added"] and verdict.intact and not verdict.whole


def test_a_code_copied_onto_another_document_is_caught(issued: Issued) -> None:
    """The second enterprise's notice, made with the first one's code and QR code, even signed with the office's
    own key: the code's record is another enterprise's document."""
    with ledger.Ledger(issued.db) as book, book.reading() as session:
        first, second = (session.query(Decision).filter(Decision.verification_code == issued.codes[n]).one()
                         for n in (FIRST, SECOND))
        code = verification_code.Code(str(first.document_number), str(first.content_sha256), BASE)
        data, number = dict(second.notice_data or {}), dict((first.notice_data or {})["number"])
    renumbered = {**data, "number": number}  # the first notice's number printed on it too: the ledger tells
    signer = signing.Signer(issued.key)
    made = pdfs_of([verification_code.stamp(document(RECOGNITION, d), code) for d in (data, renumbered)])
    for pdf in made:
        verdict = _check(issued, signer.sign(pdf))
        assert verdict.code == issued.codes[FIRST] and verdict.signed and verdict.trusted
        assert verdict.kinds() == ["copied"], verdict.problems
    assert FIRST in verdict.problems[0].message  # the ledger's record: whose the code is


def test_a_revoked_number_is_caught(issued: Issued, shenbao: Any) -> None:
    number = issued.codes[THIRD].rsplit("-", 1)[0]
    code, out, err = shenbao("ledger", "revoke", number, "--reason", "企业提供虚假材料", "--by", "王科长",
                             "--db", issued.db)
    assert code == 0 and f"已撤销：天津市市级高新技术企业认定通知 {number}" in out, err
    verdict = _check(issued, issued.pdf[THIRD])
    assert verdict.kinds() == ["revoked"] and "企业提供虚假材料" in verdict.problems[0].message
    assert verdict.record is not None and verdict.record.status == "已撤销"
    again = shenbao("ledger", "revoke", number, "--reason", "再次", "--db", issued.db)
    assert again[0] == 2 and "已于" in again[2]
    code, out, _ = shenbao("ledger", "history", str(verdict.record.submission), "--db", issued.db)
    assert "撤销" in out and "企业提供虚假材料" in out


def test_a_signature_by_an_untrusted_key_is_caught(issued: Issued) -> None:
    pdf = pdfs_of([issued.docx[FIRST]])[0]
    verdict = _check(issued, signing.Signer(issued.stranger).sign(pdf))
    assert verdict.kinds() == ["untrusted"] and verdict.signer == "冒名的机关"
    assert signing.verify(issued.pdf[FIRST], []).kinds() == ["untrusted"]  # nobody trusted: nobody's signature


def test_an_unsigned_an_unknown_and_a_mismatched_code(issued: Issued) -> None:
    pdf = pdfs_of([issued.docx[FIRST]])[0]
    assert _check(issued, pdf).kinds() == ["unsigned"]
    with ledger.Ledger(issued.db) as book, book.reading() as session:
        data = dict(session.query(Decision).filter(Decision.verification_code == issued.codes[FIRST]).one()
                    .notice_data or {})
    signer = signing.Signer(issued.key)
    unknown = changed(data, {"number.serial": 5})  # a number the ledger never gave
    touched = changed(data, {"tech_field": "生物与新医药"})  # the issued number, other contents
    made = pdfs_of([verification_code.issued(RECOGNITION, d, document(RECOGNITION, d), OFFICE)
                    for d in (unknown, touched)])
    assert _check(issued, signer.sign(made[0])).kinds() == ["unknown"]
    assert _check(issued, signer.sign(made[1])).kinds() == ["mismatch"]


def test_a_file_that_is_no_pdf_is_unusable(issued: Issued) -> None:
    with pytest.raises(signing.UnusablePdf):
        signing.verify(issued.docx[FIRST])
    with pytest.raises(signing.UnusablePdf):
        signing.verify(b"%PDF-1.7\n" + b"\0" * 100)


# --- the commands ---------------------------------------------------------------------------------------------


def test_keygen_sign_and_verify_commands(issued: Issued, shenbao: Any, tmp_path: Path) -> None:
    secret = "正确的马 battery"
    password = tmp_path / "pw.txt"
    password.write_text(secret + "\n", encoding="utf-8")
    key = tmp_path / "test.p12"
    code, out, err = shenbao("office", "keygen", "-o", str(key), "--name", ISSUER, "--password-file", str(password))
    assert code == 0 and key.is_file() and (tmp_path / "test.pem").is_file(), err
    unsigned = tmp_path / "notice.pdf"
    unsigned.write_bytes(pdfs_of([issued.docx[SECOND]])[0])
    code, out, err = shenbao("sign", str(unsigned), "--key", str(key), "--password-file", str(password))
    signed = tmp_path / "notice-signed.pdf"
    assert code == 0 and signed.is_file() and "测试证书签名，不具效力" in out, err
    assert secret not in out + err
    code, out, err = shenbao("verify", str(signed), "--trust", str(tmp_path / "test.pem"), "--db", issued.db)
    assert code == 0 and "✓ 真实有效" in out and f"发给{SECOND}" in out and "状态：有效" in out, out + err
    code, out, _ = shenbao("verify", str(signed), "--db", issued.db)
    assert code == 1 and "（untrusted）" in out
    code, _, err = shenbao("verify", str(password))
    assert code == 2 and "不是 PDF" in err
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not it\n", encoding="utf-8")
    code, _, err = shenbao("sign", str(unsigned), "--key", str(key), "--password-file", str(wrong), "-o",
                           str(tmp_path / "x.pdf"))
    assert code == 2 and "密码不对" in err and "not it" not in err


def test_decide_signs_its_pdf(shenbao: Any, tmp_path: Path) -> None:
    key = tmp_path / "office.p12"
    key.write_bytes(signing.keygen(ISSUER))
    profile = tmp_path / "office.toml"
    profile.write_text(f'verify_url = "{BASE}"\n' + (EXAMPLES / "office.toml").read_text(encoding="utf-8"),
                       encoding="utf-8")
    out = tmp_path / "notice.docx"
    code, stdout, err = shenbao("decide", FORM, str(ROOT / "samples" / f"{FORM}.json"), "--office", str(profile),
                                "--decision", str(EXAMPLES / "recognition-decision.json"), "-o", str(out),
                                "--sign", "--key", str(key))
    assert code == 0, err
    pdf = (tmp_path / "notice.pdf").read_bytes()
    verdict = ledger.verify_document(pdf, signing.certificates(key.read_bytes()))
    assert verdict.genuine and verdict.code is not None and verdict.code.startswith("津滨政发〔2016〕96号-")
    assert "验证码：" in _xml(out.read_bytes())


# --- the web page -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(issued: Issued) -> Any:
    from fastapi.testclient import TestClient

    from toolkit.web import Settings, create_app

    profile = issued.folder / "office.toml"
    profile.write_text('verify_url = "https://kjj.example.gov.cn"\ncertificates = ["office.pem"]\n'
                       + (EXAMPLES / "ledger-office.toml").read_text(encoding="utf-8"), encoding="utf-8")
    with TestClient(create_app(Settings(db=issued.db, office=profile)), base_url="https://testserver") as client:
        yield client


def test_the_public_page_of_a_code(issued: Issued, web: Any) -> None:
    page = web.get(f"/verify/{issued.codes[SECOND]}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "有效" in page.text and SECOND in page.text
    assert "天津市市级高新技术企业认定通知" in page.text and "2019年6月14日" in page.text
    assert "张三" not in page.text and "统一社会信用代码" not in page.text  # nothing the document does not show
    missing = web.get("/verify/津滨政发〔2016〕5号-000000000000", headers={"accept": "text/html"})
    assert missing.status_code == 404 and "查无此验证码" in missing.text


def test_the_upload_box_checks_a_pdf(issued: Issued, web: Any) -> None:
    good = web.post("/verify", files={"file": ("通知.pdf", issued.pdf[FIRST], "application/pdf")},
                    headers={"accept": "text/html"})
    assert good.status_code == 200 and "真实有效" in good.text and FIRST in good.text
    altered = issued.pdf[FIRST].replace(b"LibreOffice", b"LibreOfficf", 1)
    bad = web.post("/verify", files={"file": ("通知.pdf", altered, "application/pdf")}, headers={"accept": "text/html"})
    assert bad.status_code == 200 and "不能确认为真" in bad.text and "签名之后文件内容被改动" in bad.text
    word = web.post("/verify", files={"file": ("通知.docx", issued.docx[FIRST], "application/pdf")},
                    headers={"accept": "text/html"})
    assert word.status_code == 415


# --- signed batches: a folder, the ledger, the web's issuing job -----------------------------------------------


def test_a_batch_signs_every_pdf_with_the_key_loaded_once(issued: Issued, shenbao: Any, tmp_path: Path) -> None:
    key = tmp_path / "office.p12"
    key.write_bytes(issued.key)
    out = tmp_path / "证书"
    code, said, err = shenbao("batch", "tj-high-tech-certificate", str(EXAMPLES / "tj-high-tech-certificates.csv"),
                              "-o", str(out), "--sign", "--key", str(key), "-j", "1", "--quiet")
    assert code == 0, err
    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == len(sorted(out.glob("*.docx"))) > 1
    for pdf in pdfs:
        verdict = signing.verify(pdf.read_bytes(), issued.trust())
        assert verdict.genuine and verdict.test_key, (pdf, verdict.problems)
    assert shenbao("batch", "tj-high-tech-certificate", str(EXAMPLES / "tj-high-tech-certificates.csv"), "-o",
                   str(tmp_path / "x"), "--sign")[0] == 2  # --sign without --key: said, nothing written
    assert not (tmp_path / "x").exists()


def test_a_signed_batch_from_the_ledger_records_the_signed_pdf(tmp_path: Path, shenbao: Any) -> None:
    db = str(tmp_path / "ledger.db")
    moment = now()
    with ledger.Ledger(db) as book:
        book.write(lambda session: session.add(Submission(
            form=FORM, file_name="1.pdf", sha256="1" * 64, status="通过", applicant_name=FIRST,
            data=_application(1), received_at=moment, updated_at=moment,
            decision=Decision(verdict="通过", decided_by="张三", decided_at=moment, notice=RECOGNITION))))
    key = tmp_path / "office.p12"
    key.write_bytes(signing.keygen(ISSUER))
    (tmp_path / "office.pem").write_bytes(signing.certificate_pem(key.read_bytes()))
    code, _, err = shenbao("batch", RECOGNITION, "--from-ledger", "--db", db, "--office",
                           str(EXAMPLES / "ledger-office.toml"), "--decision",
                           str(EXAMPLES / "ledger-recognition.json"), "-o", str(tmp_path / "通知"), "--sign", "--key",
                           str(key), "--quiet")
    assert code == 0, err
    (pdf,) = (tmp_path / "通知").glob("*.pdf")
    with ledger.Ledger(db) as book, book.reading() as session:
        (decision,) = session.query(Decision)
        assert decision.document_name == pdf.name
        assert decision.document_sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
    code, said, _ = shenbao("verify", str(pdf), "--trust", str(tmp_path / "office.pem"), "--db", db)
    assert code == 0, said


def test_the_web_issuing_job_signs_with_the_servers_key(tmp_path: Path) -> None:
    import zipfile

    from fastapi.testclient import TestClient
    from webapp import make_app, signed_in

    key = signing.keygen(ISSUER)
    with TestClient(make_app(tmp_path, signer=signing.Signer(key)), base_url="https://testserver") as client:
        application = {k: v for k, v in _application(4).items() if k not in ("expert_score", "district_review")}
        submitted = client.post(f"/api/forms/{FORM}/submissions", content=json_text(application).encode(),
                                headers={"content-type": "application/json"}).json()
        csrf = signed_in(client)
        review = json_text({k: sample(FORM)[k] for k in ("expert_score", "district_review")})
        assert client.post(f"/staff/submissions/{submitted['submission']}/decision", follow_redirects=False,
                           data={"verdict": "通过", "csrf": csrf, "review": review}).status_code == 303
        started = client.post(f"/api/staff/issue?notice={RECOGNITION}", headers={"x-csrf-token": csrf,
                              "content-type": "application/json"},
                              content=(EXAMPLES / "ledger-recognition.json").read_bytes()).json()
        for _ in range(600):
            job = client.get(started["url"]).json()
            if job["state"] in ("已完成", "失败"):
                break
            time.sleep(0.2)
        assert job["state"] == "已完成", job
        archive = zipfile.ZipFile(io.BytesIO(client.get(job["download"]).content))
        (pdf_name,) = [n for n in archive.namelist() if n.endswith(".pdf")]
        verdict = signing.verify(archive.read(pdf_name), signing.certificates(signing.certificate_pem(key)))
        assert verdict.genuine, verdict.problems
