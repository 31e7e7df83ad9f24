"""The ledger's tables as SQLAlchemy models: submissions with their findings, decisions, allocated numbers and the
append-only event log. The migrations in ``migrations/versions`` build exactly these tables (a test compares them).

Times are stored in UTC and come back aware; JSON columns keep the data as the workflows give it (exact decimals
read back as ``Decimal``; a finding's figures as JSON text, so that SQLite keeps a bare number exact). Statuses and
verdicts are the words the office uses (``statuses``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .database import dumps, loads
from .statuses import APPROVED, OPEN, REJECTED, RESUBMITTED, STATUSES, TO_CORRECT, TO_REVIEW, UNREADABLE

__all__ = ["APPROVED", "OPEN", "REJECTED", "RESUBMITTED", "STATUSES", "TO_CORRECT", "TO_REVIEW", "UNREADABLE",
           "Base", "Decision", "Document", "Event", "Finding", "JSONText", "Job", "Login", "Number", "Receipt",
           "Submission", "UTCDateTime", "User", "now"]


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A moment, stored in UTC (SQLite keeps no offset) and read back aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.astimezone(dt.UTC).replace(tzinfo=None if dialect.name == "sqlite" else dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class JSONText(sa.TypeDecorator[Any]):
    """Any JSON value kept as its text — a bare number too, which SQLite would otherwise turn into a float."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else dumps(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else loads(value)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Constraint and index names are fixed (the migrations use the same): SQLite's batch migrations need names.
NAMING = {"ix": "ix_%(table_name)s_%(column_0_name)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime}


class Submission(Base):
    """One file received for one form: what it claimed (the data read out of it), who sent it, what became of it."""

    __tablename__ = "submissions"
    __table_args__ = (sa.UniqueConstraint("form", "sha256", name="uq_submissions_form_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(sa.String(100), index=True)
    rules_version: Mapped[str | None] = mapped_column(sa.String(40))
    applicant_name: Mapped[str | None] = mapped_column(sa.String(500), index=True)
    applicant_uscc: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(1000))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    reason: Mapped[str | None] = mapped_column(sa.Text)  # why a file could not be read
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submissions.id", name="fk_submissions_previous_id"),
                                                    index=True)  # the earlier submission this one corrects
    received_at: Mapped[dt.datetime] = mapped_column(index=True)
    updated_at: Mapped[dt.datetime]

    findings: Mapped[list[Finding]] = relationship(back_populates="submission", order_by="Finding.id",
                                                   cascade="all, delete-orphan")
    decision: Mapped[Decision | None] = relationship(back_populates="submission")


class Finding(Base):
    """One finding of a check of a submission — at intake (``stage`` application) or when it was decided
    (``office``) —: the rule, its clause, the field, and the figures."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", name="fk_findings_submission_id"),
                                               index=True)
    rule: Mapped[str] = mapped_column(sa.String(200))
    clause: Mapped[str] = mapped_column(sa.String(200))
    path: Mapped[str] = mapped_column(sa.String(500))
    title: Mapped[str] = mapped_column(sa.String(1000))
    severity: Mapped[str] = mapped_column(sa.String(20))
    message: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[Any | None] = mapped_column(JSONText)  # the applicant's figure, exactly
    bound: Mapped[Any | None] = mapped_column(JSONText)
    unit: Mapped[str] = mapped_column(sa.String(20))
    pending: Mapped[bool]
    stage: Mapped[str] = mapped_column(sa.String(20))

    submission: Mapped[Submission] = relationship(back_populates="findings")


class Decision(Base):
    """The office's decision on a submission — who, when, the verdict and why — and the notice that went out:
    which notice, under which number, in which document (its SHA-256), with which verification code; and, should
    the notice be revoked, when, by whom and why."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", name="fk_decisions_submission_id"),
                                               unique=True)
    verdict: Mapped[str] = mapped_column(sa.String(20))
    decided_by: Mapped[str] = mapped_column(sa.String(200))
    decided_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(sa.Text)
    notice: Mapped[str | None] = mapped_column(sa.String(100), index=True)  # the notice the decision sends
    document_number: Mapped[str | None] = mapped_column(sa.String(200))
    document_name: Mapped[str | None] = mapped_column(sa.String(1000))
    document_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    issued_at: Mapped[dt.datetime | None]
    # the verification code printed on the notice (number and the first characters of the SHA-256 of its data),
    # the whole SHA-256 and the data it was taken of (``verification_code``); a revocation: when, by whom, why
    verification_code: Mapped[str | None] = mapped_column(sa.String(300), unique=True)
    content_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    notice_data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(200))
    revoked_reason: Mapped[str | None] = mapped_column(sa.Text)

    submission: Mapped[Submission] = relationship(back_populates="decision")
    numbers: Mapped[list[Number]] = relationship(back_populates="decision", order_by="Number.id")


class Number(Base):
    """A number handed out for a notice's field (发文字号, 证书编号): the ``n``-th of its ``series`` (the office
    profile's format) in ``year``, written as ``text``. No two decisions ever share one."""

    __tablename__ = "numbers"
    __table_args__ = (sa.UniqueConstraint("series", "year", "n", name="uq_numbers_series_year_n"),
                      sa.UniqueConstraint("decision_id", "field", name="uq_numbers_decision_field"))

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[str] = mapped_column(sa.String(200))
    year: Mapped[int]
    n: Mapped[int]
    text: Mapped[str] = mapped_column(sa.String(200))
    notice: Mapped[str] = mapped_column(sa.String(100))
    field: Mapped[str] = mapped_column(sa.String(200))
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("decisions.id", name="fk_numbers_decision_id"), index=True)
    allocated_at: Mapped[dt.datetime]

    decision: Mapped[Decision] = relationship(back_populates="numbers")


class Event(Base):
    """One line of the append-only log: what happened (``kind``), to which submission, by whom, with the details.
    The database refuses to change or delete a line (triggers)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submissions.id", name="fk_events_submission_id"),
                                                      index=True)
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(sa.String(40))
    actor: Mapped[str | None] = mapped_column(sa.String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class Document(Base):
    """A file the ledger keeps: what an applicant uploaded or submitted (``kind`` ``submitted``), or what a job
    made for the office (``kind`` ``job``: a zip of notices, an export) — its bytes, name and SHA-256."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("submissions.id", name="fk_documents_submission_id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(1000))
    media_type: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime]


class Receipt(Base):
    """The applicant's link to one submission: only the SHA-256 of its random token is kept, so that the ledger's
    database alone gives no one a way in."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", name="fk_receipts_submission_id"),
                                               unique=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime]


class User(Base):
    """A member of the office's staff who signs in to the web application (``shenbao user add``): the password
    kept only as its argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(500))
    active: Mapped[bool]
    created_at: Mapped[dt.datetime]


class Login(Base):
    """A signed-in browser: the SHA-256 of its session cookie, its CSRF token, and until when it holds."""

    __tablename__ = "logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", name="fk_logins_user_id"), index=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    csrf: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]

    user: Mapped[User] = relationship()


class Job(Base):
    """Long work the web application runs in the background (issuing a batch of notices, a PDF): who asked, how
    far it is, and what came of it — a document, or the reason it failed."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(1000))
    state: Mapped[str] = mapped_column(sa.String(20), index=True)
    done: Mapped[int]
    total: Mapped[int]
    message: Mapped[str | None] = mapped_column(sa.Text)
    requested_by: Mapped[str | None] = mapped_column(sa.String(200))
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id", name="fk_jobs_document_id"))
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
