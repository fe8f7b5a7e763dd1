"""Learning that carries between lessons: unclear words, the vocabulary deck, goals.

Owners: `fluentio/vocabulary/unclear.py` writes `unclear_words`, `fluentio/vocabulary/deck.py`
writes `deck_items`, `fluentio/goals/service.py` writes `learning_goals`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from fluentio.models.base import (
    UTCDateTime,
    default_now,
    empty_dict,
    empty_list,
    string,
    utc_timestamp,
    uuid_pk,
)


class DeckSource(StrEnum):
    """Where a deck item came from (the first source wins; later ones don't change it)."""

    NEW_WORD = "new_word"  # a less common word the learner used well (the feedback's newWords)
    TARGET_WORD = "target_word"  # a word the learner chose to practise before a lesson
    CORRECTION = "correction"  # a short corrected phrase from the feedback
    UNCLEAR = "unclear"  # a word the recogniser was unsure of


class UnclearWord(SQLModel, table=True):
    """A word in a learner's line that the speech recogniser was unsure of."""

    __tablename__ = "unclear_words"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "provider_item_id", "position", name="uq_unclear_word_position"),
    )

    id: uuid.UUID = uuid_pk()
    session_id: uuid.UUID = Field(foreign_key="practice_sessions.id", ondelete="CASCADE", index=True)
    provider_item_id: str = string(100)
    # The word's index among the line's words (as the transcript splits on spaces).
    position: int
    word: str = string(100)
    # How sure the recogniser was, 0–1 (geometric mean of the word's token probabilities).
    confidence: float
    created_at: datetime = default_now()


class DeckItem(SQLModel, table=True):
    """One word or phrase in a learner's vocabulary deck, scheduled by FSRS."""

    __tablename__ = "deck_items"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "language", "key", name="uq_deck_item_user_language_key"),
        sa.Index("ix_deck_items_user_language_due", "user_id", "language", "due_at"),
    )

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    # The language of the word (fluentio/languages.py code): a deck per language practised.
    language: str = string(8, default="en", sa_column_kwargs={"server_default": "en"})
    text: str = string(200)
    # Lower-case, punctuation-free form: one item per word or phrase however it was written.
    key: str = string(200)
    source: str = string(16)
    source_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="practice_sessions.id", ondelete="SET NULL", nullable=True
    )
    # The fsrs library's Card, as its own `to_dict()`; `due_at` and `reps` mirror it for queries.
    card: dict[str, Any] = Field(default_factory=empty_dict, sa_type=sa.JSON, nullable=False)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reps: int = Field(default=0)
    last_reviewed_at: datetime | None = utc_timestamp()
    # The session whose feedback last reviewed it: a re-run analysis never reviews twice.
    last_review_session_id: uuid.UUID | None = Field(default=None, nullable=True)
    created_at: datetime = default_now()


class LearningGoal(SQLModel, table=True):
    """A learner's weekly minutes goal, time zone and reminder choice."""

    __tablename__ = "learning_goals"

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    weekly_minutes: int = Field(default=60)
    time_zone: str = string(64, default="UTC")
    reminders: bool = Field(default=False)
    # The Monday (in the learner's zone, ISO date) of the week a reminder was last sent.
    reminded_week: str | None = string(10, default=None, nullable=True)
    updated_at: datetime = default_now()


class PlacementDecision(StrEnum):
    """What the learner did with a placement's level."""

    ACCEPTED = "accepted"  # their level is now the placement's
    KEPT = "kept"  # they kept their own level


class Placement(SQLModel, table=True):
    """The level a placement call found, its evidence, and the learner's answer to it.

    Written only by `fluentio/placement/service.py`.
    """

    __tablename__ = "placements"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    session_id: uuid.UUID = Field(foreign_key="practice_sessions.id", ondelete="CASCADE", unique=True)
    level: str = string(2)
    # [{"quote": the learner's words, "why": what they show}], quotes checked against the transcript.
    evidence: list[dict[str, str]] = Field(default_factory=empty_list, sa_type=sa.JSON, nullable=False)
    summary: str = Field(default="", sa_type=sa.Text)
    decision: str | None = string(16, default=None, nullable=True)
    # The learner's own level when they decided (what "Keep my level" kept, or what B1 replaced).
    level_before: str | None = string(2, default=None, nullable=True)
    decided_at: datetime | None = utc_timestamp()
    created_at: datetime = default_now()
