"""The learner's recurring mistakes, fed into the next session's tutor instructions."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlmodel import Session, col, select

from fluentio.models import Feedback, FeedbackStatus, PracticeSession


def recurring_patterns(
    *, session: Session, user_id: uuid.UUID, recent_sessions: int = 5, limit: int = 5
) -> list[str]:
    """The most frequent bad patterns across the learner's last few analysed sessions."""
    rows = session.exec(
        select(Feedback.bad_patterns)
        .join(PracticeSession, col(PracticeSession.id) == col(Feedback.session_id))
        .where(PracticeSession.user_id == user_id, Feedback.status == FeedbackStatus.DONE.value)
        .order_by(col(PracticeSession.created_at).desc())
        .limit(recent_sessions)
    ).all()
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for patterns in rows:
        for pattern in patterns or []:
            key = pattern.strip()
            if key:
                counts[key] += 1
                first_seen.setdefault(key, len(first_seen))
    ranked = sorted(counts, key=lambda p: (-counts[p], first_seen[p]))
    return ranked[:limit]
