"""Per-word confidence from the transcription model's token log-probabilities.

The provider returns the transcript as tokens, each with its log-probability. Tokens are
pieces of words: a word may take several (" mark" + "et"), a contraction is one word
(" don" + "'t"), and punctuation often comes as its own token ("."). Here the tokens are
laid end to end, the text is split into words on whitespace as the stored transcript is,
and each word gets the geometric mean of the probabilities of the tokens that overlap its
letters — so a trailing "." never lowers a word, and a long word is not punished for
taking more tokens. It is how sure the recogniser was of the word, not a pronunciation
score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# A word's letters: from its first to its last letter or digit (apostrophes inside kept).
_CORE = re.compile(r"[^\W_](?:.*[^\W_])?", re.DOTALL)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float


@dataclass(frozen=True)
class WordConfidence:
    position: int  # index among the transcript's whitespace-separated words
    word: str  # the word without surrounding punctuation
    confidence: float  # 0–1


def parse_logprobs(raw: Iterable[Mapping[str, Any]] | None) -> list[TokenLogprob]:
    """The provider's `logprobs` list (dicts with `token` and `logprob`); bad entries dropped."""
    tokens: list[TokenLogprob] = []
    for entry in raw or []:
        token, logprob = entry.get("token"), entry.get("logprob")
        if isinstance(token, str) and isinstance(logprob, int | float) and math.isfinite(logprob):
            tokens.append(TokenLogprob(token, min(0.0, float(logprob))))
    return tokens


def word_confidences(tokens: Iterable[TokenLogprob]) -> list[WordConfidence]:
    """Each word of the tokens' text with the recogniser's confidence in it."""
    text = ""
    spans: list[tuple[int, int, float]] = []
    for token in tokens:
        spans.append((len(text), len(text) + len(token.token), token.logprob))
        text += token.token
    words: list[WordConfidence] = []
    for position, match in enumerate(_WORD.finditer(text)):
        core = _CORE.search(match.group())
        if core is None:
            continue
        start, end = match.start() + core.start(), match.start() + core.end()
        logprobs = [lp for s, e, lp in spans if s < end and e > start]
        if logprobs:
            confidence = math.exp(sum(logprobs) / len(logprobs))
            words.append(WordConfidence(position, core.group(), round(confidence, 4)))
    return words


def word_core_spans(text: str) -> list[tuple[int, int] | None]:
    """For each whitespace-separated word of `text` (the positions `word_confidences`
    gives), where its letters start and end in `text`; None for a word with no letters."""
    spans: list[tuple[int, int] | None] = []
    for match in _WORD.finditer(text):
        core = _CORE.search(match.group())
        spans.append(None if core is None else (match.start() + core.start(), match.start() + core.end()))
    return spans
