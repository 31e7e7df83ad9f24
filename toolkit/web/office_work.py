"""The operations behind the pages and the API, each a call into the library or the ledger: blocking work runs off
the event loop, extraction of an uploaded file in a separate process under the library's budgets (time, memory,
pages, inflated size), long work as a background job. The pages and the API only parse and answer."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import files, rendering
from ..catalogue import Form
from ..errors import UnusableInput
from ..extraction import Extraction
from ..ledger import store
from ..ledger.deciding import Ruling, decide_submission
from ..ledger.models import Document, Submission
from ..ledger.store import Ledger
from ..ledger.submitting import Attachment, Submitted, keep
from ..ledger.submitting import by_receipt as _by_receipt
from ..ledger.submitting import submit as _submit
from .jobs import Progress, job

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- anyone ---------------------------------------------------------------------------------------------------

async def render(target: Form, data: Mapping[str, Any], kind: str, draft: bool) -> tuple[bytes, str]:
    """The .docx (or its PDF) of ``data``; 422 with the report when it has errors and is not a draft."""
    try:
        document = await run_in_threadpool(rendering.render, target, data, draft=draft)
    except rendering.NotValid as refused:
        raise HTTPException(422, f"{refused}：" + "；".join(f"{f.title}：{f.message}"
                                                           for f in refused.report.errors[:10])) from None
    name = f"{target.title}{'（草稿）' if draft else ''}"
    if kind == "pdf":
        from ..convert import pdf_of

        return await run_in_threadpool(pdf_of, document), f"{name}.pdf"
    return document, f"{name}.docx"


@cache
def _readers() -> ProcessPoolExecutor:
    """One process that reads uploaded files, under the budgets of ``extract_many``'s workers (memory limit; the
    time limit works there, on the process's main thread); started with ``spawn`` (the server has threads)."""
    import multiprocessing

    from ..extraction import _limit_memory

    return ProcessPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1)),
                               mp_context=multiprocessing.get_context("spawn"), initializer=_limit_memory)


async def read(target: Form, content: bytes, name: str) -> Extraction | UnusableInput:
    """An uploaded PDF or .docx read as a filled-in ``target`` in the reading process, or why it cannot be."""
    from ..extraction import extract as reader

    loop = asyncio.get_running_loop()
    try:
        result: Extraction = await loop.run_in_executor(_readers(), reader, target.id, content, name)
    except UnusableInput as exc:
        return exc
    except Exception as exc:  # the reading process died (memory) or broke: the file is refused, not the server
        _readers.cache_clear()
        return UnusableInput(name, f"无法读取此文件（{type(exc).__name__}）")
    return result


async def extract(target: Form, content: bytes, name: str) -> Extraction:
    """``read``, or 400 with the reason."""
    result = await read(target, content, name)
    if isinstance(result, UnusableInput):
        raise HTTPException(400, str(result))
    return result


async def imported(target: Form, content: bytes, name: str) -> tuple[dict[str, Any], list[str]]:
    """The data of a filled file to continue from: a submitted .docx/PDF, a sheet's first row, or a JSON draft."""
    from .uploads import kind_of

    kind = kind_of(content, name)
    if kind in ("pdf", "docx"):
        result = await extract(target, content, name)
        return result.data, [f"{f.title}：{f.message}" for f in result.findings if f.rule.startswith("extract.")]
    if kind == "json":
        try:
            return files.parse_json(content, name), []
        except UnusableInput as exc:
            raise HTTPException(400, str(exc)) from None
    return await run_in_threadpool(_first_row, target, content, name, kind)


