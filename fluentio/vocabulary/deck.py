"""The learner's vocabulary deck, scheduled by FSRS (owner of `deck_items`).

Items enter from a lesson's feedback (new words the learner used well, the words they
chose to practise, short corrected phrases) and from the recogniser's unclear words. Each
item is an `fsrs.Card`; the `fsrs` library (the scheduler Anki uses) decides when it is
due again, we never write intervals by hand. A lesson's feedback reviews the items the
learner said: "Good" when used correctly, "Again" when the word sat inside a mistake.
Due items go into the next lesson's tutor instructions.

A deck per language: each item has the language of the lesson it came from
(fluentio/languages.py), and a lesson only sees, reviews and adds items of its own.

Writes take a keyword-only `session`; the caller owns the transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from fsrs import Card, Rating, Scheduler, State
from fsrs.card import CardDict
from sqlmodel import Session, col, select

from fluentio.feedback.fluency import Line
from fluentio.feedback.highlight import find_span
from fluentio.feedback.patterns import pattern_key
from fluentio.feedback.schema import FeedbackAnswer
from fluentio.feedback.speech import current_cache_key
from fluentio.models import DeckItem, DeckSource, PracticeSession, UnclearWord

logger = logging.getLogger(__name__)

# Library defaults (desired retention 0.9, fuzzed intervals); tests pass their own.
SCHEDULER = Scheduler()
# A corrected phrase longer than this is a sentence to read, not a phrase to learn.
MAX_PHRASE_WORDS = 6
MAX_TEXT_CHARS = 200
# How many due items one lesson's tutor weaves in.
MAX_DUE_IN_LESSON = 8


@dataclass(frozen=True)
class CorrectionSpan:
    """What the learner got wrong, as the deck needs it: the original words."""

    original: str


def deck_key(text: str) -> str:
    """One item per word or phrase however it is cased or punctuated."""
    return pattern_key(text)[:MAX_TEXT_CHARS]


def _clean(text: str) -> str:
    return " ".join(str(text).split()).strip(' .,!?;:"“”')[:MAX_TEXT_CHARS]


def _card(item: DeckItem) -> Card:
    return Card.from_dict(cast(CardDict, item.card))


def _stored(card: Card) -> dict[str, Any]:
    return dict(card.to_dict())


def items_by_key(
    *, session: Session, user_id: uuid.UUID, texts: Iterable[str], language: str = "en"
) -> dict[str, DeckItem]:
    keys = {deck_key(text) for text in texts} - {""}
    if not keys:
        return {}
    rows = session.exec(
        select(DeckItem).where(
            DeckItem.user_id == user_id, DeckItem.language == language, col(DeckItem.key).in_(keys)
        )
    ).all()
    return {row.key: row for row in rows}


def add_items(
    *,
    session: Session,
    user_id: uuid.UUID,
    texts: Iterable[str],
    source: DeckSource,
    source_session_id: uuid.UUID | None,
    now: datetime,
    language: str = "en",
) -> list[DeckItem]:
    """Add the texts not yet in the `language` deck as new cards, due at once; the rows added."""
    wanted: dict[str, str] = {}
    for text in texts:
        cleaned = _clean(text)
        if (key := deck_key(cleaned)) and key not in wanted:
            wanted[key] = cleaned
    existing = items_by_key(session=session, user_id=user_id, texts=wanted.values(), language=language)
    added: list[DeckItem] = []
    for key, text in wanted.items():
        if key in existing:
            continue
        card = Card(due=now)
        row = DeckItem(
            user_id=user_id,
            language=language,
            text=text,
            key=key,
            source=source.value,
            source_session_id=source_session_id,
            card=_stored(card),
            due_at=now,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except sa.exc.IntegrityError:
            continue  # added by a concurrent lesson a moment ago
        added.append(row)
    return added


def review(*, item: DeckItem, rating: Rating, now: datetime, scheduler: Scheduler = SCHEDULER) -> None:
    """Apply one review to the item with the library's algorithm."""
    card, _log = scheduler.review_card(_card(item), rating, now)
    item.card = _stored(card)
    item.due_at = card.due
    item.reps += 1
    item.last_reviewed_at = now


def due_items(
    *,
    session: Session,
    user_id: uuid.UUID,
    due_by: datetime,
    limit: int = MAX_DUE_IN_LESSON,
    language: str = "en",
) -> list[DeckItem]:
    """The learner's `language` items due by `due_by`, most overdue first."""
    return list(
        session.exec(
            select(DeckItem)
            .where(
                DeckItem.user_id == user_id,
                DeckItem.language == language,
                col(DeckItem.due_at) <= due_by,
            )
            .order_by(col(DeckItem.due_at), col(DeckItem.created_at))
            .limit(limit)
        ).all()
    )


def _rating_in_lesson(
    item: DeckItem, lines: Sequence[Line], wrong: Sequence[str], unclear: set[str]
) -> Rating | None:
    """Good when the learner said the item outside any mistake, Again when only inside
    one (or the recogniser found it unclear again), None when they did not say it."""
    said = [line.text for line in lines if line.is_learner and find_span(item.text, line.text) is not None]
    if not said:
        return None
    if item.key in unclear:
        return Rating.Again
    for text in said:
        if not any(
            find_span(item.text, original) is not None and find_span(original, text) for original in wrong
        ):
            return Rating.Good
    return Rating.Again


