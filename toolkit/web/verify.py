"""The public verification pages, open to anyone: ``/verify/<code>`` (the link in an issued notice's QR code)
shows the ledger's record of that code — what the document itself prints (title, number, to whom, issuer, date,
validity) and its status (valid, or revoked on a date) — and nothing more; ``/verify`` takes a PDF and checks it
whole: its signature against the office's certificates (``certificates`` in the server's office profile), its
printed code, and the ledger's record (``ledger.verifying``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from cryptography import x509
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from .. import files
from ..errors import ShenbaoError
from ..ledger.verifying import record_of, verify_document
from ..office import certificate_files
from ..signing import UnusablePdf, certificates
from . import uploads
from .pages import page

router = APIRouter(include_in_schema=False)
PRIVATE = {"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
PDF = {"pdf": "PDF"}


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, code: str = "") -> HTMLResponse:
    if code.strip():
        return verify_code(code.strip(), request)
    return page(request, "verify.html", record=None, code="", verdict=None, headers=PRIVATE)


@router.get("/verify/{code:path}", response_class=HTMLResponse)
def verify_code(code: str, request: Request) -> HTMLResponse:
    record = record_of(request.app.state.ledger, code[:400])
    return page(request, "verify.html", status_code=200 if record else 404, code=code[:400],
                record=record.public() if record else None, verdict=None, headers=PRIVATE)


@router.post("/verify", response_class=HTMLResponse)
async def verify_upload(request: Request, file: Annotated[UploadFile, File()]) -> HTMLResponse:
    name, content = await uploads.received(request, file, PDF)
    trust, note = _trusted(request)
    try:
        verdict = await run_in_threadpool(verify_document, content, trust, request.app.state.ledger)
    except UnusablePdf as exc:
        return page(request, "verify.html", status_code=422, code="", record=None, verdict=None,
                    unusable=f"{name}：{exc}", headers=PRIVATE)
    shown: dict[str, Any] = {
        "name": name, "genuine": verdict.genuine, "signed": verdict.signed, "signer": verdict.signer,
        "key": verdict.key, "test_key": verdict.test_key, "code": verdict.code,
        "signed_at": verdict.signed_at.astimezone().strftime("%Y-%m-%d %H:%M") if verdict.signed_at else "",
        "problems": [p.message for p in verdict.problems], "note": note,
        "record": verdict.record.public() if verdict.record is not None else None}
    return page(request, "verify.html", code="", record=None, verdict=shown, headers=PRIVATE)


def _trusted(request: Request) -> tuple[list[x509.Certificate], str]:
    """The office's signing certificates, from the server's office profile; and a note when there are none."""
    path = request.app.state.settings.office
    if not path:
        return [], "服务未配置发文机关信息，无法确认签名人：签名人一项均显示为不受信任"
    try:
        profile = files.load_data(path)
        found = [c for listed in certificate_files(profile)
                 for c in certificates(files.read_input(Path(path).parent / listed), name=listed)]
    except ShenbaoError as exc:
        return [], f"发文机关的签名证书无法读取（{exc}），签名人一项均显示为不受信任"
    return found, "" if found else "发文机关信息中没有列出签名证书（certificates），签名人一项均显示为不受信任"
