"""A learner's level per language practised: the only writer of `learner_levels`, and the
one way to read a learner's level (`level_for`).

A language the learner never set a level for reads as the default level
(`fluentio.levels.DEFAULT_LEVEL`), so a learner who is C1 in English and starts Spanish
gets a Spanish tutor at the default level, not at C1. Levels change on the account page
(`auth/service.py:update_profile`, for the language practised) and when a placement's
level is accepted (`placement/service.py:decide`, for the placement call's language).
A row also remembers "Skip, I know my level" for its language (`skip_placement`), so the
placement offer is per language (`placement/service.py:should_offer`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, delete, select

from fluentio import languages
from fluentio.levels import DEFAULT_LEVEL, LEVELS
from fluentio.models import LearnerLevel
from fluentio.models.base import utcnow


def effective_level(stored: str | None) -> str:
    """The fallback rule: a stored CEFR level as it is, the default level for none (or for
    anything that is not a level)."""
    return stored if stored in LEVELS else DEFAULT_LEVEL.value


def _row(session: Session, user_id: uuid.UUID, language: str) -> LearnerLevel | None:
    return session.exec(
        select(LearnerLevel).where(LearnerLevel.user_id == user_id, LearnerLevel.language == language)
    ).first()


def level_for(session: Session, user_id: uuid.UUID, language: str | None) -> str:
    """The learner's level in `language` (a fluentio/languages.py code; unknown codes read
    as English), or the default level when they never set one for it."""
    row = _row(session, user_id, languages.get_language(language).code)
    return effective_level(row.level if row else None)


def levels_for(session: Session, user_id: uuid.UUID) -> dict[str, str]:
    """Every taught language's level for this learner (the default where never set)."""
    stored = dict(
        session.exec(
            select(LearnerLevel.language, LearnerLevel.level).where(LearnerLevel.user_id == user_id)
        ).all()
    )
    return {code: effective_level(stored.get(code)) for code in languages.CODES}


def set_level(
    *, session: Session, user_id: uuid.UUID, language: str, level: str, now: datetime | None = None
) -> str:
    """Set the learner's level in one language and return it; ValueError for a level or
    language that is not ours (callers check first and word the message). The caller owns
    the transaction."""
    if level not in LEVELS or not languages.is_supported(language):
        raise ValueError(f"not a level or language: {level!r} {language!r}")
    code = languages.get_language(language).code
    row = _row(session, user_id, code) or LearnerLevel(user_id=user_id, language=code, level=level)
    row.level = level
    row.updated_at = now or utcnow()
    session.add(row)
    session.flush()
    return level


def skip_placement(*, session: Session, user_id: uuid.UUID, language: str) -> None:
    """ "Skip, I know my level" in `language`: the learner keeps the level shown (stored, so
    the row can remember the skip). The caller owns the transaction."""
    code = languages.get_language(language).code
    row = _row(session, user_id, code) or LearnerLevel(
        user_id=user_id, language=code, level=effective_level(None)
    )
    row.placement_skipped_at = row.placement_skipped_at or utcnow()
    session.add(row)
    session.flush()


def placement_skipped(session: Session, user_id: uuid.UUID, language: str) -> bool:
    row = _row(session, user_id, languages.get_language(language).code)
    return row is not None and row.placement_skipped_at is not None


def export_levels(session: Session, user_id: uuid.UUID) -> list[dict[str, str | None]]:
    """The levels the learner set, for "Download my data"."""
    rows = session.exec(
        select(LearnerLevel).where(LearnerLevel.user_id == user_id).order_by(col(LearnerLevel.language))
    ).all()
    return [
        {
            "language": row.language,
            "level": row.level,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
            "placement_skipped_at": row.placement_skipped_at.isoformat()
            if row.placement_skipped_at
            else None,
        }
        for row in rows
    ]


def scrub_learner(*, session: Session, user_id: uuid.UUID) -> None:
    """Account deletion: the learner's levels go."""
    session.exec(delete(LearnerLevel).where(col(LearnerLevel.user_id) == user_id))
