"""Analysis jobs: one `feedback` row per practice session (pending → running →
done/failed/skipped). The row is the learner's record and the result; the *queue* is the
job engine (fluentio/jobs/): `enqueue_analysis` creates the row and defers the
`feedback.analyse` task in the same transaction, and `feedback/worker.py` runs it.

- Each run *claims* the row with one conditional UPDATE that stamps `started_at`; that
  stamp fences the row: storing a result, skipping or recording a failure only touches
  the row while it is still `running` with that same stamp. A run the engine gave up on
  (its worker stopped answering, the job went to another worker) can therefore never
  store a second result.
- The result and its Correction rows are written in one transaction.
- A failure that may pass goes back to `pending` (the engine retries the job with
  backoff); others, or the last attempt, end as `failed`, which the learner can retry.
  Too little learner speech ends as `skipped`.
Functions here take a session and commit only where they say so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from fluentio.feedback.fluency import FluencyFigures, Line
from fluentio.feedback.highlight import locate
from fluentio.feedback.schema import FeedbackAnswer
from fluentio.jobs.app import RetryPolicy, defer
from fluentio.models import Feedback, FeedbackStatus, PracticeSession
from fluentio.models.base import utcnow
from fluentio.models.tutor import Correction, SessionStatus, TranscriptItem
from fluentio.settings import get_settings

__all__ = ["RetryPolicy"]

ANALYSE_TASK = "feedback.analyse"
NOT_ENOUGH_SPEECH = "Not enough speech to analyse: talk a little more next time and feedback will follow."
GAVE_UP = "Feedback could not be prepared after several tries."
UNFINISHED = (FeedbackStatus.PENDING.value, FeedbackStatus.RUNNING.value)
# A run takes the row on when it is waiting, was left running by a run that stopped, or
# failed and someone (the admin) asked the engine to run the job again.
CLAIMABLE = (*UNFINISHED, FeedbackStatus.FAILED.value)


@dataclass(frozen=True)
class Claim:
    """A run that holds the analysis: its identity, attempt number and fencing stamp."""

    feedback_id: uuid.UUID
    session_id: uuid.UUID
    attempt: int
    claimed_at: datetime


def job_lock(feedback_id: uuid.UUID) -> str:
    """The engine lock of one analysis: two of its jobs never run at the same time."""
    return f"feedback:{feedback_id}"


def defer_analysis(*, session: Session, feedback_id: uuid.UUID, delay_seconds: float = 0.0) -> None:
    """Queue the analysis job with the work of `session`'s transaction."""
    lock = job_lock(feedback_id)
    defer(
        session,
        ANALYSE_TASK,
        lock=lock,
        queueing_lock=lock,
        delay_seconds=delay_seconds,
        feedback_id=str(feedback_id),
    )


def enqueue_analysis(
    *, session: Session, practice_session_id: uuid.UUID, delay_seconds: float = 0.0
) -> Feedback:
    """Queue the analysis of a finished session; calling it again returns the same row.

    The caller commits (the job is part of that transaction). Ending a call never waits
    for the model. `delay_seconds`: the transcript may still grow that long (a taken-over
    call's page hands over what no worker heard), so the analysis starts after it.
    """
    existing = session.exec(select(Feedback).where(Feedback.session_id == practice_session_id)).first()
    if existing is not None:
        return existing
    job = Feedback(
        session_id=practice_session_id,
        status=FeedbackStatus.PENDING.value,
        model=get_settings().analysis_model,
    )
    session.add(job)
    session.flush()
    defer_analysis(session=session, feedback_id=job.id, delay_seconds=delay_seconds)
    return job


def unfinished(*, session: Session) -> list[uuid.UUID]:
    """Analyses still pending or running, oldest first (for the engine's start-up re-scan)."""
    return list(
        session.exec(
            select(Feedback.id).where(col(Feedback.status).in_(UNFINISHED)).order_by(col(Feedback.created_at))
        ).all()
    )


