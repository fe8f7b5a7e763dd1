"""What carries into the next lesson's tutor instructions from the learner's words."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from fluentio.goals.service import end_of_today
from fluentio.vocabulary import deck, unclear


@dataclass(frozen=True)
class LessonWords:
    due: list[
        str
    ]  # deck items due by the end of the learner's day: "use these naturally and get the learner to say them"
    unclear: list[str]  # last lesson's unclear words: "ask the learner to use them again"


def lesson_words(*, session: Session, user_id: uuid.UUID, now: datetime, language: str = "en") -> LessonWords:
    """The words of the learner's `language` deck and lessons that the next lesson weaves in."""
    again = unclear.last_lesson_unclear_words(session=session, user_id=user_id, language=language)
    asked = {deck.deck_key(word) for word in again}
    until = end_of_today(session=session, user_id=user_id, now=now)
    due = [
        item.text
        for item in deck.due_items(session=session, user_id=user_id, due_by=until, language=language)
        if item.key not in asked
    ]
    return LessonWords(due=due, unclear=again)
