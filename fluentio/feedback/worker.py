"""The analysis task: one job-engine task (`feedback.analyse`) that analyses a finished
session, whichever engine runs it (fluentio/jobs/).

Database work runs in threads so the event loop (which may also serve pages and the local
simulator) never waits on it; the model call is async. Retries are the engine's:
`ANALYSIS_RETRY` (5 s, 10 s, 20 s with jitter, a Retry-After honoured; 4 attempts), a
refused request (400/401/403) fails at once, and the failed job shows on the admin page
while the learner sees "Feedback not ready — retry".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from typing import NoReturn

from procrastinate import JobContext
from procrastinate import exceptions as engine_errors
from procrastinate.jobs import Job
from sqlmodel import Session

from fluentio.db import in_transaction
from fluentio.feedback import jobs
from fluentio.feedback.analysis import MIN_LEARNER_WORDS, AnalysisError, analyse
from fluentio.feedback.fluency import FluencyFigures, Line, fluency_figures
from fluentio.jobs.app import EngineRetry, GiveUp, RetryLater, jobs_app
from fluentio.models.base import utcnow
from fluentio.placement import service as placement_service
from fluentio.placement.analysis import analyse_placement
from fluentio.settings import get_settings
from fluentio.vocabulary import deck

logger = logging.getLogger(__name__)

ANALYSIS_RETRY = EngineRetry(jobs.RetryPolicy(max_attempts=4, base_delay=5.0, max_delay=300.0))
KEPT_STOPPING = "The analysis kept stopping before it finished."


@jobs_app.task(name=jobs.ANALYSE_TASK, pass_context=True, retry=ANALYSIS_RETRY)
async def analyse_feedback(context: JobContext, feedback_id: str) -> str:
    """The engine's entry point; returns what became of the analysis."""
    return await run_analysis(uuid.UUID(feedback_id), job=context.job)


async def run_analysis(feedback_id: uuid.UUID, *, job: Job) -> str:
    claim = await in_transaction(jobs.claim, feedback_id=feedback_id, now=utcnow())
    if claim is None:
        logger.info("analysis %s: nothing to do (already finished)", feedback_id)
        return "nothing to do"
    try:
        return await _analyse(claim, job)
    except (RetryLater, GiveUp, asyncio.CancelledError):
        raise
    except Exception:
        # Not the model: the database, a bug. The engine retries; the last time, the
        # learner is told, instead of the row saying "preparing" for ever.
        if not ANALYSIS_RETRY.retries_left(job):
            with contextlib.suppress(Exception):
                await in_transaction(jobs.record_failure, claim=claim, message=KEPT_STOPPING, final=True)
        raise


async def _analyse(claim: jobs.Claim, job: Job) -> str:
    settings = get_settings()

    def load(*, session: Session) -> tuple[list[Line], str, str, tuple[str, str]]:
        lines = jobs.load_transcript(session=session, practice_session_id=claim.session_id)
        level, topic = jobs.session_context(session=session, practice_session_id=claim.session_id)
        spoken = jobs.session_languages(session=session, practice_session_id=claim.session_id)
        return lines, level, topic, spoken

    lines, level, topic, (language, explanation_language) = await in_transaction(load)
    figures = fluency_figures(lines)
    if figures.learner_words < MIN_LEARNER_WORDS:
        await in_transaction(jobs.mark_skipped, claim=claim, figures=figures, now=utcnow())
        logger.info("analysis %s skipped: %d learner words", claim.feedback_id, figures.learner_words)
        return "skipped"

    if placement_service.is_placement(topic):
        return await _place(claim, job, lines, level, figures, (language, explanation_language))

    try:
        answer = await analyse(
            lines,
            level=level,
            topic=topic,
            settings=settings,
            language=language,
            explanation_language=explanation_language,
        )
    except AnalysisError as exc:
        await _model_failed(claim, job, exc)

    def store(*, session: Session) -> bool:
        now = utcnow()
        stored = jobs.store_result(
            session=session,
            claim=claim,
            answer=answer,
            figures=figures,
            lines=lines,
            model=settings.analysis_model,
            now=now,
        )
        if stored:
            deck.record_feedback(
                session=session, practice_session_id=claim.session_id, answer=answer, lines=lines, now=now
            )
        return stored

    if await in_transaction(store):
        logger.info("analysis %s done: %d corrections", claim.feedback_id, len(answer.corrections))
        return "done"
    logger.warning("analysis %s: another run took the job over; result discarded", claim.feedback_id)
    return "lost"