def _fenced(claim: Claim) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Feedback.id) == claim.feedback_id,
        col(Feedback.status) == FeedbackStatus.RUNNING.value,
        col(Feedback.started_at) == claim.claimed_at,
    )


def claim(*, session: Session, feedback_id: uuid.UUID, now: datetime | None = None) -> Claim | None:
    """Take the analysis on for this run, and commit; None when there is nothing to do
    (done, skipped, or gone)."""
    now = now or utcnow()
    result = session.exec(
        sa.update(Feedback)
        .execution_options(synchronize_session=False)
        .where(col(Feedback.id) == feedback_id, col(Feedback.status).in_(CLAIMABLE))
        .values(
            status=FeedbackStatus.RUNNING.value,
            attempts=col(Feedback.attempts) + 1,
            started_at=now,
            next_attempt_at=None,
        )
        .returning(col(Feedback.session_id), col(Feedback.attempts))
    ).first()
    session.commit()
    return Claim(feedback_id, result[0], int(result[1]), now) if result is not None else None


def load_transcript(*, session: Session, practice_session_id: uuid.UUID) -> list[Line]:
    items = session.exec(
        select(TranscriptItem)
        .where(TranscriptItem.session_id == practice_session_id)
        .order_by(col(TranscriptItem.seq))
    ).all()
    return [Line(i.speaker, i.text, i.started_ms, i.ended_ms, str(i.id)) for i in items]


def session_context(*, session: Session, practice_session_id: uuid.UUID) -> tuple[str, str]:
    """The level and topic the session was held at, for the prompt."""
    practice = session.get(PracticeSession, practice_session_id)
    return (practice.level, practice.topic) if practice else ("", "")


def session_languages(*, session: Session, practice_session_id: uuid.UUID) -> tuple[str, str]:
    """The language practised in the session and the one its feedback explains in."""
    practice = session.get(PracticeSession, practice_session_id)
    return (practice.language, practice.explanation_language) if practice else ("en", "en")


def _figures(figures: FluencyFigures) -> dict[str, object]:
    return {
        "words_per_minute": figures.words_per_minute,
        "talk_share": figures.talk_share,
        "turns": figures.turns,
        "learner_words": figures.learner_words,
    }


def store_result(
    *,
    session: Session,
    claim: Claim,
    answer: FeedbackAnswer,
    figures: FluencyFigures,
    lines: list[Line],
    model: str,
    now: datetime | None = None,
) -> bool:
    """Store the feedback and its corrections in one transaction; False (nothing stored)
    when this worker no longer holds the job."""
    done = _mark_done(
        session=session,
        claim=claim,
        model=model,
        level=answer.estimated_level.value,
        summary=answer.summary,
        figures=figures,
        now=now or utcnow(),
        bad_patterns=answer.bad_patterns,
        suggestions=answer.suggestions,
        new_words=answer.new_words,
    )
    if not done:
        session.rollback()
        return False
    session.exec(
        sa.delete(Correction)
        .execution_options(synchronize_session=False)
        .where(col(Correction.feedback_id) == claim.feedback_id)
    )
    for position, correction in enumerate(answer.corrections):
        found = locate(correction.original, lines)
        session.add(
            Correction(
                feedback_id=claim.feedback_id,
                position=position,
                category=correction.category.value,
                original=correction.original,
                corrected=correction.corrected,
                explanation=correction.explanation,
                transcript_item_id=uuid.UUID(found[0].item_id) if found and found[0].item_id else None,
            )
        )
    session.commit()
    return True


def mark_done_with_level(
    *,
    session: Session,
    claim: Claim,
    level: str,
    summary: str,
    figures: FluencyFigures,
    model: str,
    now: datetime | None = None,
) -> bool:
    """Finish a job whose result is a level and a summary only (a placement call: its
    evidence is stored by fluentio/placement/service.py in the same transaction). Does
    not commit; False (nothing changed) when this worker no longer holds the job."""
    return _mark_done(
        session=session,
        claim=claim,
        model=model,
        level=level,
        summary=summary,
        figures=figures,
        now=now or utcnow(),
    )


