"""The classroom's call component with all its wiring, and the learner's microphone check
and talking settings (push-to-talk, backchannels, speakers or headphones).

Kept out of fluentio/pages/classroom.py so the page only places them.
"""

from __future__ import annotations

import reflex as rx

from fluentio.classroom.realtime_call import realtime_call
from fluentio.classroom.state import ClassroomState
from fluentio.components.forms import SELECT_STYLE


def classroom_call() -> rx.Component:
    """The browser's half of the call, bound to ClassroomState."""
    return realtime_call(
        command=ClassroomState.command,
        command_id=ClassroomState.command_id,
        signaling=ClassroomState.signaling,
        offer_url=ClassroomState.offer_url,
        calls_url=ClassroomState.calls_url,
        client_secret=ClassroomState.client_secret,
        session_id=ClassroomState.session_id,
        muted=ClassroomState.muted,
        vad_url="/vad/",
        backchannel=ClassroomState.backchannel,
        push_to_talk=ClassroomState.push_to_talk,
        in_call=ClassroomState.in_call,
        on_status=ClassroomState.on_status,
        on_call_started=ClassroomState.on_call_started,
        on_transcript=ClassroomState.on_transcript,
        on_error=ClassroomState.on_error,
        on_speaking=ClassroomState.on_speaking,
        on_listening=ClassroomState.on_listening,
        on_mic_check=ClassroomState.on_mic_check,
    )


def _select(
    control_id: str, label: str, options: list[tuple[str, str]], value: rx.Var, on_change: rx.EventHandler
) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=control_id, font_weight="500", font_size="0.95rem"),
        rx.el.select(
            *[rx.el.option(text, value=option) for option, text in options],
            id=control_id,
            value=value,
            on_change=on_change,
            style=SELECT_STYLE,
        ),
        spacing="1",
        width="100%",
    )


def _verdict() -> rx.Component:
    good = ClassroomState.mic_verdict == "good"
    return rx.cond(
        ClassroomState.mic_message != "",
        rx.callout(
            rx.vstack(
                rx.text(ClassroomState.mic_message),
                rx.cond(
                    (ClassroomState.mic_verdict == "noisy") & ~ClassroomState.push_to_talk,
                    rx.button(
                        "Use push-to-talk",
                        on_click=ClassroomState.set_push_to_talk(True),
                        variant="soft",
                        size="2",
                    ),
                ),
                spacing="2",
            ),
            icon=rx.cond(good, "circle-check", "triangle-alert"),
            color_scheme=rx.cond(good, "green", "amber"),
            role="status",
            width="100%",
            data_testid="mic-check-result",
            data_verdict=ClassroomState.mic_verdict,
        ),
    )


def mic_check_panel() -> rx.Component:
    """The microphone check and the learner's talking settings."""
    return rx.card(
        rx.vstack(
            rx.heading("Microphone and talking", as_="h2", size="4"),
            rx.cond(
                ~ClassroomState.mic_checked,
                rx.text(
                    "Before your first lesson, check your microphone: press the button and say a sentence.",
                    size="2",
                    data_testid="mic-check-first",
                ),
                rx.text("Press the button and say a sentence, e.g. \u201cHello, I'm ready.\u201d", size="2"),
            ),
            rx.button(
                rx.cond(ClassroomState.checking_mic, "Listening… say a sentence", "Check microphone"),
                on_click=ClassroomState.check_mic,
                loading=ClassroomState.checking_mic,
                disabled=ClassroomState.in_call,
                variant="outline",
                size="3",
            ),
            _verdict(),
            rx.grid(
                _select(
                    "audio-setup",
                    "You hear the tutor through",
                    [("speakers", "Laptop or phone speakers"), ("headphones", "Headphones or earbuds")],
                    ClassroomState.audio_setup,
                    ClassroomState.set_audio_setup,
                ),
                _select(
                    "backchannel",
                    "A short \u201cmm-hm\u201d while the tutor talks",
                    [("continue", "The tutor goes on"), ("stop", "Stops the tutor")],
                    ClassroomState.backchannel,
                    ClassroomState.set_backchannel,
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="3",
                width="100%",
            ),
            rx.el.label(
                rx.hstack(
                    rx.switch(
                        checked=ClassroomState.push_to_talk,
                        on_change=ClassroomState.set_push_to_talk,
                        id="push-to-talk-setting",
                    ),
                    rx.text("Push-to-talk: the tutor hears you only while you hold the button or Space"),
                    spacing="2",
                    align="center",
                ),
                html_for="push-to-talk-setting",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )
