"""Numbers handed out, never typed: the next number of a series (the office profile's format, each year afresh when
the format names the year) allocated to a decision in one transaction, so that two issuers at once never share a
number — SQLite's writers take turns, PostgreSQL's wait on an advisory lock, and a unique key on (series, year, n)
holds in any case. A decision keeps the numbers it was given: asked again (a rerun after a crash), it gets the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..office import Numbering
from .models import Decision, Number, now
from .store import Ledger, lock, log


def allocate(ledger: Ledger, decision_id: int, numberings: Sequence[Numbering], year: int) -> list[Number]:
    """The numbers of a decision's notice, one per numbered field: those it holds, else the next ones of their
    series in ``year``."""
    return ledger.write(lambda session: [_allocate(session, decision_id, n, year) for n in numberings])


def _allocate(session: Session, decision_id: int, numbering: Numbering, year: int) -> Number:
    held = session.scalar(sa.select(Number).where(Number.decision_id == decision_id,
                                                  Number.field == numbering.path))
    if held is not None:
        return held
    key = year if numbering.yearly else 0
    lock(session, "number", numbering.pattern, key)
    last = session.scalar(sa.select(sa.func.max(Number.n)).where(Number.series == numbering.pattern,
                                                                 Number.year == key))
    n = max(last or 0, numbering.first - 1) + 1
    number = Number(series=numbering.pattern, year=key, n=n, text=numbering.text(year, n), notice=numbering.notice,
                    field=numbering.path, decision_id=decision_id, allocated_at=now())
    session.add(number)
    session.flush()  # a number taken meanwhile (the unique key) makes the transaction start again
    decision = session.get(Decision, decision_id)
    assert decision is not None
    log(session, "number", decision.submission_id, notice=numbering.notice, field=numbering.path, text=number.text,
        series=numbering.pattern, year=key, n=n)
    return number


def value(numbering: Numbering, number: Number) -> object:
    """What the notice's data holds for an allocated number: ``{year, serial}`` for a 发文字号, else its text."""
    return {"year": number.year, "serial": number.n} if numbering.document_number else number.text
