"""Background jobs on procrastinate: its schema (PostgreSQL only), the jobs' last errors,
and the feedback row's hand-made lease goes (the engine's worker heartbeats replace it).

Revision ID: 0006_issue_14_jobs
Revises: 0006_placement
Create Date: 2026-11-30 08:40:00

The engine's schema is procrastinate's own `schema.sql`, for the version pinned in
requirements.txt, applied as it ships. Upgrading procrastinate to a version whose release
notes list schema migrations means adding a migration here that applies those files
(`procrastinate schema --migrations-path` lists them) — never editing this one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0006_issue_14_jobs"
down_revision: str | Sequence[str] | None = "0006_placement"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENGINE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)
ENGINE_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        # The raw psycopg connection of this migration's transaction: no parameters, so
        # the script runs exactly as procrastinate ships it.
        op.get_bind().connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]
    op.create_table(
        "job_errors",
        sa.Column("job_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("task_name", sa.String(length=128), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_column("lease_until")


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_table("job_errors")
    if _postgres():
        op.execute(sa.text(f"DROP TABLE IF EXISTS {', '.join(ENGINE_TABLES)} CASCADE"))
        op.execute(
            sa.text(
                "DO $$ DECLARE f record; BEGIN "
                "FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' "
                "LOOP EXECUTE 'DROP FUNCTION IF EXISTS ' || f.sig || ' CASCADE'; END LOOP; END $$"
            )
        )
        op.execute(sa.text(f"DROP TYPE IF EXISTS {', '.join(ENGINE_TYPES)} CASCADE"))
