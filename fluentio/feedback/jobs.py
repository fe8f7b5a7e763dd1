"""Analysis jobs: one durable row per practice session (pending → running → done/failed).

The `feedback` row is both the job and its result.

- A worker *claims* a job with one conditional UPDATE (pending and due, or running with
  a lease that ran out because its worker died): of two racing workers only one row
  update succeeds. The claim stamps `started_at`, which then fences the job: storing a
  result, renewing the lease or recording a failure only touches the row while it is
  still `running` with that same `started_at`. A worker whose lease was taken over can
  therefore never store a second result.
- The result and its Correction rows are written in one transaction.
- Failures that may pass (timeouts, 429, 5xx, malformed answers) go back to `pending`
  with exponential backoff in `next_attempt_at`; others, or too many attempts, end as
  `failed`, which the learner can retry. Too little learner speech ends as `skipped`.
Functions here take a session and commit only where they say so.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from fluentio.feedback.fluency import FluencyFigures, Line
from fluentio.feedback.highlight import locate
from fluentio.feedback.schema import FeedbackAnswer
from fluentio.models import Feedback, FeedbackStatus, PracticeSession
from fluentio.models.base import utcnow
from fluentio.models.tutor import Correction, SessionStatus, TranscriptItem
from fluentio.settings import get_settings

LEASE = timedelta(seconds=60)
NOT_ENOUGH_SPEECH = "Not enough speech to analyse: talk a little more next time and feedback will follow."
GAVE_UP = "Feedback could not be prepared after several tries."


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing analysis is retried."""

    max_attempts: int = 4
    base_delay: float = 5.0
    max_delay: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based), ±20 % jitter."""
        backoff = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        backoff *= random.uniform(0.8, 1.2)
        return max(backoff, min(retry_after or 0.0, self.max_delay))


@dataclass(frozen=True)
class Claim:
    """A job this worker holds: its identity, attempt number and fencing stamp."""

    feedback_id: uuid.UUID
    session_id: uuid.UUID
    attempt: int
    claimed_at: datetime


def enqueue_analysis(*, session: Session, practice_session_id: uuid.UUID) -> Feedback:
    """Queue the analysis of a finished session; calling it again returns the same job.

    The caller commits. The worker picks the job up (and picks up any left pending by a
    restart), so ending a call never waits for the model.
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
    return job


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(
            col(Feedback.status) == FeedbackStatus.PENDING.value,
            sa.or_(col(Feedback.next_attempt_at).is_(None), col(Feedback.next_attempt_at) <= now),
        ),
        sa.and_(col(Feedback.status) == FeedbackStatus.RUNNING.value, col(Feedback.lease_until) < now),
    )


def _fenced(claim: Claim) -> sa.ColumnElement[bool]:
    return sa.and_(
        col(Feedback.id) == claim.feedback_id,
        col(Feedback.status) == FeedbackStatus.RUNNING.value,
        col(Feedback.started_at) == claim.claimed_at,
    )


def claim_next(
    *,
    session: Session,
    now: datetime | None = None,
    lease: timedelta = LEASE,
    skip: set[uuid.UUID] | None = None,
) -> Claim | None:
    """Take the oldest due job, if any, and commit the claim."""
    now = now or utcnow()
    query = select(Feedback.id).where(_claimable(now)).order_by(col(Feedback.created_at)).limit(10)
    for feedback_id in session.exec(query).all():
        if skip and feedback_id in skip:
            continue
        result = session.exec(
            sa.update(Feedback)
            .execution_options(synchronize_session=False)
            .where(col(Feedback.id) == feedback_id, _claimable(now))
            .values(
                status=FeedbackStatus.RUNNING.value,
                attempts=col(Feedback.attempts) + 1,
                started_at=now,
                lease_until=now + lease,
            )
            .returning(col(Feedback.session_id), col(Feedback.attempts))
        ).first()
        session.commit()
        if result is not None:
            return Claim(feedback_id, result[0], int(result[1]), now)
    return None


def renew_lease(
    *, session: Session, claim: Claim, now: datetime | None = None, lease: timedelta = LEASE
) -> bool:
    """Keep a long-running job ours; False means someone else has taken it over."""
    now = now or utcnow()
    result = session.exec(
        sa.update(Feedback)
        .execution_options(synchronize_session=False)
        .where(_fenced(claim))
        .values(lease_until=now + lease)
    )
    session.commit()
    return bool(result.rowcount)


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
    now = now or utcnow()
    result = session.exec(
        sa.update(Feedback)
        .execution_options(synchronize_session=False)
        .where(_fenced(claim))
        .values(
            status=FeedbackStatus.DONE.value,
            model=model,
            cefr_level=answer.estimated_level.value,
            bad_patterns=answer.bad_patterns,
            suggestions=answer.suggestions,
            new_words=answer.new_words,
            summary=answer.summary,
            last_error=None,
            next_attempt_at=None,
            lease_until=None,
            completed_at=now,
            **_figures(figures),
        )
    )
    if not result.rowcount:
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


def mark_skipped(
    *,
    session: Session,
    claim: Claim,
    figures: FluencyFigures,
    reason: str = NOT_ENOUGH_SPEECH,
    now: datetime | None = None,
) -> bool:
    result = session.exec(
        sa.update(Feedback)
        .execution_options(synchronize_session=False)
        .where(_fenced(claim))
        .values(
            status=FeedbackStatus.SKIPPED.value,
            last_error=reason,
            lease_until=None,
            next_attempt_at=None,
            completed_at=now or utcnow(),
            **_figures(figures),
        )
    )
    session.commit()
    return bool(result.rowcount)


def record_failure(
    *,
    session: Session,
    claim: Claim,
    message: str,
    retryable: bool,
    policy: RetryPolicy,
    retry_after: float | None = None,
    now: datetime | None = None,
) -> str:
    """Back to `pending` with backoff, or `failed` for good; returns the new status."""
    now = now or utcnow()
    if retryable and claim.attempt < policy.max_attempts:
        status = FeedbackStatus.PENDING.value
        next_at: datetime | None = now + timedelta(seconds=policy.delay(claim.attempt, retry_after))
        error = message
    else:
        status = FeedbackStatus.FAILED.value
        next_at = None
        error = message if not retryable else f"{GAVE_UP} Last error: {message}"
    result = session.exec(
        sa.update(Feedback)
        .execution_options(synchronize_session=False)
        .where(_fenced(claim))
        .values(status=status, last_error=error[:2000], next_attempt_at=next_at, lease_until=None)
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
            lease_until=None,
        )
    )
    session.commit()
    return bool(result.rowcount)
