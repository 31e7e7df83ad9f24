"""The ledger as a store: opened (and migrated) once, read in sessions, written in transactions — each retried when
another writer got in the way — with every change logged in the same transaction as an event.

A write is a function of a session: ``ledger.write(lambda session: …)`` runs it in one transaction (SQLite: BEGIN
IMMEDIATE), commits, and runs it again from the start when the database says another transaction conflicted (a
duplicate key two intakes inserted at once, a PostgreSQL serialisation failure, a lock not granted in time), so
the function reads the state it acts on inside the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..errors import ShenbaoError, UnusableInput
from . import database, schema
from .models import Decision, Event, Submission, now

T = TypeVar("T")
ATTEMPTS = 12  # a conflicting write is tried this often before the error is told


class UnknownSubmission(ShenbaoError):
    """No submission of the ledger has this id."""


class LedgerUnavailable(ShenbaoError):
    """The ledger's database cannot be opened or reached."""


class Ledger:
    """A ledger on the database ``db`` (a SQLite path or a SQLAlchemy URL), migrated to this release's schema."""

    def __init__(self, db: str | Path, *, create: bool = True) -> None:
        self.url = database.url_of(db)
        self.name = database.describe(self.url)
        if database.is_sqlite_file(self.url):
            path = Path(self.url.database or "")
            if not create and not path.is_file():
                raise UnusableInput(self.name, "台账不存在：请先用 shenbao intake 收件，或用 --db 指定台账 (no ledger)")
            path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = database.engine(self.url)
        self._writer = self.engine.execution_options(**{database.WRITE: True})
        for attempt in range(1, ATTEMPTS + 1):
            try:
                schema.ensure_current(self.engine)
                break
            except sa.exc.OperationalError as exc:  # another first use migrating meanwhile (SQLite: locked)
                if attempt < ATTEMPTS and _conflict(exc):
                    time.sleep(random.uniform(0.05, 0.2) * attempt)
                    continue
                self.engine.dispose()
                raise LedgerUnavailable(f"{self.name}: 无法打开台账数据库：{_first_line(exc)}") from None
            except sa.exc.DatabaseError as exc:  # cannot connect, not a database, no permission …
                self.engine.dispose()
                raise LedgerUnavailable(f"{self.name}: 无法打开台账数据库：{_first_line(exc)}") from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session to read in (one transaction, a consistent view)."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in one transaction, committed; run again when it conflicted with another writer."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with Session(self._writer, expire_on_commit=False) as session, session.begin():
                    return work(session)
            except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
                if attempt == ATTEMPTS or not _conflict(exc):
                    raise
                time.sleep(random.uniform(0.01, 0.05) * attempt)
        raise AssertionError("unreachable")

    def upgrade(self) -> tuple[str | None, str | None]:
        return schema.upgrade(self.engine)


def _conflict(exc: sa.exc.DBAPIError) -> bool:
    """A conflict with another transaction, worth trying again: a unique key taken meanwhile, a serialisation
    failure or deadlock (PostgreSQL), a lock not granted (SQLite)."""
    if isinstance(exc, sa.exc.IntegrityError):
        return "unique" in str(exc.orig).lower() or getattr(exc.orig, "sqlstate", "") == "23505"
    return getattr(exc.orig, "sqlstate", "") in ("40001", "40P01", "55P03") or "locked" in str(exc.orig).lower()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def log(session: Session, kind: str, submission: Submission | int | None, actor: str | None = None,
        **detail: Any) -> Event:
    """Append an event to the log, in the caller's transaction."""
    submission_id = submission.id if isinstance(submission, Submission) else submission
    event = Event(submission_id=submission_id, at=now(), kind=kind, actor=actor, detail=detail)
    session.add(event)
    return event


def lock(session: Session, *key: object) -> None:
    """Serialise the transactions that name the same ``key`` (PostgreSQL advisory lock; SQLite's writers are
    serialised already)."""
    if session.get_bind().dialect.name == "postgresql":
        digest = int.from_bytes(hashlib.sha256(repr(key).encode("utf-8")).digest()[:8], "big", signed=True)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": digest})


def submission(session: Session, submission_id: int) -> Submission:
    """The submission ``submission_id`` with its findings, decision and numbers; ``UnknownSubmission``."""
    found: Submission | None = session.scalar(_loaded(sa.select(Submission)).where(Submission.id == submission_id))
    if found is None:
        raise UnknownSubmission(f"台账中没有编号为 {submission_id} 的申请（shenbao ledger list 列出全部）")
    return found


def submissions(session: Session, *, form: str | None = None, status: str | None = None,
                since: dt.date | None = None, until: dt.date | None = None, applicant: str | None = None,
                ids: Sequence[int] | None = None) -> list[Submission]:
    """The submissions that pass every filter given, by id: received on or after ``since`` and on or before
    ``until`` (local dates), ``applicant`` a part of the name or the 统一社会信用代码."""
    query = _loaded(sa.select(Submission)).order_by(Submission.id)
    if form:
        query = query.where(Submission.form == form)
    if status:
        query = query.where(Submission.status == status)
    if since:
        query = query.where(Submission.received_at >= _local_midnight(since))
    if until:
        query = query.where(Submission.received_at < _local_midnight(until + dt.timedelta(days=1)))
    if applicant:
        pattern = f"%{applicant.strip()}%"
        query = query.where(sa.or_(Submission.applicant_name.like(pattern),
                                   Submission.applicant_uscc == applicant.strip().upper()))
    if ids is not None:
        query = query.where(Submission.id.in_(list(ids)))
    return list(session.scalars(query))


def _loaded(query: Any) -> Any:
    return query.options(selectinload(Submission.findings),
                         selectinload(Submission.decision).selectinload(Decision.numbers))


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()).astimezone()


def resubmissions(session: Session, submission_id: int) -> list[int]:
    """The submissions that correct ``submission_id`` (its applicant's later ones), by id."""
    query = sa.select(Submission.id).where(Submission.previous_id == submission_id).order_by(Submission.id)
    return list(session.scalars(query))


def events(session: Session, submission_id: int) -> list[Event]:
    """Every event of a submission, in the order they happened."""
    return list(session.scalars(sa.select(Event).where(Event.submission_id == submission_id).order_by(Event.id)))
