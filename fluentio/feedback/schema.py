"""The shape of a session analysis, as the model must answer it (strict JSON schema).

The article's schema (corrections, badPatterns, suggestions) plus a category per
correction, an estimated CEFR level, the learner's new words and a short summary. Every
field is required and no object allows extra keys, so the schema is valid for OpenAI's
strict structured outputs. The SDK derives the strict JSON schema it sends from
`FeedbackAnswer` (`responses.parse(text_format=FeedbackAnswer)`); nothing here rebuilds it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from fluentio.levels import CefrLevel
from fluentio.models.tutor import CorrectionCategory


class CorrectionAnswer(BaseModel):
    """One mistake: the learner's words, the fixed sentence, why, and what kind of mistake."""

    model_config = ConfigDict(extra="forbid")

    original: str = Field(description="The learner's words, copied exactly from one learner line.")
    corrected: str = Field(description="The same words, corrected: a natural sentence a tutor would say.")
    explanation: str = Field(description="One or two short sentences on why, for the learner.")
    category: CorrectionCategory


class FeedbackAnswer(BaseModel):
    """The whole analysis of one practice session."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    corrections: list[CorrectionAnswer]
    bad_patterns: list[str] = Field(
        alias="badPatterns", description="Recurring mistakes, each as a short reusable rule."
    )
    suggestions: list[str] = Field(description="Concrete things to practise next time.")
    estimated_level: CefrLevel = Field(alias="estimatedLevel")
    new_words: list[str] = Field(
        alias="newWords", description="Advanced or less common words the learner used well."
    )
    summary: str = Field(description="Two encouraging sentences about the session.")
