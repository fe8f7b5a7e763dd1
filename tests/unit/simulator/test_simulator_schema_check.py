"""The Responses stand-in checks its answers against the request's schema (jsonschema)."""

from __future__ import annotations

import pytest
from openai.lib._pydantic import to_strict_json_schema

from fluentio.feedback.schema import FeedbackAnswer
from fluentio.simulator.responses import SchemaError, analyse_transcript, validate


def test_the_simulators_own_answer_matches_the_feedback_schema() -> None:
    validate(
        analyse_transcript("Learner: Yesterday I go to the market."), to_strict_json_schema(FeedbackAnswer)
    )


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda a: a.pop("newWords"), "newWords"),
        (lambda a: a.update(estimatedLevel="Z9"), "estimatedLevel"),
        (lambda a: a.update(extra=1), "extra"),
        (lambda a: a["corrections"].append({"original": "x"}), "corrections"),
    ],
)
def test_an_answer_off_the_schema_is_refused_with_its_place(change, where: str) -> None:  # type: ignore[no-untyped-def]
    answer = analyse_transcript("Learner: Yesterday I go to the market.")
    change(answer)
    with pytest.raises(SchemaError) as refused:
        validate(answer, to_strict_json_schema(FeedbackAnswer))
    assert where in str(refused.value)
