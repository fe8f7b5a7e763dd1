"""The learner's recurring mistakes, fed into the next session's tutor instructions.

Patterns are compared case- and punctuation-insensitively, so "Past simple: …" written
twice in slightly different case counts as one. A pattern scores more the more sessions
it appears in and the more recent those sessions are; the newest wording is kept.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence

from sqlmodel import Session, col, select

from fluentio.models import Feedback, FeedbackStatus, PracticeSession

# The newest session weighs 1.0, each older one a little less (never below the floor).
RECENCY_STEP = 0.15
RECENCY_FLOOR = 0.4


def pattern_key(pattern: str) -> str:
    """Lower-case letters, digits and apostrophes of any language, single-spaced."""
    return re.sub(r"(?:[^\w']|_)+", " ", pattern.lower().replace("’", "'")).strip()


def _per_session(rows: Iterable[Sequence[str] | None]) -> Iterable[tuple[int, dict[str, str]]]:
    """For each session (newest first): its distinct patterns, key → wording."""
    for age, patterns in enumerate(rows):
        distinct: dict[str, str] = {}
        for pattern in patterns or []:
            text = " ".join(str(pattern).split())
            if (key := pattern_key(text)) and key not in distinct:
                distinct[key] = text
        yield age, distinct


def rank_patterns(rows: Iterable[Sequence[str] | None], *, limit: int) -> list[str]:
    """Rank the patterns of sessions given newest first."""
    score: dict[str, float] = {}
    wording: dict[str, str] = {}
    for age, distinct in _per_session(rows):
        weight = max(RECENCY_FLOOR, 1.0 - RECENCY_STEP * age)
        for key, text in distinct.items():
            score[key] = score.get(key, 0.0) + weight
            wording.setdefault(key, text)
    order = {key: i for i, key in enumerate(wording)}
    ranked = sorted(score, key=lambda k: (-score[k], order[k]))
    return [wording[key] for key in ranked[:limit]]


def count_patterns(rows: Iterable[Sequence[str] | None], *, limit: int) -> list[tuple[str, int]]:
    """How many sessions each pattern appeared in, most frequent first."""
    sessions: Counter[str] = Counter()
    wording: dict[str, str] = {}
    for _age, distinct in _per_session(rows):
        for key, text in distinct.items():
            sessions[key] += 1
            wording.setdefault(key, text)
    order = {key: i for i, key in enumerate(wording)}
    ranked = sorted(sessions, key=lambda k: (-sessions[k], order[k]))
    return [(wording[key], sessions[key]) for key in ranked[:limit]]


def recurring_patterns(
    *,
    session: Session,
    user_id: uuid.UUID,
    recent_sessions: int = 5,
    limit: int = 5,
    language: str | None = None,
) -> list[str]:
    """The learner's most persistent bad patterns across their last analysed sessions
    (only those in `language`, when given)."""
    query = (
        select(Feedback.bad_patterns)
        .join(PracticeSession, col(PracticeSession.id) == col(Feedback.session_id))
        .where(PracticeSession.user_id == user_id, Feedback.status == FeedbackStatus.DONE.value)
    )
    if language is not None:
        query = query.where(PracticeSession.language == language)
    rows = session.exec(query.order_by(col(PracticeSession.created_at).desc()).limit(recent_sessions)).all()
    return rank_patterns(rows, limit=limit)