def _first_row(target: Form, content: bytes, name: str, kind: str) -> tuple[dict[str, Any], list[str]]:
    from .. import sheets

    with tempfile.TemporaryDirectory(prefix="shenbao-upload-") as folder:
        path = Path(folder) / f"upload.{kind}"
        path.write_bytes(content)
        try:
            columns = sheets.check_headers(target, path)
            rows = [row for row in sheets.read_rows(path)]
        except UnusableInput as exc:
            raise HTTPException(400, f"{name}：{exc.reason}") from None
    if not rows or rows[0].error:
        raise HTTPException(400, f"{name}：表格中没有可用的数据行" + (f"（{rows[0].error}）" if rows else ""))
    notes = [f"表格有 {len(rows)} 行，只取第一行（第 {rows[0].number} 行）"] if len(rows) > 1 else []
    return columns.data(rows[0]), notes


async def submit(ledger: Ledger, target: Form, data: Mapping[str, Any]) -> Submitted:
    """Record a clean application with its .docx; 422 with the findings when it has errors."""
    try:
        document = await run_in_threadpool(rendering.render, target, data)  # the render gate is the check
    except rendering.NotValid as refused:
        problems = "；".join(f"{f.title}：{f.message}" for f in refused.report.errors[:10])
        raise HTTPException(422, f"申请有错误，未提交：{problems}") from None
    kept = [Attachment(f"{target.title}.docx", DOCX, document),
            Attachment(f"{target.title}.json", "application/json", files.json_text(dict(data)).encode("utf-8"))]
    return await run_in_threadpool(_submit, ledger, target, data, kept)


def by_receipt(session: Session, token: str) -> Submission:
    item = _by_receipt(session, token) if 16 <= len(token) <= 100 else None
    if item is None:
        raise HTTPException(404, "没有这份回执：链接不完整或有误")
    return item


# --- staff ----------------------------------------------------------------------------------------------------

def submission(session: Session, submission_id: int) -> Submission:
    try:
        return store.submission(session, submission_id)
    except store.UnknownSubmission as exc:
        raise HTTPException(404, str(exc)) from None


def decide(ledger: Ledger, submission_id: int, verdict: str, by: str, note: str | None,
           review: Mapping[str, Any] | None = None) -> Ruling:
    """Record a decision (409 with the reason when the ledger refuses it: rules fail, items pending, decided)."""
    try:
        ruling = decide_submission(ledger, submission_id, verdict, by, note or None, review)
    except store.UnknownSubmission as exc:
        raise HTTPException(404, str(exc)) from None
    if not ruling.recorded:
        details = [f"{f.title}：{f.message}" for f in (ruling.failed or ruling.pending)][:10]
        raise HTTPException(409, f"{ruling.reason}" + ("：" + "；".join(details) if details else ""))
    return ruling


async def intake(ledger: Ledger, target: Form, received: Sequence[tuple[str, bytes]], by: str) -> list[dict[str, Any]]:
    """Take uploaded files in as submissions (each read in the reading process), keeping each new file with its
    submission; what became of each."""
    from ..ledger.receiving import DUPLICATE, record

    outcomes: list[dict[str, Any]] = []
    for name, content in received:
        digest = hashlib.sha256(content).hexdigest()
        result = await read(target, content, name)
        done = await run_in_threadpool(record, ledger, target, Path(name), digest, result)
        if done.status != DUPLICATE:
            media = "application/pdf" if content.startswith(b"%PDF") else DOCX
            attachment = Attachment(name, media, content)
            await run_in_threadpool(ledger.write, lambda session, i=done.submission, a=attachment:
                                    keep(session, i, [a], "submitted"))
        outcomes.append({"file": name, "submission": done.submission, "status": done.status, "errors": done.errors,
                         "reason": done.reason, "previous": done.previous, "by": by})
    return outcomes


def office_profile(request: Request) -> dict[str, Any]:
    """The office profile the server was started with (``--office``); 409 when there is none."""
    path = request.app.state.settings.office
    if not path:
        raise HTTPException(409, "服务启动时没有指定发文机关信息（shenbao serve --office 机关.toml），不能签发通知")
    try:
        return files.load_data(path)
    except UnusableInput as exc:
        raise HTTPException(409, f"发文机关信息无法读取：{exc}") from None


