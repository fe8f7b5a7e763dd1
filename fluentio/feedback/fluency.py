"""Fluency figures computed from the transcript in plain Python (never by the model).

- words per minute: the learner's words over the time the learner was speaking;
- talk share: the learner's part of all speaking time (of all words when the transcript
  has no timings);
- turns: how many times the learner took the floor (consecutive learner lines are one turn).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fluentio.models.tutor import Speaker

WORD = re.compile(r"[^\W_]+(?:['’][^\W\d_]+)*")
# A learner line shorter than this is a timing glitch, not speech to divide by.
MIN_TIMED_MS = 300


@dataclass(frozen=True)
class Line:
    """One transcript line, detached from the database."""

    speaker: str
    text: str
    started_ms: int | None = None
    ended_ms: int | None = None
    item_id: str = ""

    @property
    def is_learner(self) -> bool:
        return self.speaker == Speaker.LEARNER.value

    @property
    def duration_ms(self) -> int | None:
        if self.started_ms is None or self.ended_ms is None or self.ended_ms <= self.started_ms:
            return None
        return self.ended_ms - self.started_ms


@dataclass(frozen=True)
class FluencyFigures:
    learner_words: int
    tutor_words: int
    turns: int
    learner_speaking_ms: int
    words_per_minute: float | None
    talk_share: float | None


def count_words(text: str) -> int:
    return len(WORD.findall(text))


def fluency_figures(lines: Sequence[Line]) -> FluencyFigures:
    learner_words = tutor_words = turns = 0
    learner_ms = tutor_ms = 0
    timed_learner_words = 0
    all_timed = bool(lines)
    previous_speaker = ""
    for line in lines:
        words = count_words(line.text)
        duration = line.duration_ms
        if duration is None:
            all_timed = False
        if line.is_learner:
            learner_words += words
            if previous_speaker != line.speaker and words:
                turns += 1
            if duration is not None and duration >= MIN_TIMED_MS:
                learner_ms += duration
                timed_learner_words += words
        else:
            tutor_words += words
            tutor_ms += duration or 0
        if words:
            previous_speaker = line.speaker

    words_per_minute = round(timed_learner_words / (learner_ms / 60_000), 1) if learner_ms else None
    if all_timed and learner_ms + tutor_ms > 0:
        talk_share: float | None = round(learner_ms / (learner_ms + tutor_ms), 3)
    elif learner_words + tutor_words > 0:
        talk_share = round(learner_words / (learner_words + tutor_words), 3)
    else:
        talk_share = None
    return FluencyFigures(
        learner_words=learner_words,
        tutor_words=tutor_words,
        turns=turns,
        learner_speaking_ms=learner_ms,
        words_per_minute=words_per_minute,
        talk_share=talk_share,
    )
