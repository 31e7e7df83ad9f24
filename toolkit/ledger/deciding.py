"""A decision on a submission, recorded: the library decides (``decision.decide``, the office's view of the
application) and the ledger records who decided what, when and why — or records that it refused. An approval is
refused while a rule fails or something is still pending (an office's section blank, no expert score); a
rejection lists the rules that fail and is refused when none does. The office's own sections (审查意见, 专家评分)
may be entered with the decision; they become part of the submission's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from .. import fields
from ..catalogue import Form, form
from ..decision import NoApprovalNotice, decide
from ..errors import ShenbaoError, UnusableInput
from ..validation import Finding, Report, check
from .models import Decision, Submission, now
from .receiving import finding
from .statuses import APPROVED, OPEN, REJECTED, RESUBMITTED, UNREADABLE
from .store import Ledger, log, submission


class NotDecidable(ShenbaoError):
    """The submission cannot be decided: unreadable, already decided, or replaced by a resubmission."""


@dataclass(frozen=True)
class Ruling:
    """The outcome of ``decide_submission``: ``recorded`` (the decision is in the ledger) or refused, with the
    office's check it rests on, the rules that fail and the items still pending."""

    submission: int
    verdict: str  # 通过 | 不予通过: what was asked for
    recorded: bool
    report: Report
    failed: list[Finding] = field(default_factory=list)
    pending: list[Finding] = field(default_factory=list)
    notice: str | None = None

    @property
    def reason(self) -> str:
        """Why the decision was refused (empty when recorded)."""
        if self.recorded:
            return ""
        if self.pending:
            return "尚有待办事项，暂不能作出决定"
        if self.verdict == APPROVED:
            return "有未通过的条件，不能批准"
        return "没有未通过的条件：不予通过通知须逐项列明未通过的条款"


def decide_submission(ledger: Ledger, submission_id: int, verdict: str, by: str, note: str | None = None,
                      review: Mapping[str, Any] | None = None) -> Ruling:
    """Decide submission ``submission_id`` as ``verdict`` (通过 or 不予通过) in the name of ``by``; ``review`` holds
    the office's sections entered now. Recorded only when the office's check agrees; refusals are logged too."""
    if verdict not in (APPROVED, REJECTED):
        raise ValueError(f"verdict must be {APPROVED} or {REJECTED}, not {verdict!r}")
    if not by.strip():
        raise UnusableInput("--by", "请写明作出决定的人 (who decides)")
    with ledger.reading() as session:
        item = submission(session, submission_id)
        _decidable(item)
        target = form(item.form)
        data = fields.merged(item.data or {}, _review(target, review or {}))
    ruling = _ruling(target, submission_id, data, verdict)
    ledger.write(lambda session: _record(session, ruling, by.strip(), note, review or {}, data))
    return ruling


def _decidable(item: Submission) -> None:
    if item.status == UNREADABLE:
        raise NotDecidable(f"申请 {item.id}（{item.file_name}）无法读取，不能作出决定：{item.reason}")
    if item.status == RESUBMITTED:
        raise NotDecidable(f"申请 {item.id} 已由申请人重新提交，请对重新提交的申请作出决定"
                           f"（shenbao ledger history {item.id}）")
    if item.decision is not None or item.status not in OPEN:
        decided = item.decision
        who = f"：{decided.verdict}，{decided.decided_by}" if decided else ""
        raise NotDecidable(f"申请 {item.id} 已作出决定{who}")


def _review(target: Form, review: Mapping[str, Any]) -> dict[str, Any]:
    """The office's sections entered with the decision; anything else is the applicant's and refused."""
    if not isinstance(review, Mapping):
        raise UnusableInput("--review", "应为 JSON 对象：审核部门填写的部分（如审查意见、专家评分）")
    sections = set(target.office_sections)
    outside = [key for key in review if f"/{key}" not in sections]
    if outside:
        allowed = "、".join(f"{fields.title(target, p)}（{p[1:]}）" for p in target.office_sections) or "（本表单没有）"
        raise UnusableInput("--review", f"「{'」「'.join(outside)}」不是审核部门填写的部分，不能在决定时修改；"
                                        f"可填写：{allowed}")
    return dict(review)


def _ruling(target: Form, submission_id: int, data: dict[str, Any], verdict: str) -> Ruling:
    """What the library decides on the data, set against the ``verdict`` asked for."""
    try:
        decided = decide(target, data, {}, {})
        report, outcome = decided.report, decided.verdict
        notice = decided.notice.id if decided.notice else None
    except NoApprovalNotice:  # approved, but the form has no approval notice (a record): a decision without one
        report, outcome, notice = check(target, data, stage="office"), "approved", None
    failed = [f for f in report.errors if not f.pending]
    pending = report.pending
    wanted = "approved" if verdict == APPROVED else "rejected"
    return Ruling(submission_id, verdict, outcome == wanted, report, failed, pending, notice)


def _record(session: Session, ruling: Ruling, by: str, note: str | None, review: Mapping[str, Any],
            data: dict[str, Any]) -> None:
    item = submission(session, ruling.submission)
    failed = [_cited(f) for f in ruling.failed]
    if not ruling.recorded:
        log(session, "refused", item, by, verdict=ruling.verdict, reason=ruling.reason, failed=failed,
            pending=[_cited(f) for f in ruling.pending], note=note)
        return
    _decidable(item)  # decided meanwhile by someone else: refused, nothing written
    moment = now()
    if review:
        item.data = data
        log(session, "review", item, by, entered=dict(review))
    item.findings += [finding(f, "office") for f in ruling.report.findings]
    item.decision = Decision(verdict=ruling.verdict, decided_by=by, decided_at=moment, note=note,
                             notice=ruling.notice)
    item.status, item.updated_at = ruling.verdict, moment
    log(session, "decision", item, by, verdict=ruling.verdict, note=note, notice=ruling.notice, failed=failed)


def _cited(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "clause": f.clause, "path": f.path, "title": f.title, "message": f.message}
