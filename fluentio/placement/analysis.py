"""The placement call's analysis: a CEFR level with the evidence for it.

The model answers `PlacementAnswer` through the Responses API with a strict JSON schema
(the SDK derives it from the pydantic model, as for the lesson feedback in
`feedback/schema.py`; the request itself is `feedback.analysis.request_parsed`). Each
piece of evidence quotes the learner's own words; `tidy` keeps only quotes really found
in a learner line, so a level is never shown with words the learner did not say.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from fluentio.feedback.analysis import (
    AnalysisError,
    PreparedTranscript,
    learner_context,
    prepare_transcript,
    request_parsed,
    transcript_messages,
)
from fluentio.feedback.fluency import Line
from fluentio.feedback.highlight import locate
from fluentio.languages import get_language
from fluentio.levels import LEVEL_NAMES, CefrLevel
from fluentio.settings import Settings, get_settings

MAX_EVIDENCE = 5
MAX_QUOTE = 300
MAX_WHY = 300
MAX_SUMMARY = 400

INSTRUCTIONS = """\
You are an experienced CEFR examiner. You receive the transcript of a five-minute spoken
placement conversation between a Learner and a Tutor. The Tutor's questions climb from A1
(personal facts) through A2, B1 and B2 to C1 (abstract and hypothetical questions). Judge
only the Learner's {language}; the Tutor's lines are context. The transcript comes from
speech recognition, so ignore punctuation, capitalisation and spelling.

Answer with:
- level: the CEFR level (A1 to C2) the Learner can reliably speak at: the highest step whose
  questions they answered with sentences that mostly work. Give C2 only with clear evidence
  of effortless, precise language.
- evidence: two to {max_evidence} pieces of evidence, the strongest first. `quote` must be copied
  exactly, word for word, from one Learner line (a phrase or sentence, not the Tutor's words).
  `why`: one short sentence saying what the quote shows about the level (range, grammar,
  accuracy, linking, fluency), e.g. "Uses the past simple correctly for a story (A2)" or
  "Cannot yet give reasons with because/although, so not B1 yet".
- summary: one or two short, friendly sentences to the learner ("you") about the level.
Write `why` and the summary in {explanation}, the learner's own language; quotes stay as
the learner said them."""


class EvidenceAnswer(BaseModel):
    """One quote from the learner and what it shows."""

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(description="The learner's words, copied exactly from one learner line.")
    why: str = Field(description="One short sentence: what this shows about the learner's level.")


class PlacementAnswer(BaseModel):
    """The analysis of a placement call."""

    model_config = ConfigDict(extra="forbid")

    level: CefrLevel
    evidence: list[EvidenceAnswer]
    summary: str = Field(description="One or two friendly sentences to the learner about their level.")


def build_input(
    prepared: PreparedTranscript, *, level: str, language: str = "en", explanation_language: str = "en"
) -> list[dict[str, str]]:
    system = INSTRUCTIONS.format(
        language=get_language(language).name,
        explanation=get_language(explanation_language).name,
        max_evidence=MAX_EVIDENCE,
    )
    context = learner_context(level=level, language=language, explanation_language=explanation_language)
    return transcript_messages(system, context, prepared)


def _clean(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def tidy(answer: PlacementAnswer, lines: Sequence[Line]) -> PlacementAnswer:
    """Keep evidence whose quote is in a learner line (once each, at most MAX_EVIDENCE),
    trimmed; an answer with no such evidence is an AnalysisError (worth another try)."""
    kept: list[EvidenceAnswer] = []
    seen: set[str] = set()
    for item in answer.evidence:
        quote, why = _clean(item.quote, MAX_QUOTE), _clean(item.why, MAX_WHY)
        if not quote or not why or quote.lower() in seen or locate(quote, lines) is None:
            continue
        seen.add(quote.lower())
        kept.append(EvidenceAnswer(quote=quote, why=why))
    if not kept:
        raise AnalysisError("The placement had no evidence from the learner's own words.", retryable=True)
    summary = _clean(answer.summary, MAX_SUMMARY) or (
        f"You speak at about {answer.level.value} ({LEVEL_NAMES[answer.level]})."
    )
    return PlacementAnswer(level=answer.level, evidence=kept[:MAX_EVIDENCE], summary=summary)


async def analyse_placement(
    lines: Sequence[Line],
    *,
    level: str,
    settings: Settings | None = None,
    language: str = "en",
    explanation_language: str = "en",
) -> PlacementAnswer:
    """Ask the model for the placement's level and evidence; AnalysisError on any failure."""
    settings = settings or get_settings()
    prepared = prepare_transcript(lines)
    messages = build_input(
        prepared, level=level, language=language, explanation_language=explanation_language
    )
    parsed = await request_parsed(messages, PlacementAnswer, settings=settings, what="placement")
    return tidy(parsed, lines)
