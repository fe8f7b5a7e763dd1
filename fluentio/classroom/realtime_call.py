"""Python wrapper of realtime_call.jsx: the browser's WebRTC half of a live lesson.

The component does only what a browser must (microphone, peer connection, audio,
data channel) and reports through event props; every decision is made in Python
state (fluentio/classroom/state.py).
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import passthrough_event_spec


def _transcript_spec(items: rx.Var[list[dict[str, Any]]]) -> tuple[rx.Var[list[dict[str, Any]]]]:
    return (items,)


class RealtimeCall(rx.Component):
    """A live call. Set `command` ("start", "stop" or "check" for the microphone check)
    and bump `command_id` to act."""

    library = rx.asset("realtime_call.jsx", shared=True).importable_path
    tag = "RealtimeCall"

    command: rx.Var[str]
    command_id: rx.Var[int]
    # "relay": the offer goes to our /api/realtime/calls (`offer_url`, with the login
    # cookie). "ephemeral": it goes to `calls_url` with the short-lived `client_secret`.
    signaling: rx.Var[str]
    offer_url: rx.Var[str]
    calls_url: rx.Var[str]
    client_secret: rx.Var[str]
    session_id: rx.Var[str]
    muted: rx.Var[bool]
    # Where the speech model's files are served (our own origin; see scripts/ensure-vad.sh).
    vad_url: rx.Var[str]
    # Speech over the tutor shorter than a backchannel: "continue" (the tutor goes on) or
    # "stop" (any confirmed word cuts the tutor).
    backchannel: rx.Var[str]
    # Push-to-talk: the microphone sends only while the learner holds the button or Space.
    push_to_talk: rx.Var[bool]
    # Whether a call is up (enables the push-to-talk button).
    in_call: rx.Var[bool]

    # status ("connecting", "live", "reconnecting", "ended"), detail
    on_status: rx.EventHandler[passthrough_event_spec(str, str)]
    # provider call id, our practice session id
    on_call_started: rx.EventHandler[passthrough_event_spec(str, str)]
    # [{id, speaker, text, final}], the captions that changed since the last report
    on_transcript: rx.EventHandler[_transcript_spec]
    # error code, detail
    on_error: rx.EventHandler[passthrough_event_spec(str, str)]
    # whether the tutor's audio is playing
    on_speaking: rx.EventHandler[passthrough_event_spec(bool)]
    # whether the server hears the learner speaking
    on_listening: rx.EventHandler[passthrough_event_spec(bool)]
    # the microphone check's loudest level and room level (dBFS), and speech heard (ms)
    on_mic_check: rx.EventHandler[passthrough_event_spec(int, int, int)]


realtime_call = RealtimeCall.create
