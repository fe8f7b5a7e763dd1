"""What the admin page shows of the job engine: the failed jobs (the engine's own `failed`
state, with the reason we keep in `job_errors`) and "Retry", which hands a failed job back
to the engine. The role check is the caller's (fluentio/backoffice/service.py)."""

from __future__ import annotations

from dataclasses import dataclass

from procrastinate.jobs import Job
from sqlmodel import Session, col, select

from fluentio.db import in_transaction
from fluentio.jobs.app import jobs_app, running
from fluentio.models import JobError
from fluentio.models.base import utcnow

TASK_TITLES = {
    "feedback.analyse": "Feedback analysis",
    "goals.send_reminders": "Goal reminders",
    "payments.reconcile": "Payments reconcile",
    "feedback.requeue_lost": "Re-queue unfinished analyses",
    "jobs.retry_stalled": "Re-queue jobs of stopped workers",
}


@dataclass(frozen=True)
class FailedJob:
    id: int
    task: str
    about: str
    failed_at: str
    attempts: int
    error: str

    def row(self) -> dict[str, str]:
        return {
            "id": str(self.id),
            "task": self.task,
            "about": self.about,
            "when": self.failed_at,
            "attempts": str(self.attempts),
            "error": self.error,
        }


class EngineNotRunningError(RuntimeError):
    """This process has no open job engine (it is not a Fluentio web or worker process)."""


def _require_engine() -> None:
    if running.loop is None:
        raise EngineNotRunningError("The job engine is not running in this process; restart the app.")


def _errors(*, session: Session, ids: list[int]) -> dict[int, JobError]:
    if not ids:
        return {}
    rows = session.exec(select(JobError).where(col(JobError.job_id).in_(ids))).all()
    return {row.job_id: row for row in rows}


def _about(job: Job) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(job.task_kwargs.items()) if key != "timestamp")


async def failed_jobs(limit: int = 50) -> list[FailedJob]:
    """The engine's failed jobs, newest first, with why each failed."""
    _require_engine()
    failed = sorted(
        await jobs_app.job_manager.list_jobs_async(status="failed"), key=lambda j: j.id or 0, reverse=True
    )[:limit]
    errors = await in_transaction(_errors, ids=[job.id for job in failed if job.id is not None])
    result = []
    for job in failed:
        assert job.id is not None
        error = errors.get(job.id)
        result.append(
            FailedJob(
                id=job.id,
                task=TASK_TITLES.get(job.task_name, job.task_name),
                about=_about(job),
                failed_at=error.failed_at.strftime("%d %b %Y %H:%M UTC") if error else "",
                attempts=job.attempts,
                error=error.error if error else "(no reason recorded)",
            )
        )
    return result


async def retry_failed_job(job_id: int) -> bool:
    """Hand a failed job back to the engine to run now; False if it is not a failed job."""
    _require_engine()
    if not list(await jobs_app.job_manager.list_jobs_async(id=job_id, status="failed")):
        return False
    await jobs_app.job_manager.retry_job_by_id_async(job_id=job_id, retry_at=utcnow())
    return True