def review_lesson(
    *,
    session: Session,
    practice_session_id: uuid.UUID,
    lines: Sequence[Line],
    corrections: Sequence[CorrectionSpan],
    now: datetime,
    scheduler: Scheduler = SCHEDULER,
) -> list[DeckItem]:
    """Review every older deck item the learner said in this lesson; the items reviewed."""
    practice = session.get(PracticeSession, practice_session_id)
    if practice is None:
        return []
    unclear = {
        deck_key(word)
        for word in session.exec(
            select(UnclearWord.word).where(UnclearWord.session_id == practice_session_id)
        )
    }
    candidates = session.exec(
        select(DeckItem).where(
            DeckItem.user_id == practice.user_id,
            DeckItem.language == practice.language,
            col(DeckItem.created_at) < practice.created_at,
            sa.or_(
                col(DeckItem.last_review_session_id).is_(None),
                col(DeckItem.last_review_session_id) != practice_session_id,
            ),
        )
    ).all()
    wrong = [c.original for c in corrections]
    reviewed: list[DeckItem] = []
    for item in candidates:
        rating = _rating_in_lesson(item, lines, wrong, unclear)
        if rating is None:
            continue
        review(item=item, rating=rating, now=now, scheduler=scheduler)
        item.last_review_session_id = practice_session_id
        session.add(item)
        reviewed.append(item)
    return reviewed


def after_feedback(
    *,
    session: Session,
    practice_session_id: uuid.UUID,
    new_words: Sequence[str],
    corrected_phrases: Sequence[str],
    corrections: Sequence[CorrectionSpan],
    lines: Sequence[Line],
    now: datetime,
    scheduler: Scheduler = SCHEDULER,
) -> None:
    """A lesson's feedback is stored: review what the learner said, then add what's new."""
    practice = session.get(PracticeSession, practice_session_id)
    if practice is None:
        return
    review_lesson(
        session=session,
        practice_session_id=practice_session_id,
        lines=lines,
        corrections=corrections,
        now=now,
        scheduler=scheduler,
    )
    for texts, source in (
        (new_words, DeckSource.NEW_WORD),
        (practice.target_vocabulary, DeckSource.TARGET_WORD),
        ([p for p in corrected_phrases if len(p.split()) <= MAX_PHRASE_WORDS], DeckSource.CORRECTION),
    ):
        add_items(
            session=session,
            user_id=practice.user_id,
            texts=texts,
            source=source,
            source_session_id=practice_session_id,
            now=now,
            language=practice.language,
        )


def record_feedback(
    *,
    session: Session,
    practice_session_id: uuid.UUID,
    answer: FeedbackAnswer,
    lines: Sequence[Line],
    now: datetime,
    scheduler: Scheduler = SCHEDULER,
) -> None:
    """The analysis worker's hook, in the transaction that stores the feedback.

    It runs in a savepoint: if the deck can't be updated, that is logged and undone, and
    the learner's feedback is still stored.
    """
    try:
        with session.begin_nested():
            after_feedback(
                session=session,
                practice_session_id=practice_session_id,
                new_words=answer.new_words,
                corrected_phrases=[c.corrected for c in answer.corrections],
                corrections=[CorrectionSpan(c.original) for c in answer.corrections],
                lines=lines,
                now=now,
                scheduler=scheduler,
            )
    except Exception:
        logger.exception("session %s: the vocabulary deck was not updated", practice_session_id)


def speech_url(item: DeckItem) -> str:
    """Where "Hear it" fetches the item's clip; the cache key changes the URL with the voice."""
    return f"/api/speech/words/{item.id}?k={current_cache_key(item.text, language=item.language)[:16]}"


@dataclass(frozen=True)
class DeckView:
    id: str
    text: str
    source: str
    due: str
    audio_url: str
    unclear: bool


@dataclass(frozen=True)
class DeckGroups:
    due: list[DeckView]
    learning: list[DeckView]
    known: list[DeckView]


SOURCE_LABELS = {
    DeckSource.NEW_WORD.value: "new word",
    DeckSource.TARGET_WORD.value: "your choice",
    DeckSource.CORRECTION.value: "corrected phrase",
    DeckSource.UNCLEAR.value: "unclear — try again",
}


def due_label(due: datetime, now: datetime) -> str:
    """When an item comes back, in words: "now", "in 10 min", "in 3 h", "tomorrow", "in 5 days"."""
    seconds = (due - now).total_seconds()
    if seconds <= 0:
        return "now"
    if seconds < 3600:
        return f"in {max(1, round(seconds / 60))} min"
    if seconds < 86_400:
        return f"in {round(seconds / 3600)} h"
    days = round(seconds / 86_400)
    return "tomorrow" if days == 1 else f"in {days} days"


def deck_groups(
    *, session: Session, user_id: uuid.UUID, now: datetime, due_by: datetime, language: str = "en"
) -> DeckGroups:
    """The Words page for one language: due by `due_by` (the end of the learner's day),
    still learning (FSRS learning/relearning), known (review)."""
    rows = session.exec(
        select(DeckItem)
        .where(DeckItem.user_id == user_id, DeckItem.language == language)
        .order_by(col(DeckItem.due_at), col(DeckItem.text))
    ).all()
    groups = DeckGroups([], [], [])
    for row in rows:
        view = DeckView(
            id=str(row.id),
            text=row.text,
            source=SOURCE_LABELS.get(row.source, row.source),
            due=due_label(row.due_at, now),
            audio_url=speech_url(row),
            unclear=row.source == DeckSource.UNCLEAR.value,
        )
        if row.due_at <= due_by:
            groups.due.append(view)
        elif _card(row).state == State.Review:
            groups.known.append(view)
        else:
            groups.learning.append(view)
    return groups


def owned_item_text(*, session: Session, user_id: uuid.UUID, item_id: uuid.UUID) -> tuple[str, str] | None:
    """The text and language of one of this learner's deck items, or None."""
    item = session.get(DeckItem, item_id)
    return (item.text, item.language) if item is not None and item.user_id == user_id else None
