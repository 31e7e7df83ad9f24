"""Numbers allocated by the ledger, never typed (the numbers table; a decision's document and when it went out),
and a corrected resubmission linked to the submission it corrects (earlier rows linked by their applicant).

Revision ID: 0002
Revises: 0001
Create Date: 2024-11-20
"""

import sqlalchemy as sa
from alembic import op

UTCDateTime = sa.DateTime(timezone=True)  # UTC moments (toolkit.ledger.models.UTCDateTime)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as table:  # SQLite: the table is copied, every row kept
        table.add_column(sa.Column("previous_id", sa.Integer))
        table.create_foreign_key("fk_submissions_previous_id", "submissions", ["previous_id"], ["id"])
        table.create_index("ix_submissions_previous_id", ["previous_id"])
    op.execute("UPDATE submissions SET previous_id = (SELECT max(earlier.id) FROM submissions AS earlier "
               "WHERE earlier.form = submissions.form AND earlier.applicant_uscc = submissions.applicant_uscc "
               "AND earlier.id < submissions.id AND earlier.status <> '无法读取') "
               "WHERE applicant_uscc IS NOT NULL")
    with op.batch_alter_table("decisions") as table:
        table.add_column(sa.Column("document_name", sa.String(1000)))
        table.add_column(sa.Column("issued_at", UTCDateTime))
    op.execute("UPDATE decisions SET issued_at = decided_at WHERE document_sha256 IS NOT NULL")
    op.create_table(
        "numbers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("series", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("notice", sa.String(100), nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("decision_id", sa.Integer, nullable=False),
        sa.Column("allocated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_numbers"),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], name="fk_numbers_decision_id"),
        sa.UniqueConstraint("series", "year", "n", name="uq_numbers_series_year_n"),
        sa.UniqueConstraint("decision_id", "field", name="uq_numbers_decision_field"),
    )
    op.create_index("ix_numbers_decision_id", "numbers", ["decision_id"])


def downgrade() -> None:
    op.drop_table("numbers")
    with op.batch_alter_table("decisions") as table:
        table.drop_column("issued_at")
        table.drop_column("document_name")
    with op.batch_alter_table("submissions") as table:
        table.drop_index("ix_submissions_previous_id")
        table.drop_constraint("fk_submissions_previous_id", type_="foreignkey")
        table.drop_column("previous_id")
