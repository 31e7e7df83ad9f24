"""The ledger: submissions with their findings, decisions (numbers typed by hand) and the append-only event log.

Revision ID: 0001
Revises:
Create Date: 2024-11-08
"""

import sqlalchemy as sa
from alembic import op

UTCDateTime = sa.DateTime(timezone=True)  # UTC moments (toolkit.ledger.models.UTCDateTime)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = "the event log is append-only"


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form", sa.String(100), nullable=False),
        sa.Column("rules_version", sa.String(40)),
        sa.Column("applicant_name", sa.String(500)),
        sa.Column("applicant_uscc", sa.String(40)),
        sa.Column("file_name", sa.String(1000), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("data", sa.JSON),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_submissions"),
        sa.UniqueConstraint("form", "sha256", name="uq_submissions_form_sha256"),
    )
    for column in ("form", "applicant_name", "applicant_uscc", "status", "received_at"):
        op.create_index(f"ix_submissions_{column}", "submissions", [column])
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("clause", sa.String(200), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("value", sa.Text),  # JSON text
        sa.Column("bound", sa.Text),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("pending", sa.Boolean, nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], name="fk_findings_submission_id"),
    )
    op.create_index("ix_findings_submission_id", "findings", ["submission_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("notice", sa.String(100)),
        sa.Column("document_number", sa.String(200)),
        sa.Column("document_sha256", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], name="fk_decisions_submission_id"),
        sa.UniqueConstraint("submission_id", name="uq_decisions_submission_id"),
    )
    op.create_index("ix_decisions_notice", "decisions", ["notice"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], name="fk_events_submission_id"),
    )
    op.create_index("ix_events_submission_id", "events", ["submission_id"])
    _append_only()


def _append_only() -> None:
    """The database itself refuses to change or delete a line of the event log."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION ledger_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")
        op.execute("CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_events_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER events_no_{action.lower()} BEFORE {action} ON events "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER events_append_only ON events")
        op.execute("DROP FUNCTION ledger_events_append_only()")
    for table in ("events", "decisions", "findings", "submissions"):
        op.drop_table(table)