def _mark_done(
    *,
    session: Session,
    claim: Claim,
    model: str,
    level: str,
    summary: str,
    figures: FluencyFigures,
    now: datetime,
    **answer: object,
) -> bool:
    """A job done (with the answer's other columns, if any)."""
    return _close(
        session=session,
        claim=claim,
        status=FeedbackStatus.DONE,
        figures=figures,
        now=now,
        model=model,
        cefr_level=level,
        summary=summary,
        last_error=None,
        **answer,
    )


def _close(
    *,
    session: Session,
    claim: Claim,
    status: FeedbackStatus,
    figures: FluencyFigures,
    now: datetime,
    **values: object,
) -> bool:
    """The fenced update that ends a job in `status`; False when this run no longer
    holds it. Does not commit."""
    result = session.exec(
        sa.update(Feedback)
        .execution_options(synchronize_session=False)
        .where(_fenced(claim))
        .values(status=status.value, next_attempt_at=None, completed_at=now, **_figures(figures), **values)
    )
    return bool(result.rowcount)


def mark_skipped(
    *,
    session: Session,
    claim: Claim,
    figures: FluencyFigures,
    reason: str = NOT_ENOUGH_SPEECH,
    now: datetime | None = None,
) -> bool:
    closed = _close(
        session=session,
        claim=claim,
        status=FeedbackStatus.SKIPPED,
        figures=figures,
        now=now or utcnow(),
        last_error=reason,
    )
    session.commit()
    return closed


def record_failure(
    *,
    session: Session,
    claim: Claim,
    message: str,
    final: bool,
    retry_at: datetime | None = None,
) -> str:
    """Back to `pending` until the engine's retry at `retry_at`, or `failed` for good;
    returns the new status ("lost" when this run no longer holds the row)."""
    status = FeedbackStatus.FAILED.value if final else FeedbackStatus.PENDING.value
    result = session.exec(
        sa.update(Feedback)
        .execution_options(synchronize_session=False)
        .where(_fenced(claim))
        .values(status=status, last_error=message[:2000], next_attempt_at=None if final else retry_at)
    )
    session.commit()
    return status if result.rowcount else "lost"


# Each "Retry" runs a full set of attempts against the analysis service; after this many
# the history says the analysis could not be made instead of offering another.
MAX_LEARNER_RETRIES = 3


def retries_left(feedback_status: str | None, retries: int) -> bool:
    """Whether the learner may press "Retry" on a failed analysis."""
    return feedback_status == FeedbackStatus.FAILED.value and retries < MAX_LEARNER_RETRIES


def request_retry(*, session: Session, user_id: uuid.UUID, practice_session_id: uuid.UUID) -> bool:
    """The learner's "Retry": a failed analysis (or an ended session never queued) is
    queued again, at most MAX_LEARNER_RETRIES times. Only the session's owner can;
    returns whether anything was queued."""
    practice = session.get(PracticeSession, practice_session_id)
    if practice is None or practice.user_id != user_id:
        return False
    job = session.exec(select(Feedback).where(Feedback.session_id == practice_session_id)).first()
    if job is None:
        if practice.status != SessionStatus.ENDED.value:
            return False
        enqueue_analysis(session=session, practice_session_id=practice_session_id)
        session.commit()
        return True
    result = session.exec(
        sa.update(Feedback)
        .execution_options(synchronize_session=False)
        .where(
            col(Feedback.id) == job.id,
            col(Feedback.status) == FeedbackStatus.FAILED.value,
            col(Feedback.retries) < MAX_LEARNER_RETRIES,
        )
        .values(
            status=FeedbackStatus.PENDING.value,
            attempts=0,
            retries=col(Feedback.retries) + 1,
            last_error=None,
            next_attempt_at=None,
        )
    )
    if result.rowcount:
        defer_analysis(session=session, feedback_id=job.id)
    session.commit()
    return bool(result.rowcount)
