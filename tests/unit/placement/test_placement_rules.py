"""The placement's analysis answer (tidied against the transcript), the acceptance rules,
the placement scenario's time cap and climbing instructions, and the simulator's answer
checked against the strict schema the SDK sends."""

from __future__ import annotations

import pytest
from openai.lib._parsing._responses import type_to_text_format_param

from fluentio.classroom import calls
from fluentio.classroom.instructions import PLACEMENT_STEPS, build_placement_instructions
from fluentio.classroom.meter import MeterLimits, max_call_minutes
from fluentio.classroom.reasons import EndReason
from fluentio.classroom.scenarios import PLACEMENT_SCENARIO_ID, SCENARIOS, get_scenario
from fluentio.feedback.analysis import AnalysisError, prepare_transcript
from fluentio.feedback.fluency import Line
from fluentio.levels import LEVELS, CefrLevel
from fluentio.models import PracticeSession
from fluentio.placement.analysis import MAX_EVIDENCE, EvidenceAnswer, PlacementAnswer, build_input, tidy
from fluentio.placement.service import Choice, can_decide, level_after
from fluentio.settings import Settings
from fluentio.simulator.placement import placement_answer
from fluentio.simulator.responses import answer_request, check_strict, validate
from fluentio.simulator.script import LEARNER_LINES

LINES = [
    Line("tutor", "What is your name?", None, None, "t1"),
    Line("learner", "My name is Ana and I live in Porto.", None, None, "l1"),
    Line("tutor", "What did you do last weekend?", None, None, "t2"),
    Line("learner", "Last weekend I go to the beach with my sister.", None, None, "l2"),
]


def answer(
    *evidence: tuple[str, str], level: CefrLevel = CefrLevel.A2, summary: str = "Nice."
) -> PlacementAnswer:
    return PlacementAnswer(
        level=level, evidence=[EvidenceAnswer(quote=q, why=w) for q, w in evidence], summary=summary
    )


def test_evidence_is_kept_only_when_the_learner_said_it() -> None:
    tidied = tidy(
        answer(
            ("last weekend I go to the beach", "Past events in the present tense (A2)."),
            ("What did you do last weekend?", "The tutor's words are not evidence."),
            ("I have travelled widely across Asia", "Words nobody said."),
            ("Last weekend I go to the beach", "A duplicate of the first quote."),
            ("My  name is Ana", "  Simple personal facts   (A1). "),
        ),
        LINES,
    )
    assert [(e.quote, e.why) for e in tidied.evidence] == [
        ("last weekend I go to the beach", "Past events in the present tense (A2)."),
        ("My name is Ana", "Simple personal facts (A1)."),
    ]
    assert tidied.level is CefrLevel.A2


def test_an_answer_without_real_evidence_is_tried_again() -> None:
    with pytest.raises(AnalysisError) as raised:
        tidy(answer(("I am fluent in five languages", "Invented.")), LINES)
    assert raised.value.retryable


def test_evidence_is_capped_and_an_empty_summary_gets_one() -> None:
    many = [("My name is Ana", f"Reason {n}") for n in range(3)] + [
        (word, "A word she said.") for word in ("Ana", "Porto", "beach", "sister", "weekend", "live")
    ]
    tidied = tidy(answer(*many, summary="  "), LINES)
    assert len(tidied.evidence) == MAX_EVIDENCE
    assert tidied.summary == "You speak at about A2 (Elementary)."


def test_the_level_changes_only_when_the_learner_accepts() -> None:
    assert level_after("A2", "B1", Choice.ACCEPT) == "B1"
    assert level_after("A2", "B1", Choice.KEEP) == "A2"
    assert can_decide(None)
    assert not can_decide("accepted") and not can_decide("kept")


def test_the_placement_call_is_capped_at_five_minutes_and_not_in_the_picker() -> None:
    settings = Settings(_env_file=None)
    assert PLACEMENT_SCENARIO_ID not in {s.id for s in SCENARIOS}
    assert get_scenario(PLACEMENT_SCENARIO_ID) is not None
    assert MeterLimits.for_scenario(settings, PLACEMENT_SCENARIO_ID).max_seconds == 300
    assert MeterLimits.for_scenario(settings, "small_talk").max_seconds == settings.max_session_minutes * 60
    # A lesson limit below five minutes still wins.
    short = Settings(_env_file=None, FLUENTIO_MAX_SESSION_MINUTES=3)
    assert max_call_minutes(short, PLACEMENT_SCENARIO_ID) == 3


def test_the_placement_instructions_climb_from_a1_to_c1() -> None:
    text = build_placement_instructions()
    positions = [text.index(f"{level} (") for level, _topic in PLACEMENT_STEPS]
    assert [level for level, _ in PLACEMENT_STEPS] == ["A1", "A2", "B1", "B2", "C1"]
    assert positions == sorted(positions)
    assert "five minutes" in text and "Do not correct" in text


def test_the_simulators_placement_answer_fits_the_strict_schema() -> None:
    fmt = type_to_text_format_param(PlacementAnswer)
    schema = fmt["schema"]  # type: ignore[typeddict-item]
    check_strict(schema)
    transcript = "\n".join(f"Tutor: Tell me more.\nLearner: {line}" for line in LEARNER_LINES[:6])
    simulated = placement_answer(transcript)
    validate(simulated, schema)
    assert simulated["level"] in LEVELS
    assert 2 <= len(simulated["evidence"]) <= 3
    # Every quote is one of the learner's sentences, so tidy keeps them all.
    lines = [Line("learner", line, None, None, str(n)) for n, line in enumerate(LEARNER_LINES[:6])]
    parsed = tidy(PlacementAnswer.model_validate(simulated), lines)
    assert len(parsed.evidence) == len(simulated["evidence"])


def test_the_simulator_answers_a_placement_request_and_still_a_feedback_one() -> None:
    body = {
        "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": f"Transcript:\nLearner: {LEARNER_LINES[0]}"}],
        "text": {"format": type_to_text_format_param(PlacementAnswer)},
    }
    status, payload = answer_request(body)
    assert status == 200
    text = payload["output"][0]["content"][0]["text"]
    assert '"evidence"' in text and '"corrections"' not in text


def test_a_placement_call_that_hits_its_cap_says_so() -> None:
    def ended(topic: str) -> str:
        row = PracticeSession(
            user_id=PracticeSession.model_fields["id"].default_factory(),  # type: ignore[misc]
            status="ended",
            topic=topic,
            level="A2",
            end_reason=EndReason.TIME_LIMIT.value,
            billable_seconds=300,
            charged_millicredits=5_000,
        )
        return calls.ended_message(row, Settings.model_validate({"FLUENTIO_MAX_SESSION_MINUTES": 20}))

    assert ended("placement").startswith(
        "The placement call lasts 5 minutes, so it ended. Your level will appear in History"
    )
    assert ended("travel").startswith("Lessons last at most 20 minutes")


def test_a_placement_is_held_and_judged_in_the_language_practised() -> None:
    spanish = build_placement_instructions("es")
    assert "Speak only Spanish" in spanish and "Spanish examiner" in spanish
    assert "English" not in spanish

    [system, user] = build_input(
        prepare_transcript(LINES), level="A2", language="es", explanation_language="fr"
    )
    assert "only the Learner's Spanish" in system["content"]
    assert "in French, the learner's own language" in system["content"]
    assert f"two to {MAX_EVIDENCE} pieces" in system["content"]
    assert "Language practised: Spanish (es). Explanations in: French (fr)." in user["content"]
