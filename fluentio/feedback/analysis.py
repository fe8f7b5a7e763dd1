"""Analyse a finished transcript with the OpenAI Responses API (strict structured output).

`analyse()` prepares the transcript (long ones are cut at a turn boundary), asks the
model for a `FeedbackAnswer` with `responses.parse` (the SDK sends the model's strict
JSON schema), and checks and tidies the answer. Every failure becomes an
`AnalysisError` that says whether trying again could help; the job runner decides when.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import openai
import pydantic

from fluentio.feedback.fluency import Line
from fluentio.feedback.schema import CorrectionAnswer, FeedbackAnswer
from fluentio.languages import get_language
from fluentio.openai_client import openai_client
from fluentio.settings import Settings, get_settings

logger = logging.getLogger(__name__)

ParsedT = TypeVar("ParsedT", bound=pydantic.BaseModel)

# Fewer learner words than this are not worth a model call ("not enough speech").
MIN_LEARNER_WORDS = 12
# About 6,000 tokens of transcript: a 30-minute call fits; anything longer is cut.
MAX_TRANSCRIPT_CHARS = 24_000
# The tutor's lines are context only, so long ones are shortened first.
MAX_TUTOR_LINE_CHARS = 280
MAX_LEARNER_LINE_CHARS = 2_000
REQUEST_TIMEOUT_SECONDS = 90.0
MAX_OUTPUT_TOKENS = 4_000

MAX_CORRECTIONS = 20
MAX_PATTERNS = 6
MAX_SUGGESTIONS = 6
MAX_NEW_WORDS = 12
MAX_TEXT = 600

INSTRUCTIONS = """\
You are an experienced, encouraging {language} tutor. You receive the transcript of a spoken
practice conversation between a Learner and a Tutor. Analyse only the Learner's {language}; the
Tutor's lines are context. The transcript comes from speech recognition, so ignore
punctuation, capitalisation and spelling unless a word was clearly mis-said.

Answer with:
- corrections: the Learner's real mistakes, most important first, at most 15. `original` must be
  copied exactly, word for word, from one Learner line: the shortest phrase or sentence that
  shows the mistake. `corrected` is the same phrase as a fluent speaker would say it.
  `explanation`: one or two short, friendly sentences. `category`: grammar; vocabulary (a wrong
  or unnatural word choice); pronunciation (only when the transcript shows a mis-said word,
  e.g. "tree" for "three"); fluency (fillers, restarts, unfinished sentences).
- badPatterns: up to 5 recurring mistakes, each a short general rule the learner can remember
  (e.g. "Past simple: present tense used for past events"), not single slips.
- suggestions: up to 5 concrete things to practise next time.
- estimatedLevel: the CEFR level (A1 to C2) this conversation shows.
- newWords: up to 10 advanced or less common words or expressions the Learner used correctly.
- summary: two short, encouraging sentences to the learner ("you")."""

# The learner's own language for everything they read; the target language for what they say.
LANGUAGE_RULES = """Languages: the conversation is in {language}. `original`, `corrected` and newWords stay in
{language}, exactly as a speaker would say them. Write every `explanation`, each badPattern,
each suggestion and the summary in {explanation}, the learner's own language, quoting
{language} words where they help."""


def instructions_for(language: str = "en", explanation_language: str = "en") -> str:
    """The system prompt for a lesson in `language`, explained in `explanation_language`
    (fluentio/languages.py codes)."""
    names = {"language": get_language(language).name, "explanation": get_language(explanation_language).name}
    return INSTRUCTIONS.format(**names) + "\n\n" + LANGUAGE_RULES.format(**names)


class AnalysisError(Exception):
    """The analysis did not produce a usable answer this time.

    `retryable` says whether the same request could succeed later (timeouts, 429, 5xx,
    a malformed answer); `retry_after` is the server's hint in seconds, if it gave one.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class PreparedTranscript:
    text: str
    lines_used: int
    lines_total: int

    @property
    def cut(self) -> bool:
        return self.lines_used < self.lines_total


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def prepare_transcript(lines: Sequence[Line], *, max_chars: int = MAX_TRANSCRIPT_CHARS) -> PreparedTranscript:
    """The transcript as "Learner: …" / "Tutor: …" lines, within `max_chars`.

    Tutor lines are shortened (they are context), then whole lines are kept from the
    start until the budget is spent, so a cut never splits a turn; a closing note tells
    the model how much was left out.
    """
    spoken = [line for line in lines if line.text.strip()]
    rendered: list[str] = []
    used = 0
    for line in spoken:
        if line.is_learner:
            entry = f"Learner: {_shorten(line.text, MAX_LEARNER_LINE_CHARS)}"
        else:
            entry = f"Tutor: {_shorten(line.text, MAX_TUTOR_LINE_CHARS)}"
        if used + len(entry) + 1 > max_chars:
            break
        rendered.append(entry)
        used += len(entry) + 1
    left_out = len(spoken) - len(rendered)
    if left_out:
        rendered.append(
            f"[The conversation was long: its last {left_out} lines are left out. Analyse the part above.]"
        )
    return PreparedTranscript("\n".join(rendered), len(spoken) - left_out, len(spoken))


def build_input(
    prepared: PreparedTranscript,
    *,
    level: str,
    topic: str,
    language: str = "en",
    explanation_language: str = "en",
) -> list[dict[str, str]]:
    context = learner_context(
        level=level, topic=topic or "free talk", language=language, explanation_language=explanation_language
    )
    return transcript_messages(instructions_for(language, explanation_language), context, prepared)


