"""/classroom: the live lesson. Pick a level and topic, press Start, talk.

Once Start is pressed the call stage takes the whole screen (see
fluentio/components/call_view.css): the tutor's state, the captions, the time left, Mute
and End, with the screen kept awake.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from fluentio.auth.state import AuthState
from fluentio.classroom.controls import classroom_call, mic_check_panel
from fluentio.classroom.scenarios import SCENARIOS
from fluentio.classroom.state import ClassroomState
from fluentio.classroom.view_state import OFFLINE_START, CallViewState
from fluentio.components.call_view import call_view_styles, voice_orb, wake_lock
from fluentio.components.connection import connection_notice, online_guard
from fluentio.components.forms import SELECT_STYLE
from fluentio.components.goal_progress import goal_progress
from fluentio.components.guards import signed_in_only
from fluentio.components.layout import app_shell, free_credits, page
from fluentio.components.placement import placement_offer
from fluentio.components.theme import ACCENT
from fluentio.components.unclear_words import unclear_mark
from fluentio.levels import LEVELS, label


def labelled(label: str, control_id: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=control_id, font_weight="500", font_size="0.95rem"),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color="var(--gray-11)")),
        spacing="1",
        width="100%",
    )


def picker(
    label: str, control_id: str, options: list[tuple[str, str]], value: rx.Var, on_change: rx.EventHandler
) -> rx.Component:
    """A native <select> (accessible and phone-friendly), locked during a call."""
    return labelled(
        label,
        control_id,
        rx.el.select(
            *[rx.el.option(text, value=option) for option, text in options],
            id=control_id,
            value=value,
            on_change=on_change,
            disabled=ClassroomState.in_call,
            style=SELECT_STYLE,
        ),
    )


def setup_card() -> rx.Component:
    return rx.card(
        rx.grid(
            picker(
                "Your level",
                "lesson-level",
                [(level, label(level)) for level in LEVELS],
                ClassroomState.level,
                ClassroomState.set_level,
            ),
            picker(
                "Topic or role-play",
                "lesson-topic",
                [(s.id, s.title) for s in SCENARIOS],
                ClassroomState.topic,
                ClassroomState.set_topic,
            ),
            labelled(
                "Words to practise (optional)",
                "lesson-vocabulary",
                rx.input(
                    id="lesson-vocabulary",
                    value=ClassroomState.vocabulary,
                    on_change=ClassroomState.set_vocabulary,
                    placeholder="e.g. deadline, negotiate, commute",
                    disabled=ClassroomState.in_call,
                    size="3",
                    width="100%",
                ),
                hint="Separate words with commas; the tutor will use them and nudge you to.",
            ),
            columns=rx.breakpoints(initial="1", md="3"),
            spacing="4",
            width="100%",
        ),
        rx.text(
            "You practise ",
            rx.text.strong(ClassroomState.language_name),
            "; feedback explains in ",
            rx.text.strong(ClassroomState.explanation_name),
            ". ",
            rx.link("Change languages", href="/account", underline="always"),
            size="2",
            color="var(--gray-11)",
            margin_top="0.75rem",
            id="lesson-languages",
        ),
        width="100%",
    )


def status_badge() -> rx.Component:
    return rx.badge(
        ClassroomState.status_label,
        color_scheme=rx.match(
            ClassroomState.status,
            ("live", "green"),
            ("connecting", "amber"),
            ("reconnecting", "amber"),
            ("ending", "amber"),
            ("ended", "gray"),
            ACCENT,
        ),
        size="3",
        high_contrast=True,
        role="status",
        aria_live="polite",
        data_testid="call-status",
    )


def indicator(label: str, on: rx.Var[bool], testid: str) -> rx.Component:
    return rx.hstack(
        rx.box(
            width="0.75rem",
            height="0.75rem",
            border_radius="999px",
            background=rx.cond(on, "var(--green-9)", "var(--gray-a6)"),
            class_name=rx.cond(on, "fluentio-pulse", ""),
        ),
        rx.text(label, size="2", color=rx.cond(on, "var(--gray-12)", "var(--gray-11)")),
        spacing="2",
        align="center",
        data_testid=testid,
        data_on=rx.cond(on, "true", "false"),
    )


def tutor_state_text() -> rx.Var[str]:
    """One line for what the tutor is doing, beside the orb."""
    return rx.cond(
        ClassroomState.tutor_speaking,
        "Tutor is speaking",
        rx.cond(
            ClassroomState.listening,
            "Tutor is listening to you",
            rx.match(
                ClassroomState.status,
                ("connecting", "Connecting to your tutor…"),
                ("live", "Your turn: just talk"),
                ("reconnecting", "Reconnecting…"),
                ("ending", "Ending the lesson…"),
                "Your tutor is ready",
            ),
        ),
    )


def top_bar() -> rx.Component:
    """Status and time left, then anything the learner must know now."""
    return rx.el.div(
        rx.el.div(
            status_badge(),
            rx.cond(
                ClassroomState.in_call & (ClassroomState.minutes_left != ""),
                rx.el.span(ClassroomState.minutes_left, class_name="call-time", data_testid="minutes-left"),
                rx.el.span("Balance: ", ClassroomState.balance_text, class_name="call-time"),
            ),
            rx.cond(
                ClassroomState.simulated & ClassroomState.in_call,
                rx.badge("Practice simulator", color_scheme="amber", variant="soft"),
            ),
            class_name="call-status-row",
        ),
        rx.cond(
            ClassroomState.low_balance & ClassroomState.in_call,
            rx.callout(
                "About one minute of credit left. The lesson ends when your credits run out.",
                icon="clock",
                color_scheme="amber",
                high_contrast=True,
                role="alert",
                size="1",
                data_testid="low-balance",
            ),
        ),
        rx.cond(
            ClassroomState.in_call & (ClassroomState.notice != ""),
            rx.callout(ClassroomState.notice, icon="info", color_scheme=ACCENT, role="status", size="1"),
        ),
        class_name="call-top",
    )


def tutor_panel() -> rx.Component:
    return rx.el.div(
        voice_orb(
            speaking=ClassroomState.tutor_speaking,
            listening=ClassroomState.listening,
            active=ClassroomState.in_call,
        ),
        rx.el.div(
            rx.el.p(tutor_state_text(), class_name="call-tutor-state", data_testid="tutor-state"),
            rx.el.div(
                indicator("Tutor's voice", ClassroomState.tutor_speaking, "tutor-speaking"),
                indicator("Tutor hears you", ClassroomState.listening, "listening"),
                class_name="call-indicators",
            ),
            class_name="call-tutor-text",
        ),
        class_name="call-tutor",
    )


def caption(item: rx.Var[dict]) -> rx.Component:
    is_tutor = item["speaker"] == "tutor"
    return rx.box(
        rx.text(rx.cond(is_tutor, "Tutor", "You"), size="1", weight="bold", color="var(--gray-11)"),
        rx.text(
            rx.foreach(
                item["parts"].to(list[dict[str, Any]]),
                lambda part: rx.cond(
                    part["unclear"], unclear_mark(part["text"], part["label"]), part["text"]
                ),
            ),
            size="3",
        ),
        data_speaker=item["speaker"],
        class_name="caption",
    )


def captions_panel() -> rx.Component:
    return rx.el.div(
        rx.heading("Live captions", as_="h2", size="3", class_name="rt-r-size-3"),
        rx.el.div(
            rx.el.div(
                rx.cond(
                    ClassroomState.captions.length() == 0,
                    rx.text(
                        "Captions of both sides appear here once you start talking.",
                        color="var(--gray-11)",
                        size="2",
                    ),
                ),
                rx.foreach(ClassroomState.captions, caption),
                class_name="call-captions-list",
            ),
            class_name="call-captions-log",
            aria_live="polite",
            role="log",
            aria_label="Live captions",
            data_testid="captions",
            tab_index=0,
        ),
        class_name="call-captions",
    )


def start_or_end_button() -> rx.Component:
    return rx.cond(
        ClassroomState.in_call,
        rx.button(
            rx.icon("phone-off", size=22),
            "End session",
            on_click=ClassroomState.end,
            color_scheme="red",
            size="4",
            # Start is gone once the call is on: keyboard and screen-reader users land here.
            auto_focus=True,
        ),
        online_guard(
            rx.button(
                rx.icon("mic", size=22),
                "Start session",
                on_click=CallViewState.press_start(rx.State.router.session.session_id),
                # realtime_call.jsx opens the microphone in this click itself (start faster).
                custom_attrs={"data-call-start": "true"},
                color_scheme=ACCENT,
                size="4",
            ),
            OFFLINE_START,
        ),
    )


def call_controls() -> rx.Component:
    return rx.el.div(
        connection_notice(rx.cond(ClassroomState.in_call, "call", "page")),
        rx.el.div(
            rx.text("Your microphone", size="2", color="var(--gray-11)"),
            classroom_call(),
            class_name="call-mic",
        ),
        rx.el.div(
            rx.el.div(
                rx.button(
                    rx.icon(rx.cond(ClassroomState.muted, "mic-off", "mic"), size=22),
                    rx.cond(ClassroomState.muted, "Unmute", "Mute"),
                    on_click=ClassroomState.toggle_mute,
                    variant=rx.cond(ClassroomState.muted, "solid", "outline"),
                    color_scheme=rx.cond(ClassroomState.muted, "amber", ACCENT),
                    size="4",
                    disabled=~ClassroomState.in_call,
                    aria_pressed=rx.cond(ClassroomState.muted, "true", "false"),
                ),
                class_name="call-mute",
            ),
            rx.el.div(start_or_end_button()),
            class_name="call-buttons",
        ),
        rx.cond(
            CallViewState.start_refused != "",
            rx.text(CallViewState.start_refused, color="var(--red-11)", weight="medium", role="alert"),
        ),
        class_name="call-controls",
    )


def call_stage() -> rx.Component:
    """The conversation. Docked on the page before and after a lesson, the whole screen
    during one (call_view.css). It is never unmounted: that would hang up the call."""
    return rx.el.section(
        top_bar(),
        tutor_panel(),
        captions_panel(),
        call_controls(),
        wake_lock(active=ClassroomState.in_call),
        class_name="call-stage",
        data_mode=rx.cond(ClassroomState.in_call, "full", "docked"),
        aria_label="Your lesson",
        data_testid="call-stage",
    )


def simulator_banner() -> rx.Component:
    return rx.cond(
        ClassroomState.simulated,
        rx.callout(
            "Practice simulator: no OpenAI key is set, so a local stand-in plays the tutor. "
            "Its replies are scripted and your words are not really transcribed.",
            icon="flask-conical",
            color_scheme="amber",
            high_contrast=True,
            width="100%",
            data_testid="simulator-banner",
        ),
    )


def welcome() -> rx.Component:
    return rx.cond(
        CallViewState.welcome,
        rx.callout(
            f"Welcome to Fluentio! Your email is confirmed and your {free_credits()} free credits "
            f"are ready: about {free_credits()} minutes of talking. Check your microphone below, "
            "pick your level and a topic, press Start session and say hello. To practise "
            "Spanish, French, German, Italian or Portuguese instead of English, choose it under Account.",
            icon="party-popper",
            color_scheme="green",
            width="100%",
            data_testid="welcome",
        ),
    )


def outcome() -> rx.Component:
    """What happened to the last lesson (shown on the page, under the docked stage's top)."""
    return rx.vstack(
        rx.cond(
            ClassroomState.error != "",
            rx.callout(
                rx.vstack(
                    rx.text(ClassroomState.error),
                    rx.cond(
                        ClassroomState.error_code == "no_credits",
                        rx.link("See credit packs", href="/pricing", weight="bold"),
                    ),
                    rx.cond(
                        ClassroomState.error_code == "not_signed_in",
                        rx.link("Log in", href="/login?next=%2Fclassroom", weight="bold"),
                    ),
                    spacing="1",
                ),
                icon="triangle-alert",
                color_scheme="red",
                role="alert",
                width="100%",
                data_testid="call-error",
            ),
        ),
        rx.cond(
            ~ClassroomState.in_call & (ClassroomState.notice != ""),
            rx.callout(
                rx.vstack(
                    rx.text(ClassroomState.notice),
                    rx.cond(
                        ClassroomState.notice_link != "",
                        rx.link("See credit packs", href=ClassroomState.notice_link, weight="bold"),
                    ),
                    spacing="1",
                ),
                icon="info",
                color_scheme=ACCENT,
                role="status",
                width="100%",
                data_testid="call-notice",
            ),
        ),
        rx.cond(
            ClassroomState.summary != "",
            rx.callout(
                rx.vstack(
                    rx.text(ClassroomState.summary, data_testid="call-summary"),
                    rx.link(
                        "Open this lesson in History",
                        href="/history/" + ClassroomState.last_session_id,
                        weight="bold",
                    ),
                    spacing="1",
                ),
                icon="circle-check",
                color_scheme="green",
                width="100%",
            ),
        ),
        spacing="3",
        width="100%",
    )


@page(
    route="/classroom",
    title="Classroom · Fluentio",
    description="Talk with your tutor.",
    public=False,
    on_load=[AuthState.require_learner, ClassroomState.load, CallViewState.load],
)
def classroom() -> rx.Component:
    return app_shell(
        signed_in_only(
            rx.vstack(
                call_view_styles(),
                rx.heading("Classroom", as_="h1", size="8"),
                rx.text(
                    "Choose a level and a topic, press Start session and just talk. "
                    "Interrupt the tutor whenever you like.",
                    color="var(--gray-11)",
                ),
                welcome(),
                simulator_banner(),
                setup_card(),
                outcome(),
                call_stage(),
                # Below the call, so Start stays in view; phones keep Start in a bottom bar.
                placement_offer(),
                mic_check_panel(),
                goal_progress(refresh_on=ClassroomState.summary),
                spacing="4",
                padding_y="2rem",
                width="100%",
            )
        )
    )
