"""What the API answers: JSON with exact decimals (as the command's ``--json`` writes them), files as downloads
with their Chinese names, a request's JSON body read as the command reads a file, and a submission as the staff
and its applicant see it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from .. import fields
from ..catalogue import Form, form
from ..errors import UnknownForm, UnusableInput
from ..files import json_number, parse_json
from ..ledger.models import Submission
from ..ledger.submitting import Submitted

MAX_JSON = 5 * 2**20  # an application's data is a few KB; a body past this is refused
MEDIA = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         ".pdf": "application/pdf", ".zip": "application/zip", ".json": "application/json",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class Exact(JSONResponse):
    """JSON whose decimals are written exactly (``1008.20`` stays a number, not a float's digits)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=_plain, separators=(",", ":")).encode("utf-8")


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return json_number(value)


async def data_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (415 when it is not JSON, 413 when too large, 400 when not an object)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, "请以 JSON 提交（Content-Type: application/json）")
    body = await request.body()
    if len(body) > MAX_JSON:
        raise HTTPException(413, f"数据超过 {MAX_JSON // 2**20} MB 的上限")
    try:
        return parse_json(body, "请求数据")
    except UnusableInput as exc:
        raise HTTPException(400, str(exc)) from None


def attachment(content: bytes, name: str) -> Response:
    """A file to download, named ``name`` (in UTF-8, RFC 5987)."""
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(content, media_type=MEDIA.get(suffix, "application/octet-stream"),
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


def receipt_of(request: Request, submitted: Submitted, target: Form) -> dict[str, Any]:
    """The receipt of an online submission: the applicant's link to follow it (shown this once)."""
    url = f"{str(request.base_url).rstrip('/')}/receipts/{submitted.token}"
    return {"submission": submitted.submission, "form": target.id, "title": target.title,
            "status": submitted.status, "url": url,
            "message": f"已提交，受理编号 {submitted.submission}。请保存此链接，凭它查看办理进度：{url}"}


def submission_of(item: Submission, *, data: bool = False, events: bool = False,
                  documents: bool = True) -> dict[str, Any]:
    """A submission as JSON: its status and findings; with ``data`` what it claims; with ``events`` its log."""
    try:
        title = form(item.form).title
    except UnknownForm:
        title = item.form
    answer: dict[str, Any] = {
        "submission": item.id, "form": item.form, "title": title, "applicant": item.applicant_name,
        "uscc": item.applicant_uscc, "file": item.file_name, "status": item.status, "reason": item.reason,
        "received_at": item.received_at, "previous": item.previous_id,
        "findings": [{"path": f.path, "title": f.title, "rule": f.rule, "clause": f.clause, "severity": f.severity,
                      "message": f.message, "stage": f.stage} for f in item.findings],
        "decision": None}
    if item.decision is not None:
        d = item.decision
        answer["decision"] = {"verdict": d.verdict, "decided_at": d.decided_at, "note": d.note,
                              "notice": d.notice, "document_number": d.document_number, "issued_at": d.issued_at}
        if documents:
            answer["decision"]["decided_by"] = d.decided_by
    if data:
        answer["data"] = item.data
    if events:
        from sqlalchemy.orm import object_session

        from ..ledger.store import events as log_of
        from ..ledger.submitting import documents as kept

        session = object_session(item)
        assert session is not None
        answer["events"] = [{"at": e.at, "kind": e.kind, "actor": e.actor, "detail": e.detail}
                            for e in log_of(session, item.id)]
        answer["documents"] = [{"id": d.id, "name": d.name, "kind": d.kind, "size": d.size,
                                "url": f"/api/staff/documents/{d.id}"} for d in kept(session, item.id)]
    return answer


def titled(target: Form, data: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, Any]]]]:
    """Every filled value of ``data`` by section, in the form's order: (section title, [(JSON pointer, the title
    within the section, value)])."""
    sections: dict[str, list[tuple[str, str, Any]]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}/{key}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                walk(item, f"{path}/{i}")
        else:
            section, _, rest = fields.title(target, path).partition(" · ")
            sections.setdefault(section if rest else "", []).append((path, rest or section, value))

    walk(data, "")
    return list(sections.items())
