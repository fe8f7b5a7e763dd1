"""Languages: what a learner practises and is explained in; each session's and deck item's language.

Existing rows are English (the only language before this revision). Downgrading keeps
only the English deck items, since the old unique key allows one item per word.

Revision ID: 0006_languages
Revises: 0006_call_owner
Create Date: 2026-11-30 08:18:36.240415
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_languages"
down_revision: str | Sequence[str] | None = "0006_call_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deck_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), server_default="en", nullable=False))
        batch_op.drop_index(batch_op.f("ix_deck_items_user_due"))
        batch_op.drop_constraint(batch_op.f("uq_deck_item_user_key"), type_="unique")
        batch_op.create_index(
            "ix_deck_items_user_language_due", ["user_id", "language", "due_at"], unique=False
        )
        batch_op.create_unique_constraint("uq_deck_item_user_language_key", ["user_id", "language", "key"])

    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), server_default="en", nullable=False))
        batch_op.add_column(
            sa.Column("explanation_language", sa.String(length=8), server_default="en", nullable=False)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("target_language", sa.String(length=8), server_default="en", nullable=False)
        )
        batch_op.add_column(
            sa.Column("explanation_language", sa.String(length=8), server_default="en", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("explanation_language")
        batch_op.drop_column("target_language")

    with op.batch_alter_table("practice_sessions", schema=None) as batch_op:
        batch_op.drop_column("explanation_language")
        batch_op.drop_column("language")

    op.execute("DELETE FROM deck_items WHERE language <> 'en'")
    with op.batch_alter_table("deck_items", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deck_item_user_language_key", type_="unique")
        batch_op.drop_index("ix_deck_items_user_language_due")
        batch_op.create_unique_constraint(batch_op.f("uq_deck_item_user_key"), ["user_id", "key"])
        batch_op.create_index(batch_op.f("ix_deck_items_user_due"), ["user_id", "due_at"], unique=False)
        batch_op.drop_column("language")
