"""Submissions made online: an application's data, checked by the library and recorded in the ledger as 待审 (or
待补正 with its errors) together with the files that go with it, and a receipt — an unguessable link — that lets the
applicant follow that one submission. Files staff receive and take in online are kept the same way.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..catalogue import Form, form
from ..validation import check
from .models import Document, Receipt, Submission, now
from .receiving import _earlier, finding
from .statuses import OPEN, RESUBMITTED, TO_CORRECT, TO_REVIEW
from .store import Ledger, log

TOKEN_BYTES = 24  # 32 URL-safe characters: a receipt's token cannot be guessed


@dataclass(frozen=True)
class Attachment:
    """A file to keep with a submission."""

    name: str
    media_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Submitted:
    """A submission recorded: its number in the ledger, its status, the receipt's token (shown once) and the
    errors the check found."""

    submission: int
    status: str
    token: str
    errors: int


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def submit(ledger: Ledger, target: Form | str, data: Mapping[str, Any], attachments: Sequence[Attachment] = (),
           *, channel: str = "web") -> Submitted:
    """Check ``data`` as an application of ``target`` and record it with its ``attachments``; the receipt."""
    target = form(target)
    report = check(target, data)
    token = secrets.token_urlsafe(TOKEN_BYTES)

    def record(session: Session) -> Submitted:
        moment = now()
        applicant = _applicant(target, report_data)
        item = Submission(form=target.id, file_name=attachments[0].name if attachments else f"{channel}:{target.id}",
                          sha256=None, data=report_data, rules_version=report.rules_version,
                          applicant_name=applicant[0], applicant_uscc=applicant[1], received_at=moment,
                          updated_at=moment)
        item.findings = [finding(f, "application") for f in report.findings]
        item.status = TO_CORRECT if report.errors else TO_REVIEW
        earlier = _earlier(session, target, item)
        item.previous_id = earlier.id if earlier else None
        session.add(item)
        session.flush()
        keep(session, item.id, attachments, "submitted")
        session.add(Receipt(submission_id=item.id, token_sha256=token_digest(token), created_at=moment))
        log(session, "submit", item, channel=channel, status=item.status, errors=len(report.errors),
            files=[a.name for a in attachments], previous=item.previous_id)
        if earlier is not None and earlier.status in OPEN:
            earlier.status, earlier.updated_at = RESUBMITTED, moment
            log(session, "resubmitted", earlier, by=item.id, file=item.file_name)
        return Submitted(item.id, item.status, token, len(report.errors))

    from ..fields import without_blanks
    from ..reading import read

    report_data = without_blanks(target, read(target, dict(data))[0])
    return ledger.write(record)


def _applicant(target: Form, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    from ..fields import at

    found = at(dict(data), target.applicant, {}) if target.applicant else {}
    if not isinstance(found, dict):
        return None, None
    name = str(found.get("name") or "").strip()[:500] or None
    uscc = str(found.get("uscc") or "").replace(" ", "").upper() or None
    return name, uscc


def keep(session: Session, submission_id: int | None, attachments: Sequence[Attachment], kind: str) -> list[int]:
    """Store ``attachments`` in the caller's transaction; their ids."""
    rows = [Document(submission_id=submission_id, kind=kind, name=a.name[:1000], media_type=a.media_type,
                     sha256=a.sha256, size=len(a.content), content=a.content, created_at=now()) for a in attachments]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def by_receipt(session: Session, token: str) -> Submission | None:
    """The submission a receipt's token opens, or None."""
    query = sa.select(Receipt.submission_id).where(Receipt.token_sha256 == token_digest(token))
    submission_id = session.scalar(query)
    return session.get(Submission, submission_id) if submission_id is not None else None


def documents(session: Session, submission_id: int) -> list[Document]:
    """The files kept with a submission, without their bytes loaded until asked."""
    query = (sa.select(Document).where(Document.submission_id == submission_id).order_by(Document.id)
             .options(sa.orm.defer(Document.content)))
    return list(session.scalars(query))
