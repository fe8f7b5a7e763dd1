"""Background jobs' last errors. The queue itself is the job engine's (procrastinate's own
tables on PostgreSQL, created by the migration that installs its schema); this table only
keeps why a job failed, which the engine does not store, for the admin page.

Owner: `fluentio/jobs/` writes `job_errors`.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from fluentio.models.base import default_now, long_text, string


class JobError(SQLModel, table=True):
    """The last failure of one engine job (its id in the engine), kept for the admin page."""

    __tablename__ = "job_errors"

    job_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    task_name: str = string(128)
    error: str = long_text(default="")
    attempts: int = Field(default=0)
    failed_at: datetime = default_now()
