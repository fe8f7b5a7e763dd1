"""The placement call: the level it found with its evidence and the learner's answer, and
"Skip, I know my level" remembered in the classroom preferences.

Revision ID: 0006_placement
Revises: 0005_issue_15
Create Date: 2026-11-30 08:18:50.916986
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_placement"
down_revision: str | Sequence[str] | None = "0005_issue_15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "placements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(length=2), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("level_before", sa.String(length=2), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["practice_sessions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id"),
    )
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_placements_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("classroom_preferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("placement_skipped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("classroom_preferences", schema=None) as batch_op:
        batch_op.drop_column("placement_skipped_at")

    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placements_user_id"))

    op.drop_table("placements")
