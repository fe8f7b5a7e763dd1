"""Words the recogniser found unclear in a learner's lines (owner of `unclear_words`).

The supervisor hands over each learner line's token log-probabilities as it is
transcribed; the words below LOW_CONFIDENCE are stored for the lesson and go into the
learner's deck, so the Words page can say them ("Hear it") and the next lesson's tutor
asks the learner to use them again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from fluentio.db import session_scope
from fluentio.models import DeckSource, PracticeSession, TranscriptItem, UnclearWord
from fluentio.models.base import utcnow
from fluentio.vocabulary import deck
from fluentio.vocabulary.confidence import parse_logprobs, word_confidences

logger = logging.getLogger(__name__)

# Below this the recogniser was more unsure than sure. Clear speech from a learner
# scores 0.8–1.0 on gpt-4o-mini-transcribe; a mumbled or mispronounced word falls well
# under a half.
LOW_CONFIDENCE = 0.5
# One-letter words ("a", "I") are too short to practise on their own.
MIN_WORD_LETTERS = 2
# How many of the last lesson's unclear words the next tutor asks for.
MAX_FOR_NEXT_LESSON = 5


@dataclass(frozen=True)
class UnclearView:
    """An unclear word as the pages show it, in its line: `before` + `said` + `after`."""

    word: str
    confidence_percent: int
    before: str
    said: str
    after: str
    audio_url: str


def record_unclear_words(
    *,
    session: Session,
    practice_session_id: uuid.UUID,
    provider_item_id: str,
    logprobs: Iterable[Mapping[str, Any]] | None,
    now: datetime,
) -> list[UnclearWord]:
    """Store the line's low-confidence words and add each to the learner's deck."""
    practice = session.get(PracticeSession, practice_session_id)
    if practice is None:
        return []
    stored: list[UnclearWord] = []
    for word in word_confidences(parse_logprobs(logprobs)):
        if word.confidence >= LOW_CONFIDENCE or len(word.word) < MIN_WORD_LETTERS:
            continue
        row = UnclearWord(
            session_id=practice_session_id,
            provider_item_id=provider_item_id,
            position=word.position,
            word=word.word[:100],
            confidence=word.confidence,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except sa.exc.IntegrityError:
            continue  # the same transcription event delivered twice
        stored.append(row)
    if stored:
        deck.add_items(
            session=session,
            user_id=practice.user_id,
            texts=[row.word for row in stored],
            source=DeckSource.UNCLEAR,
            source_session_id=practice_session_id,
            now=now,
            language=practice.language,
        )
    return stored


def record_for_call(
    *, practice_session_id: uuid.UUID, provider_item_id: str, logprobs: Iterable[Mapping[str, Any]] | None
) -> None:
    """The supervisor's hook (run in a thread): record one transcribed learner line.

    A failure here is logged and dropped: losing a hint must never disturb the live call
    whose sideband loop called us.
    """
    if not logprobs:
        return
    try:
        with session_scope() as session:
            record_unclear_words(
                session=session,
                practice_session_id=practice_session_id,
                provider_item_id=provider_item_id,
                logprobs=logprobs,
                now=utcnow(),
            )
    except Exception:
        logger.exception(
            "call %s: unclear words of item %s not recorded", practice_session_id, provider_item_id
        )


def session_unclear_words(
    *, session: Session, user_id: uuid.UUID, practice_session_id: uuid.UUID
) -> list[UnclearView]:
    """One of this learner's lessons' unclear words, in transcript order, each in its line."""
    language = session.exec(
        select(PracticeSession.language).where(PracticeSession.id == practice_session_id)
    ).first()
    rows = session.exec(
        select(UnclearWord, TranscriptItem.text)
        .join(PracticeSession, col(PracticeSession.id) == col(UnclearWord.session_id))
        .join(
            TranscriptItem,
            sa.and_(
                col(TranscriptItem.session_id) == col(UnclearWord.session_id),
                col(TranscriptItem.provider_item_id) == col(UnclearWord.provider_item_id),
            ),
        )
        .where(UnclearWord.session_id == practice_session_id, PracticeSession.user_id == user_id)
        .order_by(col(TranscriptItem.seq), col(UnclearWord.position))
    ).all()
    items = deck.items_by_key(
        session=session, user_id=user_id, texts=[row.word for row, _ in rows], language=language or "en"
    )
    views: list[UnclearView] = []
    for row, line in rows:
        item = items.get(deck.deck_key(row.word))
        words = line.split(" ")
        if item is None or row.position >= len(words):
            continue
        views.append(
            UnclearView(
                word=row.word,
                confidence_percent=round(row.confidence * 100),
                before=" ".join(words[: row.position]) + (" " if row.position else ""),
                said=words[row.position],
                after=(" " if row.position + 1 < len(words) else "") + " ".join(words[row.position + 1 :]),
                audio_url=deck.speech_url(item),
            )
        )
    return views


def last_lesson_unclear_words(*, session: Session, user_id: uuid.UUID, language: str = "en") -> list[str]:
    """The unclear words of the learner's most recent `language` lesson that had any (for the tutor)."""
    latest = session.exec(
        select(UnclearWord.session_id)
        .join(PracticeSession, col(PracticeSession.id) == col(UnclearWord.session_id))
        .where(PracticeSession.user_id == user_id, PracticeSession.language == language)
        .order_by(col(PracticeSession.created_at).desc())
        .limit(1)
    ).first()
    if latest is None:
        return []
    words = session.exec(
        select(UnclearWord.word)
        .where(UnclearWord.session_id == latest)
        .order_by(col(UnclearWord.confidence), col(UnclearWord.position))
    ).all()
    distinct: dict[str, str] = {}
    for word in words:
        distinct.setdefault(deck.deck_key(word), word)
    return list(distinct.values())[:MAX_FOR_NEXT_LESSON]
