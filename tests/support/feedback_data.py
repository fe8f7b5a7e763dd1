"""Finished practice sessions for the feedback and history tests (and bench/history.py):
a session row with a timed transcript, and optionally a stored analysis. They flush but
never commit: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from fluentio.models import Feedback, FeedbackStatus, PracticeSession
from fluentio.models.base import utcnow
from fluentio.models.tutor import Correction, SessionStatus, TranscriptItem
from fluentio.simulator.script import LEARNER_LINES

TUTOR_LINES = (
    "Hello! What did you do yesterday?",
    "Good try! What else did you do?",
    "What was the movie about?",
    "Would you like to travel to space?",
    "What do you usually do on weekends?",
    "What kind of books do you like?",
)


def add_practice_session(
    session: Session,
    *,
    user_id: uuid.UUID,
    learner_lines: Sequence[str] = LEARNER_LINES[:4],
    created_at: datetime | None = None,
    topic: str = "Daily life",
    status: str = SessionStatus.ENDED.value,
    seconds: int | None = None,
    millicredits: int | None = None,
    language: str = "en",
) -> PracticeSession:
    """A session where the tutor and the learner take turns; each learner line lasts
    about 0.4 s per word, each tutor line 3 s."""
    created = created_at or utcnow()
    practice = PracticeSession(
        user_id=user_id,
        status=status,
        topic=topic,
        level="B1",
        language=language,
        created_at=created,
        started_at=created,
        ended_at=created + timedelta(minutes=5),
        end_reason="learner" if status == SessionStatus.ENDED.value else None,
    )
    session.add(practice)
    session.flush()
    clock = 0
    seq = 0
    for index, learner in enumerate(learner_lines):
        tutor = TUTOR_LINES[index % len(TUTOR_LINES)]
        session.add(
            TranscriptItem(
                session_id=practice.id,
                seq=seq,
                speaker="tutor",
                text=tutor,
                started_ms=clock,
                ended_ms=clock + 3000,
            )
        )
        clock += 3500
        length = 400 * len(learner.split())
        session.add(
            TranscriptItem(
                session_id=practice.id,
                seq=seq + 1,
                speaker="learner",
                text=learner,
                started_ms=clock,
                ended_ms=clock + length,
            )
        )
        clock += length + 500
        seq += 2
    practice.billable_seconds = seconds if seconds is not None else clock // 1000
    practice.charged_millicredits = (
        millicredits if millicredits is not None else practice.billable_seconds * 1000 // 60
    )
    session.add(practice)
    session.flush()
    return practice


def add_feedback(
    session: Session,
    practice: PracticeSession,
    *,
    level: str = "B1",
    patterns: Sequence[str] = ("Past simple: present tense used for past events",),
    corrections: int = 2,
    learner_words: int = 60,
) -> Feedback:
    """A finished analysis with `corrections` corrections."""
    feedback = Feedback(
        session_id=practice.id,
        status=FeedbackStatus.DONE.value,
        attempts=1,
        model="gpt-test",
        cefr_level=level,
        bad_patterns=list(patterns),
        suggestions=["Tell a story about last weekend."],
        new_words=["detective"],
        words_per_minute=110.0,
        talk_share=0.45,
        turns=4,
        learner_words=learner_words,
        summary="Good work.",
        completed_at=practice.created_at + timedelta(minutes=6),
    )
    session.add(feedback)
    session.flush()
    for position in range(corrections):
        session.add(
            Correction(
                feedback_id=feedback.id,
                position=position,
                category="grammar",
                original="I go to the market",
                corrected="I went to the market",
                explanation="Past simple.",
            )
        )
    session.flush()
    return feedback
