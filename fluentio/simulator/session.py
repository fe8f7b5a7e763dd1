"""Realtime session configuration as the real API shapes it, plus ids and error bodies.

A session is kept as the JSON object OpenAI returns (`RealtimeSessionCreateResponse`):
defaults filled in, then the caller's `session` (client secret, call or session.update)
merged over them the way the API does (turn detection and transcription are replaced as a
whole; omitted fields keep their value).
"""

from __future__ import annotations

import copy
import secrets
import string
import time
from typing import Any

_ALPHABET = string.ascii_letters + string.digits

DEFAULT_MODEL = "gpt-realtime-mini"
DEFAULT_INSTRUCTIONS = (
    "You are a friendly English tutor. This is Fluentio's local simulator: replies are "
    "scripted and the learner's speech is not really transcribed."
)
SERVER_VAD_DEFAULTS: dict[str, Any] = {
    "type": "server_vad",
    "threshold": 0.5,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": None,
    "create_response": True,
    "interrupt_response": True,
}
# Semantic VAD has no silence setting; its eagerness maps onto one.
_EAGERNESS_SILENCE_MS = {"low": 1500, "medium": 800, "auto": 800, "high": 400}


def new_id(prefix: str) -> str:
    """An id shaped like OpenAI's (`event_…`, `item_…`, `resp_…`, `sess_…`)."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(21))


def openai_error(
    message: str, *, type_: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The JSON body of an HTTP error, as OpenAI writes it."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class SessionConfigError(ValueError):
    """A session configuration the simulator cannot accept; the message says why."""


def default_session(model: str | None = None) -> dict[str, Any]:
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess"),
        "model": model or DEFAULT_MODEL,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": int(time.time()) + 3600,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": dict(SERVER_VAD_DEFAULTS),
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy", "speed": 1.0},
        },
        "include": None,
    }


def _turn_detection(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("server_vad", "semantic_vad"):
        raise SessionConfigError("audio.input.turn_detection.type must be 'server_vad' or 'semantic_vad'.")
    if value["type"] == "server_vad":
        return {**SERVER_VAD_DEFAULTS, **value}
    return {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    } | value


def merge_session(session: dict[str, Any], update: dict[str, Any] | None) -> dict[str, Any]:
    """Return `session` with the fields of `update` applied (the input is not changed)."""
    merged = copy.deepcopy(session)
    if not update:
        return merged
    if update.get("type", "realtime") != "realtime":
        raise SessionConfigError(
            "The local simulator supports only realtime sessions (session.type 'realtime')."
        )
    for key, value in update.items():
        if key in ("type", "object", "id", "expires_at"):
            continue
        if key == "audio":
            _merge_audio(merged["audio"], value or {})
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _merge_audio(audio: dict[str, Any], update: dict[str, Any]) -> None:
    for side in ("input", "output"):
        if side not in update or update[side] is None:
            continue
        for key, value in update[side].items():
            if side == "input" and key == "turn_detection":
                audio["input"]["turn_detection"] = _turn_detection(value)
            else:
                audio[side][key] = copy.deepcopy(value)


def silence_ms(session: dict[str, Any]) -> int:
    """How long the learner must be quiet before their turn ends."""
    detection = session["audio"]["input"]["turn_detection"] or SERVER_VAD_DEFAULTS
    if detection["type"] == "semantic_vad":
        return _EAGERNESS_SILENCE_MS.get(detection.get("eagerness") or "auto", 800)
    return int(detection.get("silence_duration_ms") or 500)


def prefix_padding_ms(session: dict[str, Any]) -> int:
    detection = session["audio"]["input"]["turn_detection"] or {}
    return int(detection.get("prefix_padding_ms") or 0)


def vad_threshold(session: dict[str, Any]) -> float:
    detection = session["audio"]["input"]["turn_detection"] or {}
    value = detection.get("threshold")
    return 0.5 if value is None else float(value)


def turn_flag(session: dict[str, Any], name: str) -> bool:
    """`create_response` / `interrupt_response` (False when turn detection is off)."""
    detection = session["audio"]["input"]["turn_detection"]
    return bool(detection and detection.get(name, True))
