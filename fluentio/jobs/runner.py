"""Opening the job engine and running its worker inside a process.

- `engine_lifespan()`: the engine is open (procrastinate's connector and pool) while
  entered — enough to defer jobs and for the admin page to list and retry them.
- `worker_lifespan()`: the engine is open *and* a worker takes jobs while entered. In
  FLUENTIO_PROCESS_ROLE=all it is a Reflex lifespan task (fluentio/fluentio.py); a
  `worker` process (`python -m fluentio.cli worker`) enters it until SIGTERM.

A killed worker's jobs: every worker writes a heartbeat every third of
FLUENTIO_JOBS_STALLED_SECONDS. A periodic engine task (`jobs.retry_stalled`, deferred once
per tick for the whole cluster) puts the jobs of workers silent for longer back in the
queue, where another worker takes them. Tasks are written so that running again is safe
(the feedback row is fenced: one result, whoever finishes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from procrastinate import App, JobContext, PsycopgConnector
from procrastinate import exceptions as engine_errors
from procrastinate.testing import InMemoryConnector
from psycopg_pool import AsyncConnectionPool
from sqlmodel import Session, col

from fluentio.db import in_transaction
from fluentio.jobs.app import GiveUp, RetryLater, jobs_app, running
from fluentio.models import JobError
from fluentio.models.base import utcnow
from fluentio.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# The server of an all-in-one process serves the local simulator the analysis talks to:
# give it a moment to listen before the first job.
START_DELAY_SECONDS = 1.0
SHUTDOWN_GRACE_SECONDS = 10.0
MAX_PAUSE_SECONDS = 60.0


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as psycopg's own connection string."""
    return sa.engine.make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def engine_lifespan() -> AsyncIterator[App]:
    """The job engine, open on this event loop while entered.

    On PostgreSQL the connection pool opens without waiting for the database, so a process
    started while the database is down comes up and its worker keeps trying (`_work`).
    """
    settings = get_settings()
    pool: AsyncConnectionPool | None = None
    connector: Any = InMemoryConnector()
    if settings.jobs_backend == "postgres":
        pool = AsyncConnectionPool(
            conninfo=libpq_url(settings.database_url),
            min_size=1,
            max_size=settings.jobs_concurrency + 4,
            open=False,
            check=AsyncConnectionPool.check_connection,
        )
        await pool.open(wait=False)
        connector = PsycopgConnector()
    try:
        with jobs_app.replace_connector(connector):
            async with jobs_app.open_async(pool=pool):
                running.loop, running.backend = asyncio.get_running_loop(), settings.jobs_backend
                if settings.jobs_backend == "memory":
                    # The errors belong to the in-memory jobs of an earlier process, now gone.
                    try:
                        await in_transaction(_forget_all_errors)
                    except Exception:
                        logger.exception("job engine: could not clear the errors of earlier jobs")
                try:
                    yield jobs_app
                finally:
                    running.loop, running.backend = None, ""
    finally:
        if pool is not None:
            await pool.close()


@contextlib.asynccontextmanager
async def worker_lifespan() -> AsyncIterator[None]:
    """The engine and one worker taking jobs, while entered; on exit running jobs get
    SHUTDOWN_GRACE_SECONDS to finish, then go back to the queue."""
    async with engine_lifespan() as app:
        schedule_periodic_tasks(get_settings())
        worker = asyncio.create_task(_work(app), name="fluentio job worker")
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


def worker_options(settings: Settings, **overrides: Any) -> dict[str, Any]:
    stalled = settings.jobs_stalled_seconds
    options: dict[str, Any] = {
        "name": f"{socket.gethostname()}:{os.getpid()}",
        "concurrency": settings.jobs_concurrency,
        "install_signal_handlers": False,  # the process (Reflex or the worker command) owns signals
        "update_heartbeat_interval": max(0.5, stalled / 3),
        "stalled_worker_timeout": stalled,
        "delete_jobs": "successful",  # the domain rows are the record; failed jobs stay for the admin
        "shutdown_graceful_timeout": SHUTDOWN_GRACE_SECONDS,
        "fetch_job_polling_interval": 2.0,
        "worker_middleware": [remember_failures],
    }
    options.update(overrides)
    return options