async def _model_failed(claim: jobs.Claim, job: Job, exc: AnalysisError) -> NoReturn:
    """The model's answer failed: retry later (the engine waits) or give up for good;
    the learner's row says which. Always raises."""
    if exc.retryable and ANALYSIS_RETRY.retries_left(job):
        delay = ANALYSIS_RETRY.policy.delay(claim.attempt, exc.retry_after)
        retry_at = utcnow() + timedelta(seconds=delay)
        status = await in_transaction(
            jobs.record_failure, claim=claim, message=exc.message, final=False, retry_at=retry_at
        )
        logger.warning(
            "analysis %s attempt %d: %s → %s", claim.feedback_id, claim.attempt, exc.message, status
        )
        raise RetryLater(exc.message, delay) from exc
    message = exc.message if not exc.retryable else f"{jobs.GAVE_UP} Last error: {exc.message}"
    status = await in_transaction(jobs.record_failure, claim=claim, message=message, final=True)
    logger.warning("analysis %s attempt %d: %s → %s", claim.feedback_id, claim.attempt, exc.message, status)
    raise GiveUp(message) from exc


async def _place(
    claim: jobs.Claim,
    job: Job,
    lines: list[Line],
    level: str,
    figures: FluencyFigures,
    spoken: tuple[str, str],
) -> str:
    """A placement call: its level with evidence (fluentio/placement/), not feedback."""
    settings = get_settings()
    try:
        answer = await analyse_placement(
            lines, level=level, settings=settings, language=spoken[0], explanation_language=spoken[1]
        )
    except AnalysisError as exc:
        await _model_failed(claim, job, exc)

    def store(*, session: Session) -> bool:
        now = utcnow()
        done = jobs.mark_done_with_level(
            session=session,
            claim=claim,
            level=answer.level.value,
            summary=answer.summary,
            figures=figures,
            model=settings.analysis_model,
            now=now,
        )
        if not done:
            session.rollback()
            return False
        placement_service.record_result(
            session=session, practice_session_id=claim.session_id, answer=answer, now=now
        )
        return True

    if await in_transaction(store):
        logger.info("placement %s done: %s", claim.feedback_id, answer.level.value)
        return "done"
    logger.warning("placement %s: another run took the job over; result discarded", claim.feedback_id)
    return "lost"


async def requeue_lost_analyses() -> int:
    """Queue again every unfinished analysis the engine has no live job for: after a
    restart of the in-memory engine (its queue is gone), or rows from before the engine.
    A domain re-scan, not a queue: the rows only say what is unfinished. How many."""
    queued = 0
    for feedback_id in await in_transaction(jobs.unfinished):
        lock = jobs.job_lock(feedback_id)
        live = await jobs_app.job_manager.list_jobs_async(lock=lock)
        if any(job.status in ("todo", "doing") for job in live):
            continue
        try:
            await jobs_app.configure_task(jobs.ANALYSE_TASK, lock=lock, queueing_lock=lock).defer_async(
                feedback_id=str(feedback_id)
            )
        except engine_errors.AlreadyEnqueued:
            continue
        queued += 1
    return queued


@jobs_app.periodic(cron="*/10 * * * *", periodic_id="every 10 min")
@jobs_app.task(name="feedback.requeue_lost", queueing_lock="feedback.requeue_lost")
async def requeue_lost(timestamp: int) -> int:
    """Every ten minutes, the same re-scan (a job handed to an engine that was not
    running in the process that committed it — a CLI command — is picked up here)."""
    return await requeue_lost_analyses()
