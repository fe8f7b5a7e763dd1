"""Classroom preferences: push-to-talk, backchannels, audio setup, last microphone check.

Revision ID: 0004_issue10
Revises: 0004_issue_11
Create Date: 2026-11-30 05:52:56.938356
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_issue10"
down_revision: str | Sequence[str] | None = "0004_issue_11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classroom_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("push_to_talk", sa.Boolean(), nullable=False),
        sa.Column("backchannel", sa.String(length=16), nullable=False),
        sa.Column("audio_setup", sa.String(length=16), nullable=False),
        sa.Column("mic_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("classroom_preferences")
