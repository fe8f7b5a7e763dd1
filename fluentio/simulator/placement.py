"""The simulator's answer to a placement analysis (`PlacementAnswer`'s schema): a level
and evidence quoted from the learner's own lines, found by the same rules as its lesson
feedback (`simulator/responses.py`), so `make run` shows a placement with no model."""

from __future__ import annotations

from typing import Any

from fluentio.simulator.responses import WORD, correct_sentence, estimate_level, learner_sentences

MAX_EVIDENCE = 3


def is_placement_schema(schema: dict[str, Any]) -> bool:
    """A placement analysis asks for `level` and `evidence` (the lesson feedback does not)."""
    properties = schema.get("properties") or {}
    return "evidence" in properties and "level" in properties


def placement_answer(transcript: str) -> dict[str, Any]:
    """The placement answer (schema field names) for a transcript, by rule."""
    sentences = learner_sentences(transcript)
    words = [w for s in sentences for w in WORD.findall(s)]
    mistakes = [(s, found) for s in sentences if (found := correct_sentence(s)) is not None]
    level = estimate_level(words, len(sentences), len(mistakes))
    evidence: list[dict[str, str]] = []
    longest = max(sentences, key=lambda s: len(WORD.findall(s)), default="")
    if longest:
        count = len(WORD.findall(longest))
        evidence.append(
            {"quote": longest, "why": f"Your longest answer holds {count} words in one sentence ({level})."}
        )
    for sentence, found in mistakes:
        if len(evidence) >= MAX_EVIDENCE:
            break
        if sentence == longest:
            continue
        evidence.append(
            {
                "quote": sentence,
                "why": f"{found.labels[0]}: a slip that is still common at {level}.",
            }
        )
    if len(evidence) < MAX_EVIDENCE:
        evidence += [
            {"quote": s, "why": f"Said without a mistake, which fits {level}."}
            for s in sentences
            if s != longest and all(s != m for m, _ in mistakes)
        ][: MAX_EVIDENCE - len(evidence)]
    return {
        "level": level,
        "evidence": evidence,
        "summary": f"From {len(words)} words in this placement call you speak at about {level}.",
    }
