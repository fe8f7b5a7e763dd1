"""The Realtime session configuration for one call, checked against the SDK's types.

The same dict goes to `realtime.calls.create(session=…)` (relay) and to
`realtime.client_secrets.create(session=…)` (ephemeral), so both modes behave alike.

Who decides what (README, "Barge-in"): the provider's server VAD only finds the ends of
the learner's turns. It never cuts the tutor (`interrupt_response: false`) and never
answers on its own (`create_response: false`): the page runs a speech model on the
microphone, cuts the tutor only for speech it has confirmed, and sends `response.create`
after a turn that held real speech. So a cough, a keyboard or a fan neither stops the
tutor nor gets an answer, and the browser and the provider can never disagree.
"""

from __future__ import annotations

import copy
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

from openai.types.realtime import RealtimeSessionCreateRequestParam
from pydantic import TypeAdapter

from fluentio.languages import get_language
from fluentio.settings import Settings

# The tutor answers after half a second of silence; 300 ms of audio before the detected
# start of speech are kept so the first syllable is transcribed.
SILENCE_DURATION_MS = 500
PREFIX_PADDING_MS = 300


class AudioSetup(StrEnum):
    """How the learner hears the tutor; it picks the provider's noise reduction."""

    # Laptop or phone speakers: the microphone is an arm's length away and also hears
    # the room and the tutor's own voice.
    SPEAKERS = "speakers"
    # A headset or earbuds: the microphone is close to the mouth.
    HEADPHONES = "headphones"

    @classmethod
    def parse(cls, value: str | None) -> AudioSetup:
        """The setup named by `value`; speakers (the common case) when unknown."""
        try:
            return cls(str(value or "").strip().lower())
        except ValueError:
            return cls.SPEAKERS


NOISE_REDUCTION = {AudioSetup.SPEAKERS: "far_field", AudioSetup.HEADPHONES: "near_field"}


class InvalidSessionConfigError(ValueError):
    """The session config does not match the SDK's RealtimeSessionCreateRequestParam."""


@cache
def _adapter() -> TypeAdapter[RealtimeSessionCreateRequestParam]:
    return TypeAdapter(RealtimeSessionCreateRequestParam)


# Built when the app is imported: building it holds the interpreter for tens of ms on a
# busy machine, which the first start of a class pressing Start together paid for.
_adapter()


def build_session_config(
    *,
    settings: Settings,
    instructions: str,
    audio_setup: AudioSetup = AudioSetup.SPEAKERS,
    language: str = "en",
) -> RealtimeSessionCreateRequestParam:
    """The `session` for a new call: model, instructions, transcription, VAD and voice.

    `language` is the one practised (fluentio/languages.py): the learner's speech is
    transcribed as that language. Everything but the instructions comes from the settings,
    the audio setup and the language, so that part is checked against the SDK's types once
    (`_checked_config`), not on every start; the instructions are a string, which is all
    the field takes.
    """
    if not isinstance(instructions, str):
        raise InvalidSessionConfigError("invalid Realtime session config: instructions must be text")
    checked = _checked_config(
        settings.realtime_model, settings.transcribe_model, settings.realtime_voice, audio_setup, language
    )
    config = copy.deepcopy(checked)
    config["instructions"] = instructions
    return config


@lru_cache(maxsize=64)
def _checked_config(
    model: str, transcribe_model: str, voice: str, audio_setup: AudioSetup, language: str
) -> RealtimeSessionCreateRequestParam:
    config: dict[str, Any] = {
        "type": "realtime",
        "model": model,
        "instructions": "",
        "output_modalities": ["audio"],
        # Token log-probabilities of the learner's transcripts: fluentio/vocabulary/ turns
        # them into per-word confidence ("unclear — try this word again").
        "include": ["item.input_audio_transcription.logprobs"],
        "audio": {
            "input": {
                "transcription": {
                    "model": transcribe_model,
                    "language": get_language(language).transcription,
                },
                "turn_detection": {
                    "type": "server_vad",
                    "create_response": False,
                    "interrupt_response": False,
                    "silence_duration_ms": SILENCE_DURATION_MS,
                    "prefix_padding_ms": PREFIX_PADDING_MS,
                },
                "noise_reduction": {"type": NOISE_REDUCTION[audio_setup]},
            },
            "output": {"voice": voice},
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
