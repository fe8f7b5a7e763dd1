"""Token log-probabilities → per-word confidence (fluentio/vocabulary/confidence.py)."""

from __future__ import annotations

import math

import pytest

from fluentio.vocabulary.confidence import TokenLogprob, parse_logprobs, word_confidences


def tokens(*pairs: tuple[str, float]) -> list[TokenLogprob]:
    """Tokens from (text, probability) pairs."""
    return [TokenLogprob(text, math.log(p)) for text, p in pairs]


def test_multi_token_word_is_one_word_with_the_geometric_mean() -> None:
    words = word_confidences(
        tokens(("I", 0.99), (" bought", 0.9), (" tech", 0.4), ("nolog", 0.9), ("ies", 0.9))
    )
    assert [w.word for w in words] == ["I", "bought", "technologies"]
    assert [w.position for w in words] == [0, 1, 2]
    assert words[2].confidence == pytest.approx((0.4 * 0.9 * 0.9) ** (1 / 3), abs=1e-4)


def test_punctuation_tokens_neither_make_words_nor_lower_them() -> None:
    words = word_confidences(
        tokens(("Well", 0.95), (",", 0.01), (" yes", 0.9), (".", 0.02), (" —", 0.01), (" ok", 0.8))
    )
    assert [(w.word, w.position) for w in words] == [("Well", 0), ("yes", 1), ("ok", 3)]
    assert words[0].confidence == pytest.approx(0.95, abs=1e-4)
    assert words[1].confidence == pytest.approx(0.9, abs=1e-4)


def test_contractions_stay_one_word() -> None:
    words = word_confidences(
        tokens(("He", 0.99), (" don", 0.5), ("'t", 0.5), (" like", 0.9), (" it", 0.9), ("'s", 0.9))
    )
    assert [w.word for w in words] == ["He", "don't", "like", "it's"]
    assert words[1].confidence == pytest.approx(0.5, abs=1e-4)


def test_quotes_around_a_word_are_stripped_but_inner_hyphen_kept() -> None:
    words = word_confidences(tokens((' "', 0.9), ("well", 0.6), ("-", 0.9), ("known", 0.6), ('"', 0.9)))
    assert [w.word for w in words] == ["well-known"]
    # The hyphen sits inside the word's letters, so its token counts.
    assert words[0].confidence == pytest.approx((0.6 * 0.9 * 0.6) ** (1 / 3), abs=1e-4)


def test_a_token_spanning_two_words_counts_for_both() -> None:
    words = word_confidences(tokens(("of the", 0.3), (" way", 0.9)))
    assert [(w.word, round(w.confidence, 2)) for w in words] == [("of", 0.3), ("the", 0.3), ("way", 0.9)]


def test_positions_match_the_transcript_words() -> None:
    transcript = "Yesterday I go to the market."
    raw = [
        ("Yesterday", 0.9),
        (" I", 0.9),
        (" go", 0.9),
        (" to", 0.9),
        (" the", 0.9),
        (" mar", 0.2),
        ("ket", 0.3),
        (".", 0.9),
    ]
    words = word_confidences(tokens(*raw))
    unclear = [w for w in words if w.confidence < 0.5]
    assert [(w.word, transcript.split(" ")[w.position]) for w in unclear] == [("market", "market.")]


def test_parse_drops_malformed_entries_and_clamps_positive_logprobs() -> None:
    parsed = parse_logprobs(
        [
            {"token": "a", "logprob": -0.1, "bytes": [97]},
            {"token": "b"},
            {"token": 3, "logprob": -1.0},
            {"token": "c", "logprob": float("nan")},
            {"token": "d", "logprob": 0.2},
        ]
    )
    assert parsed == [TokenLogprob("a", -0.1), TokenLogprob("d", 0.0)]
    assert parse_logprobs(None) == []
    assert word_confidences([]) == []
