"""Notices of decided submissions, issued from the ledger: for each decision that sends ``notice`` and has not had it
yet, the library makes the notice's data (``decision.decide`` with the office's profile and this issue's facts),
the ledger allocates its numbers, and the library's batch renders every document into a sink that puts the notice's
verification code beside its signatory (``verification_code``) and records, as each document is kept, which
document went to whom, under which number, with which SHA-256 and which verification code (and the data it
hashes). A rerun issues nothing twice: a decision whose notice went out is skipped, and one that got its numbers
but not its document (a run killed midway) gets the same numbers again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from .. import fields
from ..batching import BatchResult, batch, check_name
from ..catalogue import Form, form
from ..decision import decide
from ..errors import ShenbaoError, UnusableInput
from ..office import Numbering, numbering, verify_url
from ..reading import read
from ..sheets import Row
from ..sinks import Outcome, Sink, sha256
from ..template_check import require_clean
from ..verification_code import Code, code_for, stamp
from .models import Decision, Submission, now
from .numbers import allocate, value
from .statuses import APPROVED, REJECTED
from .store import Ledger, log, submissions

ROW = "{__row__}"  # a document's file name starts with its submission's number in the ledger


class NothingToIssue(ShenbaoError):
    """No decision in the ledger sends this notice."""


@dataclass(frozen=True)
class _Pending:
    submission: int
    decision: int
    form: Form
    data: dict[str, Any]
    verdict: str


class LedgerSink:
    """A sink that records each document in the ledger as it is kept by the sink it wraps (a folder, …): the
    decision's document, number and SHA-256, and an ``issued`` event. The rows of the batch are the decisions'
    submissions, by number; the outcomes decided before the batch (skipped, failed) join the manifest."""

    def __init__(self, ledger: Ledger, inner: Sink, decisions: Mapping[int, int], numbered: str | None,
                 earlier: Sequence[Outcome] = (), codes: Mapping[int, tuple[Code, dict[str, Any]]] | None = None
                 ) -> None:
        self.ledger, self.inner, self.decisions, self.numbered = ledger, inner, decisions, numbered
        self.earlier = list(earlier)
        self.codes = dict(codes or {})  # by submission: the verification code and the data it was taken of

    def existing(self, name: str) -> str | None:
        return self.inner.existing(name)

    def put(self, name: str, document: bytes) -> None:
        match = re.match(r"\d+", name)
        if match is None or int(match.group()) not in self.decisions:
            raise ValueError(f"a document of no decision in this issue: {name}")
        decision_id = self.decisions[int(match.group())]
        code, data = self.codes.get(int(match.group()), (None, {}))
        if code is not None:
            document = stamp(document, code)
        self.inner.put(name, document)
        digest = sha256(document)
        self.ledger.write(lambda session: _issued(session, decision_id, name, digest, self.numbered, code, data))

    def close(self, outcomes: Sequence[Outcome], complete: bool = True) -> None:
        self.inner.close(sorted([*self.earlier, *outcomes], key=lambda o: o.row), complete)
        signed: Mapping[str, str] = getattr(self.inner, "signed", {})  # a folder's PDFs, signed once made
        for name, digest in signed.items():
            decision_id = self.decisions[int(re.match(r"\d+", name).group())]  # type: ignore[union-attr]
            pdf = f"{name.rsplit('.', 1)[0]}.pdf"
            self.ledger.write(partial(_signed, decision_id=decision_id, pdf=pdf, digest=digest))


def _signed(session: Session, decision_id: int, pdf: str, digest: str) -> None:
    """The signed PDF is the document that went out: the ledger keeps its name and SHA-256 (``verify`` compares a
    file byte for byte with it)."""
    decision = session.get(Decision, decision_id)
    assert decision is not None
    decision.document_name, decision.document_sha256 = pdf, digest
    log(session, "signed", decision.submission_id, file=pdf, sha256=digest)


def _issued(session: Session, decision_id: int, name: str, digest: str, numbered: str | None,
            code: Code | None = None, data: Mapping[str, Any] | None = None) -> None:
    decision = session.get(Decision, decision_id)
    assert decision is not None
    if decision.document_sha256 is not None:  # issued meanwhile by another run: the first document stands
        return
    numbers = {n.field: n.text for n in decision.numbers}
    decision.document_name, decision.document_sha256, decision.issued_at = name, digest, now()
    decision.document_number = numbers.get(numbered) if numbered else None
    if code is not None:
        decision.verification_code, decision.content_sha256 = code.text, code.sha256
        decision.notice_data = dict(data or {})
    log(session, "issued", decision.submission_id, notice=decision.notice, file=name, sha256=digest,
        numbers=numbers, **({"code": code.text} if code is not None else {}))


def issue(ledger: Ledger, notice: Form | str, profile: Mapping[str, Any], facts: Mapping[str, Any], sink: Sink, *,
          status: str = APPROVED, name: str = "", jobs: int = 1,
          progress: Callable[[int], None] | None = None, template: bytes | None = None) -> BatchResult:
    """Issue ``notice`` to every submission of ``status`` whose decision sends it and has not had it yet, into
    ``sink``; one outcome per submission (its number in the ledger as the row): written, skipped (issued before)
    or failed with the reason. ``template``: the office's own .docx, linted before any number is allocated."""
    target = form(notice)
    if template is not None:
        require_clean(template, target)
    numberings = numbering(profile, target)
    _refuse_typed_numbers(target, numberings, facts)
    pattern = _name(target, name)
    check_name(target, pattern)
    pending, earlier = _decisions(ledger, target, status)
    base = verify_url(profile)
    rows: list[Row] = []
    decisions: dict[int, int] = {}
    codes: dict[int, tuple[Code, dict[str, Any]]] = {}
    for item in pending:
        data, problem = _notice_data(item, target, profile, facts, numberings)
        if problem:
            earlier.append(Outcome(item.submission, "", "failed", problem))
            continue
        year = _year(data)
        for numbered, number in zip(numberings, allocate(ledger, item.decision, numberings, year), strict=True):
            fields.put(data, numbered.path, value(numbered, number))
        rows.append(Row(item.submission, data, nested=True))
        decisions[item.submission] = item.decision
        printed = read(target, data)[0]  # the data as the batch renders it: what the verification code hashes
        code = code_for(target, printed, base)
        if code is not None:
            codes[item.submission] = (code, printed)
    main = next((n.path for n in numberings if n.document_number), numberings[0].path if numberings else None)
    recording = LedgerSink(ledger, sink, decisions, main, earlier, codes)
    result = batch(target, rows, recording, name=pattern, jobs=jobs, progress=progress, template=template)
    result.outcomes = sorted([*earlier, *result.outcomes], key=lambda o: o.row)
    return result