async def _work(app: App) -> None:
    from fluentio.feedback.worker import requeue_lost_analyses

    await asyncio.sleep(START_DELAY_SECONDS)
    failures = 0
    while True:
        try:
            queued = await requeue_lost_analyses()
            if queued:
                logger.info("job worker: %d unfinished analyses queued again", queued)
            logger.info("job worker started (%s engine)", running.backend)
            await app.run_worker_async(**worker_options(get_settings()))
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Typically the database is unreachable: say so once in full, then briefly.
            if failures == 0:
                logger.exception("job worker stopped; starting again")
            else:
                logger.warning("job worker: still failing (%s)", type(exc).__name__)
            failures += 1
            await asyncio.sleep(min(MAX_PAUSE_SECONDS, 2.0 * 2**failures))


# ---- a killed worker's jobs ------------------------------------------------------------


async def retry_stalled_jobs(app: App, stalled_seconds: float) -> int:
    """Put the running jobs of workers with no heartbeat for `stalled_seconds` back in the
    queue; how many."""
    retried = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        try:
            await app.job_manager.retry_job(job)
        except engine_errors.ConnectorException:
            continue  # another worker got there first, or it just finished
        logger.warning("job %s[%s]: its worker stopped answering; queued again", job.task_name, job.id)
        retried += 1
    return retried


@jobs_app.task(name="jobs.retry_stalled", queueing_lock="jobs.retry_stalled", pass_context=True)
async def retry_stalled(context: JobContext, timestamp: int) -> int:
    """The periodic check (see schedule_periodic_tasks)."""
    return await retry_stalled_jobs(context.app, get_settings().jobs_stalled_seconds)


def schedule_periodic_tasks(settings: Settings) -> None:
    """Periodic tasks whose timing depends on settings (the others are declared with
    `@jobs_app.periodic` beside their task)."""
    every = max(1, min(59, round(settings.jobs_stalled_seconds / 3)))
    _periodic(retry_stalled, f"* * * * * */{every}", f"every {every} s")
    if not settings.dodo_simulated:
        from fluentio.payments.reconcile import reconcile_recent

        _periodic(reconcile_recent, "17 * * * *", "hourly")


def _periodic(task: Any, cron: str, periodic_id: str) -> None:
    if (task.name, periodic_id) not in jobs_app.periodic_registry.periodic_tasks:
        jobs_app.periodic_registry.register_task(
            task=task, cron=cron, periodic_id=periodic_id, configure_kwargs={}
        )


# ---- why a job failed (the engine keeps the status, we keep the reason) ------------------


def describe(exc: BaseException) -> str:
    if isinstance(exc, GiveUp | RetryLater):
        return str(exc)[:2000]
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:2000] if text else type(exc).__name__


async def remember_failures(call_next: Any, context: JobContext, worker: Any) -> Any:
    """procrastinate worker middleware: keep each job's last error for the admin page."""
    job = context.job
    try:
        result = await call_next()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        with contextlib.suppress(Exception):
            await in_transaction(
                _remember,
                job_id=job.id,
                task_name=job.task_name,
                error=describe(exc),
                attempts=job.attempts + 1,
            )
        raise
    if job.attempts:  # an earlier attempt may have left its error
        with contextlib.suppress(Exception):
            await in_transaction(_forget, job_id=job.id)
    return result


def _remember(*, session: Session, job_id: int, task_name: str, error: str, attempts: int) -> None:
    session.execute(sa.delete(JobError).where(col(JobError.job_id) == job_id))
    session.add(
        JobError(job_id=job_id, task_name=task_name, error=error, attempts=attempts, failed_at=utcnow())
    )


def _forget(*, session: Session, job_id: int) -> None:
    session.execute(sa.delete(JobError).where(col(JobError.job_id) == job_id))


def _forget_all_errors(*, session: Session) -> None:
    session.execute(sa.delete(JobError))
