"""The JSON API (described at ``/openapi.json``): check, render, extract and submit a form as anyone may, and the
staff's operations on the ledger under ``/api/staff/`` (signed in; state changes with the ``X-CSRF-Token``
header). Answers are shaped as the command's ``--json`` output; a bad body is a 4xx with a Chinese message."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from .. import catalogue, validation
from ..errors import UnusableInput
from ..files import parse_json
from ..ledger import store
from ..ledger.statuses import STATUSES, VERDICTS
from ..ledger.users import Signed
from . import office_work, security, uploads
from .answers import Exact, attachment, data_body, receipt_of, submission_of

router = APIRouter(prefix="/api", tags=["表单"])
staff_router = APIRouter(prefix="/api/staff", tags=["工作人员"])
Staff = Annotated[Signed, Depends(security.staff_api)]
FORM_BODY = {"requestBody": {"required": True, "description": "申请数据（JSON 对象），字段见该表单的 schema",
                             "content": {"application/json": {"schema": {"type": "object"}}}}}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.get("/forms", summary="全部表单及其政策")
def forms_list() -> list[dict[str, Any]]:
    return [{"id": f.id, "title": f.title, "kind": f.kind, "policy": f.policy, "role": f.role,
             "notice": f.is_notice} for f in catalogue.forms()]


@router.get("/forms/{form_id}/schema", summary="表单的 JSON Schema")
def form_schema(form_id: str) -> Response:
    return Exact(catalogue.form(form_id).schema)


@router.post("/forms/{form_id}/validate", summary="按政策审查申请数据（同 validate --json）", openapi_extra=FORM_BODY)
async def validate(form_id: str, request: Request,
                   stage: Annotated[Literal["draft", "application"], Query()] = "application") -> Response:
    target = catalogue.form(form_id)
    data = await data_body(request)
    return Exact(validation.check(target, data, stage=stage).as_dict())


@router.post("/forms/{form_id}/render", summary="生成 Word 或 PDF 文档", openapi_extra=FORM_BODY,
             responses={200: {"content": {DOCX: {}, "application/pdf": {}}}, 422: {"description": "申请有错误"}})
async def render(form_id: str, request: Request, format: Annotated[Literal["docx", "pdf"], Query()] = "docx",
                 draft: bool = False) -> Response:
    target = catalogue.form(form_id)
    data = await data_body(request)
    document, name = await office_work.render(target, data, format, draft)
    return attachment(document, name)


@router.post("/forms/{form_id}/extract", summary="从提交的 PDF 或 Word 文件读回数据（同 extract --json）")
async def extract(form_id: str, request: Request, file: Annotated[UploadFile, File(description="PDF 或 .docx")]
                  ) -> Response:
    target = catalogue.form(form_id)
    name, content = await uploads.received(request, file, uploads.SUBMISSIONS)
    return Exact((await office_work.extract(target, content, name)).as_dict())


@router.post("/forms/{form_id}/import", summary="从已填的 Word、PDF、Excel 或 JSON 文件取出数据，继续填写")
async def import_data(form_id: str, request: Request, file: Annotated[UploadFile, File(description="文件")]
                      ) -> Response:
    target = catalogue.form(form_id)
    name, content = await uploads.received(request, file, uploads.DRAFTS)
    data, notes = await office_work.imported(target, content, name)
    return Exact({"form": target.id, "file": name, "data": data, "notes": notes})


@router.post("/forms/{form_id}/submissions", summary="在线提交申请，取得回执", status_code=201,
             openapi_extra=FORM_BODY, responses={422: {"description": "申请有错误，未提交"}})
async def submit(form_id: str, request: Request) -> Response:
    target = catalogue.form(form_id)
    if target.is_notice:
        raise HTTPException(400, f"{target.title}是发文机关的通知，不能在线提交")
    data = await data_body(request)
    submitted = await office_work.submit(request.app.state.ledger, target, data)
    return Exact(receipt_of(request, submitted, target), status_code=201)


@router.get("/receipts/{token}", summary="回执：一份申请的状态")
def receipt(token: str, request: Request) -> Response:
    with request.app.state.ledger.reading() as session:
        item = office_work.by_receipt(session, token)
        return Exact(submission_of(item, data=True, documents=False))


# --- staff ----------------------------------------------------------------------------------------------------

@staff_router.get("/submissions", summary="台账：按条件列出申请")
def submissions(request: Request, who: Staff, form: str | None = None,
                status: Annotated[str | None, Query(description="、".join(STATUSES))] = None,
                applicant: str | None = None, since: dt.date | None = None, until: dt.date | None = None
                ) -> Response:
    if status and status not in STATUSES:
        raise HTTPException(422, f"状态应为：{'、'.join(STATUSES)}")
    with request.app.state.ledger.reading() as session:
        found = store.submissions(session, form=form or None, status=status, applicant=applicant or None,
                                  since=since, until=until)
        return Exact([submission_of(s) for s in found])


@staff_router.get("/submissions/{submission_id}", summary="一份申请：数据、审查结果、文件、记录")
def submission(submission_id: int, request: Request, who: Staff) -> Response:
    with request.app.state.ledger.reading() as session:
        return Exact(submission_of(office_work.submission(session, submission_id), data=True, events=True))


@staff_router.post("/submissions/{submission_id}/decision", summary="作出决定：通过或不予通过")
def decide(submission_id: int, request: Request, who: Staff, verdict: Annotated[str, Query()],
           note: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    if verdict not in VERDICTS:
        raise HTTPException(422, f"决定应为：{'、'.join(VERDICTS)}")
    ruling = office_work.decide(request.app.state.ledger, submission_id, verdict, who.user, note)
    return Exact({"submission": submission_id, "verdict": ruling.verdict, "notice": ruling.notice,
                  "reason": ruling.reason})


@staff_router.post("/intake", summary="收件：上传收到的 PDF 或 Word 文件", status_code=201)
async def intake(request: Request, who: Staff, form: Annotated[str, Query()],
                 files: Annotated[list[UploadFile], File(description="PDF 或 .docx，可多个")]) -> Response:
    target = catalogue.form(form)
    received = [await uploads.received(request, f, uploads.SUBMISSIONS) for f in files]
    outcomes = await office_work.intake(request.app.state.ledger, target, received, who.user)
    return Exact(outcomes, status_code=201)


_ISSUE_BODY = {"required": True, "description": "本次决定的事实（成文日期等）：JSON；或表单，另附本机关模板（.docx）",
               "content": {"application/json": {"schema": {"type": "object"}},
                           "multipart/form-data": {"schema": {"type": "object", "properties": {
                               "facts": {"type": "string", "description": "本次决定的事实（JSON 文本）"},
                               "template": {"type": "string", "format": "binary",
                                            "description": "本机关模板（.docx，可选），先检查后使用"}}}}}}


@staff_router.post("/issue", summary="签发通知：后台任务，完成后下载 zip", status_code=202,
                   openapi_extra={"requestBody": _ISSUE_BODY})
async def issue(request: Request, who: Staff, notice: Annotated[str, Query()],
                status: Annotated[str, Query()] = "通过") -> Response:
    target = catalogue.form(notice)
    if status not in VERDICTS:
        raise HTTPException(422, f"状态应为：{'、'.join(VERDICTS)}")
    own = None
    if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        form = await request.form()
        given = form.get("facts") or "{}"
        if not isinstance(given, str):
            raise HTTPException(422, "facts 应为 JSON 文本，不是文件")
        try:
            facts = parse_json(given, "本次决定的内容")
        except UnusableInput as exc:
            raise HTTPException(400, str(exc)) from None
        own = await uploads.chosen_template(request, form)
    else:
        facts = await data_body(request)
    job_id = await office_work.issue_on(request, target, status, facts, who.user, own)
    return Exact({"job": job_id, "url": f"/api/staff/jobs/{job_id}"}, status_code=202)


@staff_router.get("/jobs/{job_id}", summary="后台任务的进度")
def job_status(job_id: int, request: Request, who: Staff) -> Response:
    return Exact(office_work.job_of(request, job_id))


@staff_router.get("/jobs/{job_id}/download", summary="下载后台任务的结果")
def job_download(job_id: int, request: Request, who: Staff) -> Response:
    content, name = office_work.job_document(request, job_id)
    return attachment(content, name)


@staff_router.get("/documents/{document_id}", summary="下载台账中保存的文件")
def document(document_id: int, request: Request, who: Staff) -> Response:
    content, name = office_work.document(request, document_id)
    return attachment(content, name)


@staff_router.get("/export", summary="台账导出为 Excel（.xlsx）")
def export(request: Request, who: Staff, form: str | None = None, status: str | None = None) -> Response:
    return attachment(office_work.export(request, form, status), "台账.xlsx")
