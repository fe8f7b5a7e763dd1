"""The analysis request and answer: the strict schema on the wire, validation of what
comes back, error classification, transcript cutting, fluency figures, highlighting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai.lib._pydantic import to_strict_json_schema

from fluentio.feedback import analysis
from fluentio.feedback.analysis import AnalysisError, analyse, prepare_transcript, tidy
from fluentio.feedback.fluency import Line, count_words, fluency_figures
from fluentio.feedback.highlight import Span, find_span, locate, segments
from fluentio.feedback.schema import FeedbackAnswer
from fluentio.settings import get_settings
from fluentio.simulator.script import LEARNER_LINES
from tests.support.fake_feedback_api import FakeOpenAI, Reply

RESPONSES = "/v1/responses"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI().running() as fake:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("FLUENTIO_ANALYSIS_MODEL", "gpt-test-analysis")
        get_settings.cache_clear()
        yield fake


def conversation(learner: list[str] | tuple[str, ...] = LEARNER_LINES[:5]) -> list[Line]:
    lines: list[Line] = []
    clock = 0
    for i, text in enumerate(learner):
        lines.append(Line("tutor", f"Question number {i}?", clock, clock + 2000, f"t{i}"))
        clock += 2500
        lines.append(Line("learner", text, clock, clock + 4000, f"l{i}"))
        clock += 4500
    return lines


def walk_objects(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            yield schema
        for value in schema.values():
            yield from walk_objects(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from walk_objects(value)


async def test_the_request_carries_the_models_strict_json_schema(fake: FakeOpenAI) -> None:
    answer = await analyse(conversation(), level="B1", topic="Daily life")

    [request] = fake.calls(RESPONSES)
    body = request.body
    assert request.headers["authorization"] == "Bearer sk-test-fake"
    assert body["model"] == "gpt-test-analysis"
    fmt = body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["strict"] is True
    # Equal to the Pydantic model's strict schema, as the SDK derives it.
    assert fmt["schema"] == to_strict_json_schema(FeedbackAnswer)
    # Strict mode's rules hold everywhere: closed objects, every property required.
    objects = list(walk_objects(fmt["schema"]))
    assert len(objects) == 2
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])
    # The article's fields, plus category, level and new words.
    top = fmt["schema"]["properties"]
    assert {"corrections", "badPatterns", "suggestions", "estimatedLevel", "newWords"} <= set(top)
    correction = fmt["schema"]["$defs"]["CorrectionAnswer"]["properties"]
    assert set(correction) == {"original", "corrected", "explanation", "category"}
    assert fmt["schema"]["$defs"]["CorrectionCategory"]["enum"] == [
        "grammar",
        "vocabulary",
        "pronunciation",
        "fluency",
    ]
    assert fmt["schema"]["$defs"]["CefrLevel"]["enum"] == ["A1", "A2", "B1", "B2", "C1", "C2"]
    # The transcript goes in as the user's message; the answer comes back validated.
    user = body["input"][-1]["content"]
    assert "Learner: Yesterday I go to the market and buy two apple." in user
    assert "Tutor: Question number 0?" in user
    assert isinstance(answer, FeedbackAnswer) and answer.corrections
    assert answer.corrections[0].corrected == "Yesterday I went to the market and bought two apples."


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text("not json at all"),
        Reply.text(json.dumps({"corrections": [], "badPatterns": [], "suggestions": []})),
        Reply.text(
            json.dumps(
                {
                    "corrections": [
                        {"original": "a", "corrected": "b", "explanation": "c", "category": "spelling"}
                    ],
                    "badPatterns": [],
                    "suggestions": [],
                    "estimatedLevel": "B1",
                    "newWords": [],
                    "summary": "",
                }
            )
        ),
        Reply.text(
            json.dumps(
                {
                    "corrections": [],
                    "badPatterns": [],
                    "suggestions": [],
                    "estimatedLevel": "B1",
                    "newWords": [],
                    "summary": "",
                    "extra": 1,
                }
            )
        ),
        Reply(body={"id": "resp_x", "object": "response", "status": "incomplete", "output": []}),
        Reply(
            body={
                "id": "resp_x",
                "object": "response",
                "status": "completed",
                "output": [
                    {
                        "type": "message",
                        "id": "m",
                        "role": "assistant",
                        "status": "completed",
                        "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                    }
                ],
            }
        ),
    ],
    ids=["not-json", "missing-fields", "bad-category", "extra-field", "incomplete", "refusal"],
)
async def test_answers_that_fail_validation_are_retryable_errors(fake: FakeOpenAI, reply: Reply) -> None:
    fake.script = [reply]
    with pytest.raises(AnalysisError) as raised:
        await analyse(conversation(), level="B1", topic="")
    assert raised.value.retryable


@pytest.mark.parametrize(
    ("reply", "retryable", "retry_after"),
    [
        (Reply(429, headers={"retry-after": "7"}), True, 7.0),
        (Reply(500), True, None),
        (Reply(503), True, None),
        (Reply(400), False, None),
        (Reply(401), False, None),
    ],
)
async def test_http_errors_are_classified(
    fake: FakeOpenAI, reply: Reply, retryable: bool, retry_after: float | None
) -> None:
    fake.script = [reply]
    with pytest.raises(AnalysisError) as raised:
        await analyse(conversation(), level="B1", topic="")
    assert raised.value.retryable is retryable
    assert raised.value.retry_after == retry_after
    assert len(fake.calls(RESPONSES)) == 1  # the SDK does not retry behind the job's back


async def test_a_timeout_is_retryable(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis, "REQUEST_TIMEOUT_SECONDS", 0.3)
    fake.script = [Reply(delay=2.0)]
    with pytest.raises(AnalysisError) as raised:
        await analyse(conversation(), level="B1", topic="")
    assert raised.value.retryable
    assert "in time" in raised.value.message


async def test_an_unreachable_service_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()
    with pytest.raises(AnalysisError) as raised:
        await analyse(conversation(), level="B1", topic="")
    assert raised.value.retryable


async def test_a_long_transcript_is_cut_at_a_turn_boundary(fake: FakeOpenAI) -> None:
    learner = [f"This is my sentence number {i} and I go to the park with two friend." for i in range(1500)]
    lines = conversation(learner)
    prepared = prepare_transcript(lines)
    assert prepared.cut and 0 < prepared.lines_used < prepared.lines_total
    assert len(prepared.text) <= analysis.MAX_TRANSCRIPT_CHARS + 200
    body, note = prepared.text.rsplit("\n", 1)
    assert (
        note.startswith("[The conversation was long")
        and str(prepared.lines_total - prepared.lines_used) in note
    )
    for rendered in body.split("\n"):  # whole lines only
        speaker, text = rendered.split(": ", 1)
        assert speaker in ("Learner", "Tutor")
        assert any(text == line.text for line in lines)

    await analyse(lines, level="B1", topic="")
    sent = fake.calls(RESPONSES)[0].body["input"][-1]["content"]
    assert len(sent) < analysis.MAX_TRANSCRIPT_CHARS + 500
    assert "[The conversation was long" in sent


def test_long_tutor_lines_are_shortened_first() -> None:
    lines = [Line("tutor", "word " * 500), Line("learner", "I go to the park yesterday with my friend.")]
    prepared = prepare_transcript(lines)
    tutor = prepared.text.split("\n")[0]
    assert len(tutor) <= analysis.MAX_TUTOR_LINE_CHARS + 10 and tutor.endswith("…")
    assert not prepared.cut


def test_tidy_drops_empty_duplicate_and_unchanged_corrections() -> None:
    raw = FeedbackAnswer.model_validate(
        {
            "corrections": [
                {
                    "original": " I go  there ",
                    "corrected": "I went there",
                    "explanation": " Past. ",
                    "category": "grammar",
                },
                {
                    "original": "I go there",
                    "corrected": "I went there.",
                    "explanation": "dup",
                    "category": "grammar",
                },
                {
                    "original": "It's fine.",
                    "corrected": "it's fine",
                    "explanation": "no-op",
                    "category": "grammar",
                },
                {"original": "", "corrected": "x", "explanation": "", "category": "fluency"},
            ],
            "badPatterns": ["Past simple", "past simple", " "],
            "suggestions": ["Practise."],
            "estimatedLevel": "B1",
            "newWords": ["however"] * 3,
            "summary": "  Good.  ",
        }
    )
    clean = tidy(raw)
    assert [(c.original, c.corrected, c.explanation) for c in clean.corrections] == [
        ("I go there", "I went there", "Past.")
    ]
    assert clean.bad_patterns == ["Past simple"]
    assert clean.new_words == ["however"]
    assert clean.summary == "Good."


def test_fluency_figures_are_computed_from_timings() -> None:
    lines = [
        Line("tutor", "Hello there, how are you?", 0, 2000),
        Line("learner", "I am fine, thank you very much.", 2500, 5500),  # 7 words in 3 s
        Line("learner", "And you?", 5600, 6600),  # same turn, 2 words in 1 s
        Line("tutor", "Great.", 7000, 8000),
        Line("learner", "Good.", 8500, 9000),
    ]
    figures = fluency_figures(lines)
    assert figures.learner_words == 10
    assert figures.turns == 2
    assert figures.words_per_minute == round(10 / (4500 / 60000), 1)
    assert figures.talk_share == round(4500 / (4500 + 3000), 3)


def test_fluency_without_timings_uses_word_share() -> None:
    figures = fluency_figures([Line("tutor", "one two three"), Line("learner", "one")])
    assert figures.words_per_minute is None
    assert figures.talk_share == 0.25
    assert count_words("I don't know, it's 5 o'clock") == 6


def test_mistakes_are_found_in_the_learners_words() -> None:
    text = "Yesterday, I go to the park. He don’t like apples!"
    span = find_span("he don't like apples", text)
    assert span is not None and text[span.start : span.end] == "He don’t like apples"
    assert find_span("o to", text) is None  # whole words only
    lines = [Line("tutor", "I go to the park."), Line("learner", text, item_id="x")]
    found = locate("I go to the park", lines)
    assert found is not None and found[0].item_id == "x"
    pieces = segments(text, [(Span(11, 15), "went"), (Span(13, 18), "overlap")])
    assert [(p.text, p.marked) for p in pieces] == [
        ("Yesterday, ", False),
        ("I go", True),
        (" to the park. He don’t like apples!", False),
    ]
