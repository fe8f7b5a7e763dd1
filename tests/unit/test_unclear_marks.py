"""Where unclear words are marked inside a line (the transcript and the live captions):
one rule (vocabulary/unclear.py), located by word position, never on the wrong word."""

from __future__ import annotations

import math

from fluentio.simulator.script import LEARNER_LINES, transcript_logprobs
from fluentio.vocabulary.unclear import LOW_CONFIDENCE, spans_at, spans_from_logprobs, split_at, unclear_label


def tokens(*pairs: tuple[str, float]) -> list[dict[str, object]]:
    return [{"token": t, "logprob": math.log(p)} for t, p in pairs]


def test_the_simulators_unclear_word_is_found_in_the_caption() -> None:
    text = LEARNER_LINES[0]  # "Yesterday I go to the market and buy two apple."
    [span] = spans_from_logprobs(text, transcript_logprobs(text))
    assert text[span.start : span.end] == "market" and span.confidence < LOW_CONFIDENCE
    assert span.label == "Unclear — the recogniser was 31% sure"
    assert split_at(text, [span]) == [
        ("Yesterday I go to the ", None),
        ("market", span),
        (" and buy two apple.", None),
    ]


def test_the_threshold_and_short_words_follow_the_stored_rule() -> None:
    text = "I a bit mumbled it."
    found = spans_from_logprobs(
        text,
        tokens(
            ("I", 0.1), (" a", 0.2), (" bit", 0.49), (" mum", 0.5), ("bled", 0.5), (" it", 0.9), (".", 0.1)
        ),
    )
    # One-letter words are never marked; 0.5 itself is not under the threshold.
    assert [(text[s.start : s.end], round(s.confidence, 2)) for s in found] == [("bit", 0.49)]


def test_punctuation_stays_outside_the_mark_and_contractions_stay_whole() -> None:
    text = "Well, don't worry."
    found = spans_from_logprobs(
        text, tokens(("Well", 0.95), (",", 0.2), (" don", 0.3), ("'t", 0.3), (" worry.", 0.9))
    )
    assert [text[s.start : s.end] for s in found] == ["don't"]


def test_a_position_that_no_longer_holds_the_word_is_not_marked() -> None:
    text = "I went to the market."
    assert spans_at(text, [(4, "market", 0.3)])[0].word == "market"
    assert spans_at(text, [(3, "market", 0.3)]) == []
    assert spans_at(text, [(9, "market", 0.3)]) == []
    assert split_at(text, []) == [(text, None)]
    assert unclear_label(0.284) == "Unclear — the recogniser was 28% sure"
