"""The staff's pages (signed in): the ledger with filters, a submission with its data, findings and files side by
side, intake of received files, decisions, issuing notices as a background job, export to Excel; sign-in and
sign-out. Every form that changes something carries the session's CSRF token."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from .. import catalogue
from ..errors import UnusableInput
from ..files import parse_json
from ..ledger import store
from ..ledger.statuses import STATUSES, VERDICTS
from ..ledger.submitting import documents
from ..ledger.users import Signed, sign_in, sign_out
from . import office_work, security, uploads
from .answers import attachment, titled
from .jobs import recent
from .notice_facts import facts_view, notices_for
from .pages import page

router = APIRouter(prefix="/staff", include_in_schema=False)
Staff = Annotated[Signed, Depends(security.staff_page)]


# --- signing in and out ---------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/staff/") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = page(request, "staff/login.html", next=_local(next), login_csrf=token)
    response.set_cookie(**security.cookie(request, security.PRE_LOGIN, token, max_age=3600))  # type: ignore[arg-type]
    return response


@router.post("/login", response_model=None)
def login(request: Request, name: Annotated[str, Form(max_length=200)], password: Annotated[str, Form(max_length=500)],
          csrf: Annotated[str, Form(max_length=200)] = "", next: Annotated[str, Form(max_length=2000)] = "/staff/"
          ) -> Response:
    security.same(csrf, request.cookies.get(security.PRE_LOGIN, ""))
    signed = sign_in(request.app.state.ledger, name, password)
    if signed is None:
        token = secrets.token_urlsafe(24)
        response = page(request, "staff/login.html", status_code=401, next=_local(next), login_csrf=token, name=name,
                        problem="用户名或密码不正确")
        response.set_cookie(**security.cookie(request, security.PRE_LOGIN, token, max_age=3600))  # type: ignore[arg-type]
        return response
    token, _ = signed
    redirect = RedirectResponse(_local(next), status_code=303)
    redirect.set_cookie(**security.cookie(request, security.SESSION, token))  # type: ignore[arg-type]
    redirect.delete_cookie(security.PRE_LOGIN, path="/")
    return redirect


@router.post("/logout")
def logout(request: Request, who: Staff, csrf: Annotated[str, Form(max_length=200)] = "") -> RedirectResponse:
    security.same(csrf, who.csrf)
    sign_out(request.app.state.ledger, request.cookies.get(security.SESSION))
    redirect = RedirectResponse("/staff/login", status_code=303)
    redirect.delete_cookie(security.SESSION, path="/")
    return redirect


def _local(target: str) -> str:
    """Only a path of this site to go back to after signing in (never another site)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/staff/"


# --- the ledger -----------------------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def ledger_page(request: Request, who: Staff, form: str = "", status: str = "", applicant: str = "",
                since: str = "", until: str = "") -> HTMLResponse:
    filters = {"form": form, "status": status, "applicant": applicant, "since": since, "until": until}
    problems = []
    if status and status not in STATUSES:
        problems.append(f"状态应为：{'、'.join(STATUSES)}")
        status = ""
    days = {key: _day(value, label, problems) for key, value, label in (("since", since, "起始日期"),
                                                                          ("until", until, "截止日期"))}
    with request.app.state.ledger.reading() as session:
        items = store.submissions(session, form=form or None, status=status or None, applicant=applicant or None,
                                  since=days["since"], until=days["until"])
    query = urlencode({k: v for k, v in filters.items() if v and k in ("form", "status")})
    return page(request, "staff/ledger.html", items=items, filters=filters, problems=problems, statuses=STATUSES,
                forms=[f for f in catalogue.forms() if not f.is_notice], titles=_titles(),
                export=f"/staff/export.xlsx?{query}" if query else "/staff/export.xlsx")


def _day(text: str, label: str, problems: list[str]) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"{label}应写作 2026-01-31 这样的日期")
        return None


def _titles() -> dict[str, str]:
    return {f.id: f.title for f in catalogue.forms()}


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(request: Request, who: Staff, submission_id: int) -> HTMLResponse:
    from .form_view import view

    with request.app.state.ledger.reading() as session:
        item = office_work.submission(session, submission_id)
        kept = documents(session, submission_id)
        log = store.events(session, submission_id)
    target = catalogue.form(item.form)
    office = view(target, "office") if target.office_sections else None
    return page(request, "staff/submission.html", item=item, target=target, rows=titled(target, item.data or {}),
                documents=kept, events=log, verdicts=VERDICTS, office_view=office,
                office_data={k: v for k, v in (item.data or {}).items() if f"/{k}" in target.office_sections})


