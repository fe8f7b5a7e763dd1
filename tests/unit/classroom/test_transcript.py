"""Which words of an interrupted answer the learner heard."""

from __future__ import annotations

from fluentio.classroom import transcript


def test_heard_words() -> None:
    text = "one two three four five six seven eight nine ten"
    assert transcript.heard_words(text, 0, 10_000) == ""
    assert transcript.heard_words(text, 5_000, 10_000) == "one two three four five"
    assert transcript.heard_words(text, 10_000, 10_000) == text
    # Estimated length: a cut well inside it is proportional…
    estimate_ms = len(text) / transcript.CHARS_PER_SECOND * 1000
    assert transcript.heard_words(text, estimate_ms * 0.3) == "one two three"
    # …but a text that nearly fits is most likely already what was heard.
    assert transcript.heard_words(text, estimate_ms * 0.85) == text
