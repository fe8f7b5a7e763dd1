"""The classroom's pure parts: catalogue, instructions, session config, input checks,
transcript cutting and the arithmetic of billing (no database, no provider)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from fluentio.classroom import usage
from fluentio.classroom.instructions import build_instructions
from fluentio.classroom.realtime_config import (
    InvalidSessionConfigError,
    build_session_config,
    validate_session_config,
)
from fluentio.classroom.scenarios import SCENARIOS, get_scenario
from fluentio.levels import LEVELS
from fluentio.models import PracticeSession
from fluentio.models.base import utcnow
from fluentio.settings import get_settings


def test_catalogue_has_at_least_eight_complete_scenarios() -> None:
    assert len(SCENARIOS) >= 8
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    for scenario in SCENARIOS:
        assert scenario.title and scenario.description and scenario.setup and scenario.opening
        assert "\n" not in scenario.description
    for wanted in ("small_talk", "job_interview", "ordering_food", "travel", "doctor_visit", "tech_standup"):
        assert get_scenario(wanted) is not None
    assert LEVELS == ("A1", "A2", "B1", "B2", "C1", "C2")


@pytest.mark.parametrize("level", LEVELS)
def test_instructions_adapt_to_level_scenario_words_and_mistakes(level: str) -> None:
    text = build_instructions(
        level,
        "job_interview",
        ["deadline", "Deadline", "  stakeholder  "],
        ["past simple after 'yesterday'", "articles before countable nouns"],
    )
    assert f"level is {level}" in text
    assert "Job interview" in text and "hiring manager" in text
    assert '"deadline"' in text and '"stakeholder"' in text and text.count("eadline") == 1
    assert "past simple after 'yesterday'" in text and "practise these on purpose" in text
    assert "one question at a time" in text and "recasting" in text
    assert "one to three sentences" in text


def test_instructions_differ_by_level_and_fall_back_safely() -> None:
    assert build_instructions("A1", "travel") != build_instructions("C2", "travel")
    plain = build_instructions("Z9", "no_such_topic")
    assert "level is B1" in plain and "Small talk" in plain
    assert "Target vocabulary" not in plain and "Recurring mistakes" not in plain


def test_session_config_matches_the_sdk_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_REALTIME_MODEL", "gpt-realtime-mini-2025-12-15")
    monkeypatch.setenv("FLUENTIO_TRANSCRIBE_MODEL", "gpt-4o-mini-transcribe")
    monkeypatch.setenv("FLUENTIO_REALTIME_VOICE", "marin")
    get_settings.cache_clear()
    config = build_session_config(settings=get_settings(), instructions="Be kind.")
    assert config["type"] == "realtime"
    assert config["model"] == "gpt-realtime-mini-2025-12-15"
    assert config["instructions"] == "Be kind."
    audio = config["audio"]
    assert audio["input"]["transcription"]["model"] == "gpt-4o-mini-transcribe"
    assert audio["input"]["turn_detection"] == {
        "type": "server_vad",
        "create_response": False,
        "interrupt_response": False,
        "silence_duration_ms": 500,
        "prefix_padding_ms": 300,
    }
    assert audio["input"]["noise_reduction"] == {"type": "far_field"}
    assert audio["output"]["voice"] == "marin"


def test_session_config_validation_refuses_unknown_or_mistyped_fields() -> None:
    good = {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad"}}}}
    assert validate_session_config(good) == good
    with pytest.raises(InvalidSessionConfigError, match=r"audio\.input\.turn_detecton"):
        validate_session_config({"type": "realtime", "audio": {"input": {"turn_detecton": {}}}})
    with pytest.raises(InvalidSessionConfigError):
        validate_session_config(
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": "x"}}},
            }
        )


def test_billing_arithmetic(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    start = utcnow()
    assert usage.billable_seconds(None, start) == 0
    assert usage.billable_seconds(start, start + timedelta(seconds=90.4)) == 90
    assert usage.billable_seconds(start, start + timedelta(seconds=90.5)) == 91
    assert usage.usage_millicredits(90, settings) == 1500
    assert usage.usage_millicredits(1, settings) == 16
    monkeypatch.setenv("FLUENTIO_SECONDS_PER_CREDIT", "3")
    get_settings.cache_clear()
    assert usage.usage_millicredits(3, get_settings()) == 1000


def test_cost_estimate_uses_the_price_settings() -> None:
    row = PracticeSession(
        user_id=uuid.uuid4(),
        topic="small_talk",
        level="B1",
        input_text_tokens=1_000,
        input_audio_tokens=2_000,
        cached_input_tokens=500,
        output_text_tokens=300,
        output_audio_tokens=4_000,
    )
    s = get_settings()
    expected = round(
        1_000 * s.cost_text_input_per_m
        + 1_500 * s.cost_audio_input_per_m
        + 500 * s.cost_cached_input_per_m
        + 300 * s.cost_text_output_per_m
        + 4_000 * s.cost_audio_output_per_m
    )
    assert usage.cost_estimate_microusd(row, s) == expected > 0


def test_usage_sums_response_done_usage() -> None:
    summed = usage.Usage()
    summed.add(
        {
            "input_token_details": {"text_tokens": 10, "audio_tokens": 20, "cached_tokens": 5},
            "output_token_details": {"text_tokens": 3, "audio_tokens": 40},
        }
    )
    summed.add({"input_token_details": {"text_tokens": 1}, "output_token_details": None})
    summed.add(None)
    assert summed.columns() == {
        "input_text_tokens": 11,
        "input_audio_tokens": 20,
        "cached_input_tokens": 5,
        "output_text_tokens": 3,
        "output_audio_tokens": 40,
    }