def _refuse_typed_numbers(target: Form, numberings: Sequence[Numbering], facts: Mapping[str, Any]) -> None:
    typed = [n for n in numberings if fields.get(facts, n.path) is not None]
    if typed:
        named = "、".join(f"{fields.title(target, fields.pointer(n.path))}（{n.path}）" for n in typed)
        raise UnusableInput("--decision", f"{named}由台账按编号规则分配，不能手填：请从本次决定文件中删去")


def _decisions(ledger: Ledger, target: Form, status: str) -> tuple[list[_Pending], list[Outcome]]:
    """The decisions of ``status`` that send ``target``: those still to issue, and those issued (skipped)."""
    with ledger.reading() as session:
        chosen = submissions(session, status=status)
        sending = [s for s in chosen if s.decision is not None and s.decision.notice == target.id]
        if not sending:
            raise NothingToIssue(_nothing(target, status, chosen))
        pending = [_Pending(s.id, s.decision.id, form(s.form), dict(s.data or {}), s.decision.verdict)
                   for s in sending if s.decision is not None and s.decision.document_sha256 is None]
        issued = [Outcome(s.id, "", "skipped", f"已发出：{s.decision.document_number or '无编号'}，"
                          f"{s.decision.document_name}", s.decision.document_sha256 or "")
                  for s in sending if s.decision is not None and s.decision.document_sha256 is not None]
    return pending, issued


def _nothing(target: Form, status: str, chosen: list[Submission]) -> str:
    others = sorted({s.decision.notice for s in chosen if s.decision is not None and s.decision.notice})
    hint = f"；这些申请的通知是：{'、'.join(others)}" if others else ""
    return f"台账中没有状态为「{status}」且应发{target.title}（{target.id}）的申请{hint}"


def _notice_data(item: _Pending, target: Form, profile: Mapping[str, Any], facts: Mapping[str, Any],
                 numberings: Sequence[Numbering]) -> tuple[dict[str, Any], str]:
    """The notice's data as the library decides it, and what is wrong with it besides the numbers still to come."""
    decided = decide(item.form, item.data, profile, facts)
    expected = {APPROVED: "approved", REJECTED: "rejected"}.get(item.verdict)
    if decided.verdict != expected or decided.notice is None or decided.notice.id != target.id:
        return {}, f"按现行规则重新审查的结论（{decided.words}）与台账中的决定（{item.verdict}）不符，未发出"
    assert decided.notice_report is not None
    numbered = [fields.pointer(n.path) for n in numberings]
    problems = [f for f in decided.notice_report.errors
                if not any(f.path == p or f.path.startswith(f"{p}/") for p in numbered)]
    if problems:
        return {}, "通知中本机关填写的部分不完整或有误（--office、--decision）：" + "；".join(
            f"{f.title}（{f.path}）{'缺少' if f.rule == 'schema.required' else f.message}" for f in problems)
    return dict(decided.data), ""


def _year(data: Mapping[str, Any]) -> int:
    """The year a notice's numbers belong to: the year of its 成文日期, else this year."""
    try:
        return dt.date.fromisoformat(str(data.get("date"))).year
    except ValueError:
        return dt.date.today().year


def _name(target: Form, pattern: str) -> str:
    if not pattern or pattern == ROW:
        pattern = f"{ROW}-{{addressee}}" if "addressee" in fields.fields(target) else ROW
    return pattern if pattern.startswith(ROW) else f"{ROW}-{pattern}"
