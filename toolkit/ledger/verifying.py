"""Issued notices checked against the ledger, and revoked.

``verify_document(pdf, trust, ledger)`` is the whole check of a file someone holds: its signature
(``signing.verify``), its printed verification code against its own text (``verification_code``), and, with a
ledger, the record of that code — issued, unchanged, not revoked, and the document's printed essentials (number,
to whom, date) those of the record. ``record_of(ledger, code)`` is what the public page ``/verify/<code>`` shows;
``revoke(ledger, number, reason, by)`` marks an issued notice revoked, with an event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography import x509
from sqlalchemy.orm import Session

from .. import verification_code
from ..catalogue import form
from ..errors import ShenbaoError, UnknownForm
from ..signing import Problem, Verdict, verify
from ..values import chinese_date
from .models import Decision, Number, now
from .store import Ledger, log


class NotRevocable(ShenbaoError):
    """No issued notice of the ledger has this number, or it is revoked already."""


@dataclass(frozen=True)
class Record:
    """What the ledger knows of one issued notice: its number and code, what the document shows of it (title,
    to whom, issuer, date, validity), when it went out, and whether and why it was revoked."""

    number: str
    code: str | None
    notice: str
    title: str
    to: str
    issuer: str
    date: str
    valid_until: str
    issued_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_reason: str | None
    document_name: str | None
    document_sha256: str | None
    submission: int

    @property
    def status(self) -> str:
        return "已撤销" if self.revoked_at else ("有效" if self.issued_at else "尚未发出")

    def public(self) -> dict[str, str]:
        """What anyone holding the document may be shown: what the document itself prints, and its status (a
        revocation's date, not its reason)."""
        shown = {"title": self.title, "number": self.number, "to": self.to, "issuer": self.issuer,
                 "date": self.date, "valid_until": self.valid_until, "status": self.status}
        if self.revoked_at:
            shown["revoked"] = _day(self.revoked_at)
        return shown


def _day(moment: dt.datetime) -> str:
    return chinese_date(moment.astimezone().date())


def _record(decision: Decision) -> Record:
    data = decision.notice_data or {}
    shown: dict[str, str] = {}
    title = decision.notice or ""
    if data and decision.notice:
        try:
            shown = verification_code.essentials(decision.notice, data)
            title = shown["title"]
        except UnknownForm:
            pass
    elif decision.notice:
        try:
            title = form(decision.notice).title
        except UnknownForm:
            pass
    number = (verification_code.split(decision.verification_code) or ("", ""))[0] if decision.verification_code \
        else decision.document_number or ""
    return Record(number=number or decision.document_number or "", code=decision.verification_code,
                  notice=decision.notice or "", title=title,
                  to=shown.get("to") or decision.submission.applicant_name or "",
                  issuer=shown.get("issuer", ""),
                  date=shown.get("date") or (_day(decision.issued_at) if decision.issued_at else ""),
                  valid_until=shown.get("valid_until", ""), issued_at=decision.issued_at,
                  revoked_at=decision.revoked_at, revoked_reason=decision.revoked_reason,
                  document_name=decision.document_name, document_sha256=decision.document_sha256,
                  submission=decision.submission_id)


def _by_code(session: Session, code: str) -> Decision | None:
    found: Decision | None = session.scalar(sa.select(Decision).where(Decision.verification_code == code))
    return found


def _by_number(session: Session, number: str) -> Decision | None:
    """The issued decision of a number: its document's number, or any number it was given (证书编号 …)."""
    number = number.strip()
    found: Decision | None = session.scalar(
        sa.select(Decision).where(sa.or_(Decision.document_number == number, Decision.verification_code == number,
                                         Decision.id.in_(sa.select(Number.decision_id).where(Number.text == number))))
        .order_by(Decision.id))
    return found


def record_of(ledger: Ledger, code: str) -> Record | None:
    """The record of the notice whose verification code (or link) is ``code``; None when there is none."""
    parts = verification_code.split(code)
    if parts is None:
        return None
    text = f"{parts[0]}-{parts[1]}"
    with ledger.reading() as session:
        decision = _by_code(session, text)
        if decision is None or decision.document_sha256 is None:
            return None
        return _record(decision)


def revoke(ledger: Ledger, number: str, reason: str, by: str | None = None) -> Record:
    """Revoke the issued notice ``number`` (its 发文字号, 证书编号 or verification code) for ``reason``; the record
    as it now stands. ``NotRevocable`` when no issued notice has the number, or it is revoked already."""
    reason = reason.strip()
    if not reason:
        raise NotRevocable("请写明撤销的理由（--reason）")

    def work(session: Session) -> Record:
        decision = _by_number(session, number)
        if decision is None or decision.document_sha256 is None:
            raise NotRevocable(f"台账中没有已发出的编号为「{number}」的通知")
        if decision.revoked_at is not None:
            raise NotRevocable(f"「{number}」已于{_day(decision.revoked_at)}撤销：{decision.revoked_reason}")
        decision.revoked_at, decision.revoked_by, decision.revoked_reason = now(), by, reason
        log(session, "revoked", decision.submission_id, by, notice=decision.notice, number=number.strip(),
            code=decision.verification_code, reason=reason)
        return _record(decision)

    return ledger.write(work)


def verify_document(pdf: bytes, trust: Sequence[x509.Certificate] = (), ledger: Ledger | None = None) -> Verdict:
    """The whole check of ``pdf`` (see the module's text); ``signing.UnusablePdf`` for a file that is no PDF."""
    verdict = verify(pdf, trust)
    text = verification_code.document_text(pdf)
    verdict = verification_code.check(verdict, text)
    if ledger is not None:
        verdict = _against(ledger, verdict, pdf, text)
    return verdict


def _against(ledger: Ledger, verdict: Verdict, pdf: bytes, text: str) -> Verdict:
    """``verdict`` with what the ledger says of the document's code."""
    if verdict.code is None:
        return verdict.adding(Problem("unknown", "文件上没有验证码：不是本机关台账发出的通知"))
    number, short = verification_code.split(verdict.code) or ("", "")
    with ledger.reading() as session:
        decision = _by_code(session, verdict.code)
        if decision is None or decision.document_sha256 is None:
            other = _by_number(session, number)
            if other is None or other.document_sha256 is None:
                return verdict.adding(Problem("unknown", f"台账中没有发出过编号为「{number}」的文件："
                                                         "验证码不是本机关发出的"))
            recorded = other.verification_code or "（无）"
            return verdict.adding(Problem("mismatch", f"台账中「{number}」的验证码为 {recorded}，文件上的是 "
                                                      f"{verdict.code}：文件内容与发出时不同，或验证码是伪造的"),
                                  record=_record(other))
        record = _record(decision)
    problems: list[Problem] = []
    notes = list(verdict.notes)
    if record.revoked_at is not None:
        problems.append(Problem("revoked", f"「{record.number}」已于{_day(record.revoked_at)}撤销："
                                           f"{record.revoked_reason}"))
    digest = hashlib.sha256(pdf).hexdigest()
    if record.document_sha256 == digest:
        notes.append("与台账记录的文件逐字节相同（SHA-256 一致）")
    elif (record.document_name or "").lower().endswith(".pdf"):
        problems.append(Problem("altered", f"不是台账记录的那份文件：SHA-256 为 {digest[:16]}…，"
                                           f"台账记录的是 {str(record.document_sha256)[:16]}…"))
    else:
        notes.append("台账记录的是 Word 文件：按验证码和文件上的内容核对")
    rest = verification_code.without_code(text, verdict.code)
    missing = [label for label, value in (("编号", record.number), ("发给的单位", record.to), ("成文日期", record.date))
               if value and not verification_code.shows(rest, value)]
    if missing and "copied" not in verdict.kinds():
        problems.append(Problem("copied", f"验证码属于发给{record.to}的{record.title}（{record.number}），但本文件上"
                                          f"没有其{'、'.join(missing)}：验证码是从另一份文件复制来的"))
    return verdict.adding(*problems, record=record, notes=tuple(notes))
