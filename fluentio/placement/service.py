"""Placements: the level a placement call found, and the learner's answer to it (the only
writer of `placements`).

- The analysis worker stores a placement call's result here (`record_result`), in the
  same transaction as its job row.
- The learner's level changes **only** when they accept (`decide` with
  `Choice.ACCEPT`), and only in the placement call's language
  (`practice_sessions.language`); "Keep my level" records the answer and changes nothing. A placement
  is answered once; the level can be changed any time on the account page.
- The classroom offers the call (`should_offer`) to a learner with no finished lesson and
  no placement and no "Skip, I know my level" in the language they practise (the skip is
  remembered on the learner's level row, `auth/levels.py`).

Every function takes the learner's id from the caller, who resolved it from the server
session; a placement of another learner reads as not found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from fluentio import languages
from fluentio.auth import levels
from fluentio.classroom.lifecycle import OPEN_STATUSES
from fluentio.classroom.scenarios import PLACEMENT_SCENARIO_ID
from fluentio.levels import LEVEL_NAMES
from fluentio.models import (
    Feedback,
    FeedbackStatus,
    Placement,
    PlacementDecision,
    PracticeSession,
    SessionStatus,
    User,
)
from fluentio.models.base import utcnow
from fluentio.placement.analysis import PlacementAnswer


class Choice(StrEnum):
    ACCEPT = "accept"  # "Use B1"
    KEEP = "keep"  # "Keep my level (A2)"


class PlacementError(Exception):
    """A decision that cannot be made, with the sentence the learner reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


NOT_FOUND = "There is no placement for this lesson in your account."
ALREADY_DECIDED = "You have already answered this placement. You can change your level on the Account page."


def is_placement(topic: str | None) -> bool:
    return topic == PLACEMENT_SCENARIO_ID


# ------------------------------------------------------------------ the rules


def can_decide(decision: str | None) -> bool:
    """A placement is answered once."""
    return decision is None


def level_after(current_level: str, placement_level: str, choice: Choice) -> str:
    """The learner's level after answering: the placement's only when they accept."""
    return placement_level if choice is Choice.ACCEPT else current_level


# ------------------------------------------------------------- storing results


def record_result(
    *, session: Session, practice_session_id: uuid.UUID, answer: PlacementAnswer, now: datetime | None = None
) -> Placement | None:
    """Store (or, after a re-run analysis, refresh while unanswered) a placement call's
    result. The caller owns the transaction. None if the session is gone."""
    practice = session.get(PracticeSession, practice_session_id)
    if practice is None:
        return None
    evidence = [{"quote": item.quote, "why": item.why} for item in answer.evidence]
    row = session.exec(select(Placement).where(Placement.session_id == practice_session_id)).first()
    if row is None:
        row = Placement(
            user_id=practice.user_id,
            session_id=practice_session_id,
            level=answer.level.value,
            evidence=evidence,
            summary=answer.summary,
            created_at=now or utcnow(),
        )
    elif row.decision is None:
        row.level, row.evidence, row.summary = answer.level.value, evidence, answer.summary
    else:
        return row
    session.add(row)
    session.flush()
    return row


# ------------------------------------------------------------------ what pages show


@dataclass(frozen=True)
class EvidenceView:
    quote: str
    why: str


@dataclass(frozen=True)
class PlacementView:
    level: str
    level_name: str
    evidence: list[EvidenceView]
    summary: str
    decision: str  # "" (not answered yet), "accepted" or "kept"
    current_level: str  # the learner's level now, in the placement call's language
    level_before: str  # their level when they answered ("" before)


def placement_for_session(
    *, session: Session, user_id: uuid.UUID, practice_session_id: uuid.UUID
) -> PlacementView | None:
    """The placement of one of this learner's lessons, or None."""
    row = session.exec(
        select(Placement).where(Placement.session_id == practice_session_id, Placement.user_id == user_id)
    ).first()
    user = session.get(User, user_id)
    practice = session.get(PracticeSession, practice_session_id)
    if row is None or user is None or practice is None:
        return None
    return PlacementView(
        level=row.level,
        level_name=LEVEL_NAMES.get(row.level, ""),
        evidence=[EvidenceView(str(e.get("quote", "")), str(e.get("why", ""))) for e in row.evidence],
        summary=row.summary,
        decision=row.decision or "",
        current_level=levels.level_for(session, user_id, practice.language),
        level_before=row.level_before or "",
    )


# ------------------------------------------------------------------ the learner's answer