async def issue_on(request: Request, target: Form, status: str, facts: Mapping[str, Any], by: str,
                   template: tuple[str, bytes] | None) -> int:
    """``issue`` on the office's own template if one was uploaded (its name, its bytes), linted off the event loop."""
    name, content = template if template is not None else ("本机关模板", None)
    job: int = await run_in_threadpool(issue, request, target, status, facts, by, content, name)
    return job


def issue(request: Request, target: Form, status: str, facts: Mapping[str, Any], by: str,
          template: bytes | None = None, template_name: str = "本机关模板") -> int:
    """Start issuing ``target`` to the decided submissions of ``status``, on the office's own ``template`` (.docx
    bytes) if given — linted first: 422 naming every problem, and no job; the job's id."""
    from ..ledger.issuing import issue as send
    from ..sinks import MemorySink
    from ..template_check import TemplateRefused, require_clean

    if not target.is_notice:
        raise HTTPException(422, f"{target.title}不是通知，不能签发")
    if template is not None:
        try:
            require_clean(template, target, template_name)
        except TemplateRefused as refused:
            found = "；".join(f"{f.path}：{f.message}" for f in refused.findings)
            problem = f"{template_name}：模板与{target.title}（{target.id}）不符，未签发：{found}"
            raise HTTPException(422, problem) from None
        except UnusableInput as exc:
            raise HTTPException(422, str(exc)) from None
    profile = office_profile(request)
    ledger: Ledger = request.app.state.ledger

    def work(progress: Progress) -> tuple[Attachment, str]:
        sink = MemorySink(signer=request.app.state.settings.signer)  # signed PDFs beside, with a key
        total = [0]

        def advance(n: int) -> None:
            total[0] += n
            progress(total[0], max(total[0], 1))

        result = send(ledger, target, profile, dict(facts), sink, status=status, progress=advance, template=template)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, document in sink.documents.items():
                archive.writestr(name, document)
            archive.writestr("清单.txt", "\n".join(f"{o.row}\t{o.status}\t{o.file}\t{o.message}"
                                                  for o in result.outcomes) + "\n")
        failed = "；".join(f"台账第 {o.row} 号：{o.message}" for o in result.failed)
        summary = (f"发出 {result.count('written')} 份，跳过 {result.count('skipped')} 份（此前已发出），"
                   f"{len(result.failed)} 份未发出" + (f"：{failed}" if failed else "")
                   + (f"（{result.plain}）" if result.plain else ""))
        return Attachment(f"{target.title}.zip", "application/zip", buffer.getvalue()), summary

    jobs = request.app.state.jobs
    return int(jobs.start("issue", f"签发{target.title}（{status}）", by, work))


def job_of(request: Request, job_id: int) -> dict[str, Any]:
    found = job(request.app.state.ledger, job_id)
    if found is None:
        raise HTTPException(404, f"没有编号为 {job_id} 的后台任务")
    return {"job": found.id, "title": found.title, "state": found.state, "done": found.done, "total": found.total,
            "message": found.message, "download": f"/api/staff/jobs/{found.id}/download" if found.document_id
            else None, "created_at": found.created_at, "finished_at": found.finished_at}


def job_document(request: Request, job_id: int) -> tuple[bytes, str]:
    found = job(request.app.state.ledger, job_id)
    if found is None or found.document_id is None:
        raise HTTPException(404, f"后台任务 {job_id} 没有可下载的结果")
    return document(request, found.document_id)


def document(request: Request, document_id: int) -> tuple[bytes, str]:
    with request.app.state.ledger.reading() as session:
        found = session.get(Document, document_id)
        if found is None:
            raise HTTPException(404, f"没有编号为 {document_id} 的文件")
        return found.content, found.name


def export(request: Request, form_id: str | None, status: str | None) -> bytes:
    from ..ledger.export import workbook

    with request.app.state.ledger.reading() as session:
        return workbook(store.submissions(session, form=form_id or None, status=status or None))


