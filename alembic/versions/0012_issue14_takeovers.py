"""Call ownership: how many times a live call was taken over by another worker, so that
the learner's page may fill in what was said while no worker listened (only then).

Revision ID: 0008_takeovers
Revises: 0007_hung_up_at
Create Date: 2026-11-30 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_takeovers"
down_revision: str | Sequence[str] | None = "0007_hung_up_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("practice_sessions") as batch:
        batch.add_column(sa.Column("takeovers", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("practice_sessions") as batch:
        batch.drop_column("takeovers")