def decide(
    *,
    session: Session,
    user_id: uuid.UUID,
    practice_session_id: uuid.UUID,
    choice: Choice,
    now: datetime | None = None,
) -> PlacementView:
    """The learner accepts the placement's level or keeps their own; commits.

    Raises PlacementError when the placement is not theirs (or does not exist) or was
    already answered; nothing changes then.
    """
    row = session.exec(
        select(Placement).where(Placement.session_id == practice_session_id, Placement.user_id == user_id)
    ).first()
    user = session.get(User, user_id)
    practice = session.get(PracticeSession, practice_session_id)
    if row is None or practice is None or user is None or user.deleted_at is not None:
        raise PlacementError(NOT_FOUND)
    if not can_decide(row.decision):
        raise PlacementError(ALREADY_DECIDED)
    # The level of the language the placement call was in, whatever the learner practises now.
    language = practice.language
    before = levels.level_for(session, user_id, language)
    decision = PlacementDecision.ACCEPTED if choice is Choice.ACCEPT else PlacementDecision.KEPT
    # Answered once, even when two tabs answer together: only one conditional update wins.
    won = session.exec(
        sa.update(Placement)
        .execution_options(synchronize_session=False)
        .where(col(Placement.id) == row.id, col(Placement.decision).is_(None))
        .values(decision=decision.value, level_before=before, decided_at=now or utcnow())
    )
    if not won.rowcount:
        session.rollback()
        raise PlacementError(ALREADY_DECIDED)
    after = level_after(before, row.level, choice)
    if after != before:
        levels.set_level(session=session, user_id=user_id, language=language, level=after)
    session.commit()
    session.expire_all()
    view = placement_for_session(session=session, user_id=user_id, practice_session_id=practice_session_id)
    assert view is not None
    return view


# ------------------------------------------------------------------ the classroom's offer


def should_offer(*, session: Session, user_id: uuid.UUID, language: str) -> bool:
    """Offer the placement call in `language` (the one practised): no finished lesson in
    it, no level found in it yet, not skipped.

    Per language: a learner who placed in English and starts Spanish is offered a Spanish
    placement. A placement call that is under way or being analysed counts as taken; one
    that found no level (too little speech, the analysis failed, it never connected) does
    not, so the offer comes back for another try. "Skip, I know my level" is per language
    too."""
    if levels.placement_skipped(session, user_id, language):
        return False
    in_language = col(PracticeSession.language) == languages.get_language(language).code
    placed = session.exec(
        select(Placement.id)
        .join(PracticeSession, col(PracticeSession.id) == col(Placement.session_id))
        .where(Placement.user_id == user_id, in_language)
        .limit(1)
    ).first()
    if placed:
        return False
    lesson_finished = sa.and_(
        col(PracticeSession.topic) != PLACEMENT_SCENARIO_ID,
        col(PracticeSession.status) == SessionStatus.ENDED.value,
    )
    placement_pending = sa.and_(
        col(PracticeSession.topic) == PLACEMENT_SCENARIO_ID,
        sa.or_(
            col(PracticeSession.status).in_(OPEN_STATUSES),
            col(Feedback.status).in_([FeedbackStatus.PENDING.value, FeedbackStatus.RUNNING.value]),
        ),
    )
    taken = session.exec(
        select(PracticeSession.id)
        .outerjoin(Feedback, col(Feedback.session_id) == col(PracticeSession.id))
        .where(PracticeSession.user_id == user_id, in_language, sa.or_(lesson_finished, placement_pending))
        .limit(1)
    ).first()
    return taken is None


def skip_offer(*, session: Session, user_id: uuid.UUID, language: str) -> None:
    """ "Skip, I know my level" in `language`: never offered again for it. Commits."""
    levels.skip_placement(session=session, user_id=user_id, language=language)
    session.commit()


def scrub_learner(*, session: Session, user_id: uuid.UUID) -> None:
    """Account deletion: the placements quote the learner's words, so they go."""
    session.exec(delete(Placement).where(col(Placement.user_id) == user_id))


def export_record(*, session: Session, practice_session_id: uuid.UUID) -> dict[str, object] | None:
    """A lesson's placement for "Download my data" (None when it was not a placement call)."""
    row = session.exec(select(Placement).where(Placement.session_id == practice_session_id)).first()
    if row is None:
        return None
    return {
        "level": row.level,
        "evidence": [{"quote": e.get("quote", ""), "why": e.get("why", "")} for e in row.evidence],
        "summary": row.summary,
        "your_answer": row.decision,
        "your_level_then": row.level_before,
        "answered_at": row.decided_at.isoformat() if row.decided_at else None,
    }
