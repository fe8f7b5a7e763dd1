"""Classroom, feedback and payment columns; one open call per learner.

Existing rows get empty/false/zero defaults for the new NOT NULL columns.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:03:00.020272
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_id", sa.String(length=100), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("customer_email", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("refunded_cents", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("voice", sa.String(length=32), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("instructions", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("low_balance_warned", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "uq_practice_sessions_one_open_call",
            ["user_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('starting', 'live')"),
            sqlite_where=sa.text("status IN ('starting', 'live')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_practice_sessions_one_open_call",
            postgresql_where=sa.text("status IN ('starting', 'live')"),
            sqlite_where=sa.text("status IN ('starting', 'live')"),
        )
        batch_op.drop_column("low_balance_warned")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("instructions")
        batch_op.drop_column("simulated")
        batch_op.drop_column("voice")
        batch_op.drop_column("model")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("refunded_cents")
        batch_op.drop_column("note")
        batch_op.drop_column("customer_email")
        batch_op.drop_column("product_id")

    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("started_at")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("summary")
