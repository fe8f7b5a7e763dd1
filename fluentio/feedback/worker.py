"""The analysis worker: an asyncio loop inside the app process (a Reflex lifespan task).

At start-up it takes every job a restart left behind (pending, or running with an
expired lease), then polls every POLL_SECONDS. Database work runs in threads so the
event loop (which also serves pages and the local simulator) never waits on it; the
model call is async. Several app workers may each run one: claims are atomic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from fluentio.db import session_scope
from fluentio.feedback import jobs
from fluentio.feedback.analysis import MIN_LEARNER_WORDS, AnalysisError, analyse
from fluentio.feedback.fluency import Line, fluency_figures
from fluentio.models.base import utcnow
from fluentio.settings import get_settings
from fluentio.vocabulary import deck

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.5
CONCURRENCY = 2
# Give the server a moment to start listening (the simulator is served by this very app).
START_DELAY_SECONDS = 1.0
MAX_PAUSE_SECONDS = 60.0


class AnalysisWorker:
    def __init__(
        self,
        *,
        policy: jobs.RetryPolicy | None = None,
        lease: timedelta = jobs.LEASE,
        poll_seconds: float = POLL_SECONDS,
        concurrency: int = CONCURRENCY,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.policy = policy or jobs.RetryPolicy()
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.concurrency = concurrency
        self.clock = clock

    def _claim(self, skip: set[uuid.UUID]) -> jobs.Claim | None:
        with session_scope() as session:
            return jobs.claim_next(session=session, now=self.clock(), lease=self.lease, skip=skip)

    async def run_once(self) -> int:
        """Claim and process due jobs (up to `concurrency` at a time); how many ran."""
        claims: list[jobs.Claim] = []
        for _ in range(self.concurrency):
            claim = await asyncio.to_thread(self._claim, {c.feedback_id for c in claims})
            if claim is None:
                break
            claims.append(claim)
        if claims:
            await asyncio.gather(*(self.process(claim) for claim in claims))
        return len(claims)

    async def run_forever(self) -> None:
        await asyncio.sleep(START_DELAY_SECONDS)
        logger.info("analysis worker started")
        failures = 0
        while True:
            try:
                ran = await self.run_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Typically the database is unreachable: say so once in full, then briefly,
                # and wait longer each time (up to a minute) instead of flooding the log.
                if failures == 0:
                    logger.exception("analysis worker: a round failed; retrying")
                else:
                    logger.warning("analysis worker: still failing (%s)", type(exc).__name__)
                failures += 1
                await asyncio.sleep(min(MAX_PAUSE_SECONDS, self.poll_seconds * 2**failures))
                continue
            if not ran:
                await asyncio.sleep(self.poll_seconds)

    async def _keep_lease(self, claim: jobs.Claim) -> None:
        interval = max(0.05, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)

            def renew() -> bool:
                with session_scope() as session:
                    return jobs.renew_lease(session=session, claim=claim, now=self.clock(), lease=self.lease)

            if not await asyncio.to_thread(renew):
                return

    async def process(self, claim: jobs.Claim) -> str:
        """Run one claimed job to its next state; returns that state."""
        settings = get_settings()
        if claim.attempt > self.policy.max_attempts:
            return await asyncio.to_thread(
                self._fail, claim, "The analysis kept stopping before it finished.", False, None
            )

        def load() -> tuple[list[Line], str, str, tuple[str, str]]:
            with session_scope() as session:
                lines = jobs.load_transcript(session=session, practice_session_id=claim.session_id)
                level, topic = jobs.session_context(session=session, practice_session_id=claim.session_id)
                spoken = jobs.session_languages(session=session, practice_session_id=claim.session_id)
                return lines, level, topic, spoken

        lines, level, topic, (language, explanation_language) = await asyncio.to_thread(load)
        figures = fluency_figures(lines)
        if figures.learner_words < MIN_LEARNER_WORDS:

            def skip() -> bool:
                with session_scope() as session:
                    return jobs.mark_skipped(session=session, claim=claim, figures=figures, now=self.clock())

            await asyncio.to_thread(skip)
            logger.info("analysis %s skipped: %d learner words", claim.feedback_id, figures.learner_words)
            return "skipped"

        keeper = asyncio.create_task(self._keep_lease(claim))
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
            status = await asyncio.to_thread(self._fail, claim, exc.message, exc.retryable, exc.retry_after)
            logger.warning(
                "analysis %s attempt %d: %s → %s", claim.feedback_id, claim.attempt, exc.message, status
            )
            return status
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

        def store() -> bool:
            with session_scope() as session:
                stored = jobs.store_result(
                    session=session,
                    claim=claim,
                    answer=answer,
                    figures=figures,
                    lines=lines,
                    model=settings.analysis_model,
                    now=self.clock(),
                )
                if stored:
                    deck.record_feedback(
                        session=session,
                        practice_session_id=claim.session_id,
                        answer=answer,
                        lines=lines,
                        now=self.clock(),
                    )
                return stored

        if await asyncio.to_thread(store):
            logger.info("analysis %s done: %d corrections", claim.feedback_id, len(answer.corrections))
            return "done"
        logger.warning("analysis %s: another worker took the job over; result discarded", claim.feedback_id)
        return "lost"

    def _fail(self, claim: jobs.Claim, message: str, retryable: bool, retry_after: float | None) -> str:
        with session_scope() as session:
            return jobs.record_failure(
                session=session,
                claim=claim,
                message=message,
                retryable=retryable,
                policy=self.policy,
                retry_after=retry_after,
                now=self.clock(),
            )


async def run_analysis_worker() -> None:
    """The Reflex lifespan task: analyse finished sessions for as long as the app runs."""
    await AnalysisWorker().run_forever()
