"""Call ownership: which worker process supervises each live call (a lease), and the
worker processes with their heartbeats (issue 14).

Revision ID: 0006_call_owner
Revises: 0005_issue_15
Create Date: 2026-11-30 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_call_owner"
down_revision: str | Sequence[str] | None = "0005_issue_15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practice_sessions") as batch:
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("owner_id", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("end_requested", sa.String(length=32), nullable=True))
        batch.create_index("ix_practice_sessions_owner_id", ["owner_id"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workers_heartbeat_at", "workers", ["heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_workers_heartbeat_at", table_name="workers")
    op.drop_table("workers")
    with op.batch_alter_table("practice_sessions") as batch:
        batch.drop_index("ix_practice_sessions_owner_id")
        batch.drop_column("end_requested")
        batch.drop_column("lease_expires_at")
        batch.drop_column("owner_id")
        batch.drop_column("answered_at")
