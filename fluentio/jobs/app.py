"""The job engine: one procrastinate App, the retry rule every task shares, and `defer`.

Tasks are plain procrastinate tasks (`@jobs_app.task`) defined beside their feature
(`feedback/worker.py`, `goals/reminders.py`, `payments/reconcile.py`). The same task
definitions run on both engines, chosen once by `Settings.jobs_backend`:

- **postgres** — procrastinate's tables in the app's PostgreSQL database; any number of
  worker processes; a job is inserted in the same transaction as the row it is about
  (`defer`), so a committed row always has its job and a rolled-back one never does.
- **memory** — procrastinate's in-memory connector inside the one `make run` process
  (SQLite). Jobs are deferred when the row's transaction commits; a restart loses the
  queue, so start-up re-defers what the domain rows say is unfinished
  (`fluentio/jobs/runner.py`).

This module imports no feature code, so every feature can import it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from procrastinate import App, RetryDecision, SyncPsycopgConnector
from procrastinate import exceptions as engine_errors
from procrastinate.jobs import Job, JobDeferrer
from procrastinate.manager import JobManager
from procrastinate.retry import BaseRetryStrategy
from procrastinate.testing import InMemoryConnector
from sqlalchemy import event
from sqlmodel import Session

from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

# The modules that define tasks: a worker imports them all before it takes jobs.
TASK_MODULES = [
    "fluentio.jobs.runner",
    "fluentio.feedback.worker",
    "fluentio.goals.reminders",
    "fluentio.payments.reconcile",
]

# Replaced by the real connector while an engine is open (fluentio/jobs/runner.py).
jobs_app = App(connector=InMemoryConnector(), import_paths=TASK_MODULES)


class RetryLater(Exception):
    """Raised by a task whose attempt failed for a passing reason: run it again in `delay` s."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


class GiveUp(Exception):
    """Raised by a task that failed for good: the engine marks the job failed, no retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing job is retried."""

    max_attempts: int = 4
    base_delay: float = 5.0
    max_delay: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based), ±20 % jitter."""
        backoff = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        backoff *= random.uniform(0.8, 1.2)
        return max(backoff, min(retry_after or 0.0, self.max_delay))


class EngineRetry(BaseRetryStrategy):
    """procrastinate's extension point for retries, with our one rule:

    - a job stopped by a worker's shutdown runs again at once (not the job's fault);
    - `GiveUp` never retries; `RetryLater` waits the delay the task chose;
    - any other exception waits `policy.delay` (5 s, 10 s, 20 s … with jitter);
    - after `policy.max_attempts` runs the job is failed, and the admin page lists it.
    """

    def __init__(self, policy: RetryPolicy | None = None) -> None:
        self.policy = policy or RetryPolicy()

    def retries_left(self, job: Job) -> bool:
        """Whether a failure of the current run (number `job.attempts + 1`) will be retried."""
        return job.attempts + 1 < self.policy.max_attempts

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError | engine_errors.JobAborted):
            return RetryDecision(retry_in={"seconds": 0})
        if isinstance(exception, GiveUp) or not self.retries_left(job):
            return None
        delay = exception.delay if isinstance(exception, RetryLater) else self.policy.delay(job.attempts + 1)
        return RetryDecision(retry_in={"milliseconds": int(delay * 1000)})


# Deferring on the caller's own database connection needs no pool of the engine's: this
# manager's connector is never opened, it only runs procrastinate's insert on the
# connection it is handed.
_in_transaction = JobManager(connector=SyncPsycopgConnector())


@dataclass
class _Running:
    loop: asyncio.AbstractEventLoop | None = None
    backend: str = ""


running = _Running()


def defer(
    session: Session,
    task_name: str,
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    delay_seconds: float = 0.0,
    **task_kwargs: Any,
) -> None:
    """Queue `task_name(**task_kwargs)` with the work of `session`'s transaction, to run
    now or `delay_seconds` from now.

    On PostgreSQL the job row is inserted in that very transaction (a savepoint keeps a
    duplicate `queueing_lock` from spoiling it: the job already waits). In memory it is
    handed to this process's engine when the transaction commits, and forgotten if it
    rolls back. With no engine running in this process (a CLI command), the job is made
    by the next engine start-up's re-scan.
    """
    deferrer = jobs_app.configure_task(
        task_name,
        lock=lock,
        queueing_lock=queueing_lock,
        schedule_in={"seconds": delay_seconds} if delay_seconds > 0 else None,
    )
    # The job goes to the database the row is in (whatever process commits it), unless
    # FLUENTIO_JOBS=memory keeps jobs in this process.
    if session.get_bind().dialect.name == "postgresql" and get_settings().jobs_engine != "memory":
        raw = session.connection().connection.driver_connection
        on_this_connection = JobDeferrer(job_manager=_in_transaction, job=deferrer.job, connection=raw)
        try:
            with session.begin_nested():
                on_this_connection.defer(**task_kwargs)
        except engine_errors.AlreadyEnqueued:
            logger.debug("%s is already queued (%s)", task_name, queueing_lock)
        return
    _after_commit(session, lambda: _hand_to_engine(deferrer, task_kwargs))


def _after_commit(session: Session, action: Callable[[], None]) -> None:
    waiting: list[Callable[[], None]] = session.info.setdefault("fluentio_after_commit", [])
    if not waiting:

        def committed(session: Session) -> None:
            actions = list(session.info.pop("fluentio_after_commit", []))
            for item in actions:
                item()

        def rolled_back(session: Session) -> None:
            session.info.pop("fluentio_after_commit", None)

        event.listen(session, "after_commit", committed, once=True)
        event.listen(session, "after_soft_rollback", rolled_back, once=True)
    waiting.append(action)


def _hand_to_engine(deferrer: JobDeferrer, task_kwargs: dict[str, Any]) -> None:
    """Give the job to this process's in-memory engine, on its own event loop (thread-safe,
    and never blocking: the caller may be on that loop)."""
    loop = running.loop
    if loop is None or loop.is_closed():
        logger.info(
            "no job engine runs in this process: %s waits for the next start-up", deferrer.job.task_name
        )
        return

    async def put() -> None:
        with contextlib.suppress(engine_errors.AlreadyEnqueued):
            await deferrer.defer_async(**task_kwargs)

    asyncio.run_coroutine_threadsafe(put(), loop)
