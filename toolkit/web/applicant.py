"""The applicant's pages, open to anyone: the programmes and their forms, a form to fill in, and a receipt.

The form page carries the form as ``form_view.view`` draws it; ``static/form.js`` builds the inputs from it and
works through the JSON API (check as the user types, download, import, submit). A receipt's page shows that one
submission — its status, findings and decision — and nothing else of the ledger."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from .. import catalogue
from ..catalogue import Form
from ..errors import UnknownForm
from ..ledger.statuses import APPROVED, REJECTED, RESUBMITTED, TO_CORRECT, TO_REVIEW, UNREADABLE
from . import office_work
from .answers import submission_of
from .form_view import view
from .pages import page

router = APIRouter(include_in_schema=False)

ROLES = {"application": "申请人填写", "record": "工作人员填写"}
STATUS_HELP = {
    TO_REVIEW: "已受理，等待受理机关审查。",
    TO_CORRECT: "审查发现下列问题，请按问题修改后重新填写提交。",
    UNREADABLE: "提交的文件无法读取，请重新提交可编辑的 Word 或 PDF 文件。",
    APPROVED: "受理机关已作出通过的决定。",
    REJECTED: "受理机关已作出不予通过的决定。",
    RESUBMITTED: "本申请已被同一申请人重新提交的申请代替，请查看新申请的回执。",
}
BADGES = {TO_REVIEW: "warn", TO_CORRECT: "bad", UNREADABLE: "bad", APPROVED: "ok", REJECTED: "bad"}


@dataclass
class Programme:
    """One policy: the forms filled in under it and the documents its offices issue."""

    policy: str
    forms: list[Form] = field(default_factory=list)
    notices: list[Form] = field(default_factory=list)


def programmes() -> list[Programme]:
    """The catalogue grouped by policy, in the catalogue's order; a policy issuing only notices is left out."""
    found: dict[str, Programme] = {}
    for item in catalogue.forms():
        group = found.setdefault(item.policy, Programme(item.policy))
        (group.notices if item.is_notice else group.forms).append(item)
    return [p for p in found.values() if p.forms]


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    return page(request, "index.html", programmes=programmes(), roles=ROLES)


@router.get("/forms/{form_id}", response_class=HTMLResponse)
def form_page(form_id: str, request: Request) -> HTMLResponse:
    try:
        target = catalogue.form(form_id)
    except UnknownForm:
        raise HTTPException(404, f"没有编号为「{form_id}」的表单，请从首页的表单列表中选择") from None
    if target.is_notice:
        raise HTTPException(404, f"「{target.title}」是{target.kind or '通知'}，由发文机关（工作人员）在台账中签发，"
                                 "申请人无须也不能在此填写")
    return page(request, "form.html", form=target, view=view(target), role=ROLES.get(target.role, ""))


@router.get("/receipts/{token}", response_class=HTMLResponse)
def receipt(token: str, request: Request) -> HTMLResponse:
    with request.app.state.ledger.reading() as session:
        answer = submission_of(office_work.by_receipt(session, token), documents=False)
    return page(request, "receipt.html", receipt=_shown(answer), headers={"Referrer-Policy": "no-referrer",
                                                                         "X-Robots-Tag": "noindex"})


def _shown(answer: dict[str, Any]) -> dict[str, Any]:
    """What the receipt's page shows of a submission: status, form, applicant, time, findings, decision."""
    decision = answer["decision"]
    shown: dict[str, Any] = {
        "number": answer["submission"], "status": answer["status"], "title": answer["title"],
        "form": answer["form"], "applicant": answer["applicant"] or "（未填写）",
        "received": _when(answer["received_at"]), "help": STATUS_HELP.get(answer["status"], ""),
        "badge": BADGES.get(answer["status"], ""), "reason": answer["reason"],
        "findings": [f for f in answer["findings"] if f["severity"] == "error"]
        + [f for f in answer["findings"] if f["severity"] != "error"],
        "decision": None}
    if decision is not None:
        notice = decision["notice"]
        try:
            notice_title = catalogue.form(notice).title if notice else None
        except UnknownForm:
            notice_title = notice
        shown["decision"] = {"verdict": decision["verdict"], "date": _when(decision["decided_at"], time=False),
                             "notice": notice_title, "number": decision["document_number"],
                             "issued": _when(decision["issued_at"], time=False)}
    return shown


def _when(moment: dt.datetime | None, time: bool = True) -> str:
    """A moment as the office writes it, in the server's time zone: ``2026年5月3日 14:05``."""
    if moment is None:
        return ""
    local = moment.astimezone() if moment.tzinfo else moment
    day = f"{local.year}年{local.month}月{local.day}日"
    return f"{day} {local:%H:%M}" if time else day
