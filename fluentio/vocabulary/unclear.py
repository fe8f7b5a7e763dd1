"""Words the recogniser found unclear in a learner's lines (owner of `unclear_words`).

The supervisor hands over each learner line's token log-probabilities as it is
transcribed; the words below LOW_CONFIDENCE are stored for the lesson and go into the
learner's deck, so the Words page can say them ("Hear it") and the next lesson's tutor
asks the learner to use them again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from fluentio.db import session_scope
from fluentio.models import DeckSource, PracticeSession, TranscriptItem, UnclearWord
from fluentio.models.base import utcnow
from fluentio.vocabulary import deck
from fluentio.vocabulary.confidence import WordConfidence, parse_logprobs, word_confidences, word_core_spans

logger = logging.getLogger(__name__)

# Below this the recogniser was more unsure than sure. Clear speech from a learner
# scores 0.8–1.0 on gpt-4o-mini-transcribe; a mumbled or mispronounced word falls well
# under a half.
LOW_CONFIDENCE = 0.5
# One-letter words ("a", "I") are too short to practise on their own.
MIN_WORD_LETTERS = 2
# How many of the last lesson's unclear words the next tutor asks for.
MAX_FOR_NEXT_LESSON = 5


def is_unclear(word: WordConfidence) -> bool:
    """The one rule: a word of two letters or more the recogniser was less than
    LOW_CONFIDENCE sure of (stored, marked in the transcript and in the live captions)."""
    return word.confidence < LOW_CONFIDENCE and len(word.word) >= MIN_WORD_LETTERS


def unclear_label(confidence: float) -> str:
    """What a marked word says on hover and to a screen reader."""
    return f"Unclear — the recogniser was {round(confidence * 100)}% sure"


@dataclass(frozen=True)
class UnclearSpan:
    """Where an unclear word sits in a line's text."""

    start: int
    end: int
    word: str
    confidence: float

    @property
    def label(self) -> str:
        return unclear_label(self.confidence)


def spans_at(text: str, words: Iterable[tuple[int, str, float]]) -> list[UnclearSpan]:
    """The (position, word, confidence) words located in `text`, in order; a position
    whose letters are not that word (the line was edited or cut) is left out."""
    cores = word_core_spans(text)
    spans: list[UnclearSpan] = []
    for position, word, confidence in sorted(words):
        core = cores[position] if 0 <= position < len(cores) else None
        if core is not None and text[core[0] : core[1]].lower() == word.lower():
            spans.append(UnclearSpan(core[0], core[1], word, confidence))
    return spans


def spans_from_logprobs(text: str, logprobs: Iterable[Mapping[str, Any]] | None) -> list[UnclearSpan]:
    """The unclear words of a freshly transcribed line (the live captions), by the same rule."""
    words = [w for w in word_confidences(parse_logprobs(logprobs)) if is_unclear(w)]
    return spans_at(text, [(w.position, w.word, w.confidence) for w in words])


def split_at(text: str, spans: Sequence[UnclearSpan]) -> list[tuple[str, UnclearSpan | None]]:
    """`text` cut into plain pieces and unclear words (None for plain), in order."""
    pieces: list[tuple[str, UnclearSpan | None]] = []
    cursor = 0
    for span in spans:
        if span.start < cursor or span.end > len(text):
            continue
        if span.start > cursor:
            pieces.append((text[cursor : span.start], None))
        pieces.append((text[span.start : span.end], span))
        cursor = span.end
    if cursor < len(text) or not pieces:
        pieces.append((text[cursor:], None))
    return pieces


def unclear_by_item(*, session: Session, practice_session_id: uuid.UUID) -> dict[str, list[UnclearSpan]]:
    """A lesson's unclear words, by the provider item id of the line, located in its text
    (for the transcript on the lesson page). The caller checks the lesson is the learner's."""
    rows = session.exec(
        select(UnclearWord, TranscriptItem.text)
        .join(
            TranscriptItem,
            sa.and_(
                col(TranscriptItem.session_id) == col(UnclearWord.session_id),
                col(TranscriptItem.provider_item_id) == col(UnclearWord.provider_item_id),
            ),
        )
        .where(UnclearWord.session_id == practice_session_id)
    ).all()
    grouped: dict[str, tuple[str, list[tuple[int, str, float]]]] = {}
    for row, text in rows:
        grouped.setdefault(row.provider_item_id, (text, []))[1].append(
            (row.position, row.word, row.confidence)
        )
    return {item: spans_at(text, words) for item, (text, words) in grouped.items()}


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
        if not is_unclear(word):
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
