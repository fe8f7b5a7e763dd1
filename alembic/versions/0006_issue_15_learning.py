"""Learning between lessons: unclear words, the vocabulary deck (FSRS cards), weekly goals.

Revision ID: 0005_issue_15
Revises: 0004_issue10
Create Date: 2026-11-30 05:59:25.660976
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_issue_15"
down_revision: str | Sequence[str] | None = "0004_issue10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_goals",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("weekly_minutes", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.Column("reminded_week", sa.String(length=10), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "deck_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_session_id", sa.Uuid(), nullable=True),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.Column("last_reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_review_session_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_session_id"], ["practice_sessions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key", name="uq_deck_item_user_key"),
    )
    with op.batch_alter_table("deck_items", schema=None) as batch_op:
        batch_op.create_index("ix_deck_items_user_due", ["user_id", "due_at"], unique=False)

    op.create_table(
        "unclear_words",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("provider_item_id", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=100), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["practice_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "provider_item_id", "position", name="uq_unclear_word_position"),
    )
    with op.batch_alter_table("unclear_words", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unclear_words_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unclear_words", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unclear_words_session_id"))

    op.drop_table("unclear_words")
    with op.batch_alter_table("deck_items", schema=None) as batch_op:
        batch_op.drop_index("ix_deck_items_user_due")

    op.drop_table("deck_items")
    op.drop_table("learning_goals")
