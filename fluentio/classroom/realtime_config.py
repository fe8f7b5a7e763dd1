"""The Realtime session configuration for one call, checked against the SDK's types.

The same dict goes to `realtime.calls.create(session=…)` (relay) and to
`realtime.client_secrets.create(session=…)` (ephemeral), so both modes behave alike.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from openai.types.realtime import RealtimeSessionCreateRequestParam
from pydantic import TypeAdapter

from fluentio.settings import Settings

# Server VAD: the learner can interrupt the tutor at any moment (interrupt_response),
# and the tutor answers after half a second of silence.
SILENCE_DURATION_MS = 500
PREFIX_PADDING_MS = 300


class InvalidSessionConfigError(ValueError):
    """The session config does not match the SDK's RealtimeSessionCreateRequestParam."""


@cache
def _adapter() -> TypeAdapter[RealtimeSessionCreateRequestParam]:
    return TypeAdapter(RealtimeSessionCreateRequestParam)


def build_session_config(*, settings: Settings, instructions: str) -> RealtimeSessionCreateRequestParam:
    """The `session` for a new call: model, instructions, transcription, VAD and voice."""
    config: dict[str, Any] = {
        "type": "realtime",
        "model": settings.realtime_model,
        "instructions": instructions,
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "transcription": {"model": settings.transcribe_model, "language": "en"},
                "turn_detection": {
                    "type": "server_vad",
                    "create_response": True,
                    "interrupt_response": True,
                    "silence_duration_ms": SILENCE_DURATION_MS,
                    "prefix_padding_ms": PREFIX_PADDING_MS,
                },
                # Browsers on laptops and phones: the microphone is close to the mouth.
                "noise_reduction": {"type": "near_field"},
            },
            "output": {"voice": settings.realtime_voice},
        },
    }
    return validate_session_config(config)


def validate_session_config(config: dict[str, Any]) -> RealtimeSessionCreateRequestParam:
    """Return `config` typed, or raise if a field is unknown or has the wrong type.

    Pydantic drops keys a TypedDict does not declare, so an unknown (misspelt) key shows
    up as a difference between the input and the validated copy.
    """
    try:
        validated = _adapter().validate_python(config)
    except ValueError as exc:
        raise InvalidSessionConfigError(f"invalid Realtime session config: {exc}") from exc
    if validated != config:
        raise InvalidSessionConfigError(
            "invalid Realtime session config: it has fields the SDK does not know "
            f"({_difference(config, dict(validated))})"
        )
    return validated


def _difference(given: dict[str, Any], kept: dict[str, Any], prefix: str = "") -> str:
    for key, value in given.items():
        if key not in kept:
            return f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(kept[key], dict):
            inner = _difference(value, kept[key], f"{prefix}{key}.")
            if inner:
                return inner
    return ""