def learner_context(*, level: str, language: str, explanation_language: str, topic: str | None = None) -> str:
    """What the analyst is told about the learner before the transcript (the lesson's and
    the placement's analyses alike)."""
    practised, explained = get_language(language), get_language(explanation_language)
    topic_line = f" Topic: {topic}." if topic else ""
    return (
        f"The learner's own estimate of their level: {level or 'unknown'}.{topic_line} "
        f"Language practised: {practised.name} ({practised.code}). "
        f"Explanations in: {explained.name} ({explained.code})."
    )


def transcript_messages(system: str, context: str, prepared: PreparedTranscript) -> list[dict[str, str]]:
    """The Responses API input: the analyst's instructions, then the context and transcript."""
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": f"{context}\n\nTranscript:\n{prepared.text}"},
    ]


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _status_error(exc: openai.APIStatusError) -> AnalysisError:
    status = exc.status_code
    if status == 429:
        return AnalysisError(
            "The analysis service is busy (429).", retryable=True, retry_after=_retry_after(exc)
        )
    if status >= 500 or status in (408, 409):
        return AnalysisError(f"The analysis service failed ({status}).", retryable=True)
    return AnalysisError(f"The analysis service refused the request ({status}).", retryable=False)


def _clean_text(value: str) -> str:
    return " ".join(value.split())[:MAX_TEXT]


def _same_words(a: str, b: str) -> bool:
    def words(s: str) -> list[str]:
        return re.findall(r"(?:[^\W_]|')+", s.lower().replace("’", "'"))

    return words(a) == words(b)


def _unique(values: Sequence[str], limit: int) -> list[str]:
    seen: set[str] = set()
    kept: list[str] = []
    for value in values:
        text = _clean_text(value)
        if text and text.lower() not in seen:
            seen.add(text.lower())
            kept.append(text)
    return kept[:limit]


def tidy(answer: FeedbackAnswer) -> FeedbackAnswer:
    """Trim whitespace and lengths, drop empty or no-op corrections, remove duplicates."""
    corrections: list[CorrectionAnswer] = []
    seen: set[str] = set()
    for correction in answer.corrections:
        original = _clean_text(correction.original)
        corrected = _clean_text(correction.corrected)
        if not original or not corrected or _same_words(original, corrected):
            continue
        if original.lower() in seen:
            continue
        seen.add(original.lower())
        corrections.append(
            CorrectionAnswer(
                original=original,
                corrected=corrected,
                explanation=_clean_text(correction.explanation),
                category=correction.category,
            )
        )
    return FeedbackAnswer(
        corrections=corrections[:MAX_CORRECTIONS],
        bad_patterns=_unique(answer.bad_patterns, MAX_PATTERNS),
        suggestions=_unique(answer.suggestions, MAX_SUGGESTIONS),
        estimated_level=answer.estimated_level,
        new_words=_unique(answer.new_words, MAX_NEW_WORDS),
        summary=_clean_text(answer.summary),
    )


async def request_parsed(
    messages: list[dict[str, str]],
    text_format: type[ParsedT],
    *,
    settings: Settings,
    what: str = "feedback",
) -> ParsedT:
    """One Responses API call with a strict JSON schema (`text_format`, a pydantic model):
    the parsed answer, or an AnalysisError saying whether trying again could help. Shared
    by the lesson analysis and the placement analysis (fluentio/placement/analysis.py)."""
    try:
        # No SDK retries: the job runner retries, with backoff that survives restarts.
        client = openai_client(timeout=REQUEST_TIMEOUT_SECONDS, settings=settings)
        response = await client.responses.parse(
            model=settings.analysis_model,
            input=messages,  # type: ignore[arg-type]
            text_format=text_format,
            max_output_tokens=MAX_OUTPUT_TOKENS,
            store=False,
        )
    except openai.APITimeoutError as exc:
        raise AnalysisError("The analysis service did not answer in time.", retryable=True) from exc
    except openai.APIConnectionError as exc:
        raise AnalysisError("The analysis service could not be reached.", retryable=True) from exc
    except openai.APIStatusError as exc:
        raise _status_error(exc) from exc
    except (pydantic.ValidationError, json.JSONDecodeError, ValueError, TypeError) as exc:
        raise AnalysisError(f"The model's answer did not match the {what} format.", retryable=True) from exc
    except openai.OpenAIError as exc:
        raise AnalysisError(f"The analysis failed ({type(exc).__name__}).", retryable=True) from exc

    if response.status not in (None, "completed"):
        raise AnalysisError(f"The model's answer was {response.status}.", retryable=True)
    parsed = response.output_parsed
    if not isinstance(parsed, text_format):
        raise AnalysisError(f"The model gave no {what} (empty answer or refusal).", retryable=True)
    return parsed


async def analyse(
    lines: Sequence[Line],
    *,
    level: str,
    topic: str,
    settings: Settings | None = None,
    language: str = "en",
    explanation_language: str = "en",
) -> FeedbackAnswer:
    """Ask the model for the session's feedback; raise AnalysisError on any failure."""
    settings = settings or get_settings()
    prepared = prepare_transcript(lines)
    if prepared.cut:
        logger.info("analysis: transcript cut to %d of %d lines", prepared.lines_used, prepared.lines_total)
    messages = build_input(
        prepared, level=level, topic=topic, language=language, explanation_language=explanation_language
    )
    parsed = await request_parsed(messages, FeedbackAnswer, settings=settings)
    return tidy(parsed)
