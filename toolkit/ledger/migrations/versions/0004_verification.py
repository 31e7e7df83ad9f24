"""Issued notices that can be checked: each decision's verification code (unique), the SHA-256 of the notice's data
and the data itself, and its revocation (when, by whom, why).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

UTCDateTime = sa.DateTime(timezone=True)  # UTC moments (toolkit.ledger.models.UTCDateTime)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as table:  # SQLite: the table is copied, every row kept
        table.add_column(sa.Column("verification_code", sa.String(300)))
        table.add_column(sa.Column("content_sha256", sa.String(64)))
        table.add_column(sa.Column("notice_data", sa.JSON))
        table.add_column(sa.Column("revoked_at", UTCDateTime))
        table.add_column(sa.Column("revoked_by", sa.String(200)))
        table.add_column(sa.Column("revoked_reason", sa.Text))
        table.create_unique_constraint("uq_decisions_verification_code", ["verification_code"])


def downgrade() -> None:
    with op.batch_alter_table("decisions") as table:
        table.drop_constraint("uq_decisions_verification_code", type_="unique")
        for column in ("revoked_reason", "revoked_by", "revoked_at", "notice_data", "content_sha256",
                       "verification_code"):
            table.drop_column(column)
