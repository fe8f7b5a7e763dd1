"""Call ownership: when the provider acknowledged a hang-up sent by another process than
the call's owner (the web, for the learner), so that the owner charges up to that moment
on the provider's clock, not up to when it got round to seeing the sideband close.

Revision ID: 0007_hung_up_at
Revises: 0006_languages
Create Date: 2026-11-30 09:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_hung_up_at"
down_revision: str | Sequence[str] | None = "0006_languages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practice_sessions") as batch:
        batch.add_column(sa.Column("hung_up_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("practice_sessions") as batch:
        batch.drop_column("hung_up_at")
