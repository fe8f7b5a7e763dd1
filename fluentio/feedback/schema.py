"""The shape of a session analysis, as the model must answer it (strict JSON schema).

The article's schema (corrections, badPatterns, suggestions) plus a category per
correction, an estimated CEFR level, the learner's new words and a short summary. Every
field is required and no object allows extra keys, so the schema is valid for OpenAI's
strict structured outputs; `strict_json_schema()` is exactly what the app sends.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fluentio.models.tutor import CorrectionCategory

SCHEMA_NAME = "session_feedback"


class CefrLevel(StrEnum):
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


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


def _make_strict(node: Any) -> None:
    """Every object closed and every property required, recursively (OpenAI strict mode)."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node["additionalProperties"] = False
            node["required"] = list(node["properties"])
        for value in node.values():
            _make_strict(value)
    elif isinstance(node, list):
        for value in node:
            _make_strict(value)


@lru_cache(maxsize=1)
def _strict_schema() -> dict[str, Any]:
    schema = FeedbackAnswer.model_json_schema(by_alias=True, mode="validation")
    _make_strict(schema)
    return schema


def strict_json_schema() -> dict[str, Any]:
    """The JSON schema of FeedbackAnswer (camelCase names), made strict."""
    return copy.deepcopy(_strict_schema())


def text_format() -> dict[str, Any]:
    """The Responses API `text.format` value for a strict structured answer."""
    return {"type": "json_schema", "name": SCHEMA_NAME, "schema": strict_json_schema(), "strict": True}