@router.post("/submissions/{submission_id}/decision", response_model=None)
def decision(request: Request, who: Staff, submission_id: int, verdict: Annotated[str, Form(max_length=20)],
             csrf: Annotated[str, Form(max_length=200)] = "", note: Annotated[str, Form(max_length=2000)] = "",
             review: Annotated[str, Form(max_length=200_000)] = "") -> Response:
    security.same(csrf, who.csrf)
    if verdict not in VERDICTS:
        raise HTTPException(422, f"决定应为：{'、'.join(VERDICTS)}")
    entered = _review(review)
    office_work.decide(request.app.state.ledger, submission_id, verdict, who.user, note, entered)
    return RedirectResponse(f"/staff/submissions/{submission_id}", status_code=303)


def _review(text: str) -> dict[str, Any] | None:
    """The office's sections as the decide form's script collected them (JSON), or None."""
    if not text.strip() or text.strip() == "{}":
        return None
    try:
        return parse_json(text, "审核填写的内容")
    except UnusableInput as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/documents/{document_id}")
def document_download(request: Request, who: Staff, document_id: int) -> Response:
    content, name = office_work.document(request, document_id)
    return attachment(content, name)


@router.get("/export.xlsx")
def export(request: Request, who: Staff, form: str = "", status: str = "") -> Response:
    if status and status not in STATUSES:
        raise HTTPException(422, f"状态应为：{'、'.join(STATUSES)}")
    return attachment(office_work.export(request, form or None, status or None), "台账.xlsx")


# --- intake ---------------------------------------------------------------------------------------------------

@router.get("/intake", response_class=HTMLResponse)
def intake_page(request: Request, who: Staff) -> HTMLResponse:
    return page(request, "staff/intake.html", forms=[f for f in catalogue.forms() if not f.is_notice],
                outcomes=None)


@router.post("/intake", response_class=HTMLResponse)
async def intake(request: Request, who: Staff, form: Annotated[str, Form(max_length=100)],
                 files: Annotated[list[UploadFile], File()], csrf: Annotated[str, Form(max_length=200)] = ""
                 ) -> HTMLResponse:
    security.same(csrf, who.csrf)
    target = catalogue.form(form)
    received = [await uploads.received(request, f, uploads.SUBMISSIONS) for f in files if f.filename]
    if not received:
        raise HTTPException(400, "请选择要收件的 PDF 或 Word 文件")
    outcomes = await office_work.intake(request.app.state.ledger, target, received, who.user)
    return page(request, "staff/intake.html", forms=[f for f in catalogue.forms() if not f.is_notice],
                outcomes=outcomes, chosen=target.id)


# --- notices --------------------------------------------------------------------------------------------------

@router.get("/issue", response_class=HTMLResponse)
def issue_page(request: Request, who: Staff, notice: str = "", status: str = "通过") -> HTMLResponse:
    choices = notices_for()
    target = catalogue.form(notice) if notice else None
    if target is not None and target.id not in choices:
        raise HTTPException(404, f"{target.title}不是台账签发的通知")
    if status not in VERDICTS:
        status = VERDICTS[0]
    facts = None
    if target is not None:
        facts = facts_view(target, office_work.office_profile(request))
    return page(request, "staff/issue.html", choices=choices, target=target, status=status, verdicts=VERDICTS,
                facts_view=facts)


@router.post("/issue", response_model=None)
async def issue(request: Request, who: Staff, notice: Annotated[str, Form(max_length=100)],
                status: Annotated[str, Form(max_length=20)], csrf: Annotated[str, Form(max_length=200)] = "",
                facts: Annotated[str, Form(max_length=200_000)] = "{}") -> Response:
    security.same(csrf, who.csrf)
    if status not in VERDICTS:
        raise HTTPException(422, f"状态应为：{'、'.join(VERDICTS)}")
    target = catalogue.form(notice)
    try:
        given = parse_json(facts or "{}", "本次决定的内容")
    except UnusableInput as exc:
        raise HTTPException(422, str(exc)) from None
    own = await uploads.chosen_template(request, await request.form())
    job_id = await office_work.issue_on(request, target, status, given, who.user, own)
    return RedirectResponse(f"/staff/jobs/{job_id}", status_code=303)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, who: Staff) -> HTMLResponse:
    return page(request, "staff/jobs.html", jobs=recent(request.app.state.ledger))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, who: Staff, job_id: int) -> HTMLResponse:
    return page(request, "staff/job.html", job=office_work.job_of(request, job_id))


