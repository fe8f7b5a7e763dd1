"""A level per language: `learner_levels` (user, language, level, placement skipped)
replaces `users.english_level` and `classroom_preferences.placement_skipped_at`.

Every existing user's `english_level` becomes their English row, with their "Skip, I know
my level" if they had one. Downgrading puts each user's English row back into
`users.english_level` and its skip into their classroom preferences, and drops the other
languages' levels.

Revision ID: 0007_learner_levels
Revises: 0008_takeovers
Create Date: 2026-11-30 09:50:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision: str = "0007_learner_levels"
down_revision: str | Sequence[str] | None = "0008_takeovers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The CEFR levels as this revision knows them (a migration does not follow the app's code).
CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


def upgrade() -> None:
    # Every user's level so far becomes their English row (ids made here: SQLite has no
    # uuid function).
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("english_level", sa.String(2)))
    preferences = sa.table(
        "classroom_preferences",
        sa.column("user_id", sa.Uuid()),
        sa.column("placement_skipped_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored as naive UTC there, like the app does
    skipped = dict(
        connection.execute(
            sa.select(preferences.c.user_id, preferences.c.placement_skipped_at).where(
                preferences.c.placement_skipped_at.is_not(None)
            )
        ).all()
    )
    carried = [
        {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "language": "en",
            "level": level if level in CEFR_LEVELS else "B1",
            "placement_skipped_at": skipped.get(user_id),
            "updated_at": now,
        }
        for user_id, level in connection.execute(sa.select(users.c.id, users.c.english_level))
        if level in CEFR_LEVELS or user_id in skipped
    ]
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+), never a rebuild: rebuilding `users`
    # with foreign keys on would delete every row that cascades from it.
    with op.batch_alter_table("users", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("english_level")
    with op.batch_alter_table("classroom_preferences", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("placement_skipped_at")
    levels = op.create_table(
        "learner_levels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=2), nullable=False),
        sa.Column("placement_skipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "language", name="uq_learner_levels_user_language"),
    )
    if carried:
        op.bulk_insert(levels, carried)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("english_level", sa.String(length=2), server_default="B1", nullable=False)
        )
    op.execute(
        "UPDATE users SET english_level = (SELECT level FROM learner_levels "
        "WHERE learner_levels.user_id = users.id AND learner_levels.language = 'en') "
        "WHERE EXISTS (SELECT 1 FROM learner_levels "
        "WHERE learner_levels.user_id = users.id AND learner_levels.language = 'en')"
    )
    with op.batch_alter_table("classroom_preferences", schema=None) as batch_op:
        batch_op.add_column(sa.Column("placement_skipped_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE classroom_preferences SET placement_skipped_at = (SELECT placement_skipped_at "
        "FROM learner_levels WHERE learner_levels.user_id = classroom_preferences.user_id "
        "AND learner_levels.language = 'en')"
    )
    op.drop_table("learner_levels")
