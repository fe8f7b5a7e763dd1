"""/classroom: the live lesson. Pick a level and topic, press Start, talk."""

from __future__ import annotations

import reflex as rx

from fluentio.auth.state import AuthState
from fluentio.classroom.realtime_call import realtime_call
from fluentio.classroom.scenarios import SCENARIOS
from fluentio.classroom.state import ClassroomState
from fluentio.components.goal_progress import goal_progress
from fluentio.components.guards import signed_in_only
from fluentio.components.layout import page, shell
from fluentio.components.theme import ACCENT
from fluentio.models import EnglishLevel

LEVEL_LABELS = {
    "A1": "A1 · Beginner",
    "A2": "A2 · Elementary",
    "B1": "B1 · Intermediate",
    "B2": "B2 · Upper intermediate",
    "C1": "C1 · Advanced",
    "C2": "C2 · Proficient",
}

SELECT_STYLE = {
    "width": "100%",
    "min_height": "2.75rem",
    "padding": "0 0.75rem",
    "border_radius": "var(--radius-3)",
    "border": "1px solid var(--gray-a7)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
    "font_size": "1rem",
}


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
                [(level.value, LEVEL_LABELS[level.value]) for level in EnglishLevel],
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


def controls() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                status_badge(),
                rx.cond(
                    ClassroomState.minutes_left != "",
                    rx.text(
                        ClassroomState.minutes_left, size="3", weight="medium", data_testid="minutes-left"
                    ),
                    rx.text("Balance: ", ClassroomState.balance_text, size="3", color="var(--gray-11)"),
                ),
                justify="between",
                align="center",
                width="100%",
                wrap="wrap",
                gap="2",
            ),
            rx.flex(
                rx.cond(
                    ClassroomState.in_call,
                    rx.button(
                        "End session",
                        on_click=ClassroomState.end,
                        color_scheme="red",
                        size="4",
                        flex_grow="1",
                    ),
                    rx.button(
                        "Start session",
                        on_click=ClassroomState.start,
                        color_scheme=ACCENT,
                        size="4",
                        flex_grow="1",
                    ),
                ),
                rx.button(
                    rx.cond(ClassroomState.muted, "Unmute", "Mute"),
                    on_click=ClassroomState.toggle_mute,
                    variant="outline",
                    size="4",
                    disabled=~ClassroomState.in_call,
                    aria_pressed=rx.cond(ClassroomState.muted, "true", "false"),
                ),
                gap="3",
                width="100%",
            ),
            rx.vstack(
                rx.text("Your microphone", size="2", color="var(--gray-11)"),
                realtime_call(
                    command=ClassroomState.command,
                    command_id=ClassroomState.command_id,
                    signaling=ClassroomState.signaling,
                    offer_url=ClassroomState.offer_url,
                    calls_url=ClassroomState.calls_url,
                    client_secret=ClassroomState.client_secret,
                    session_id=ClassroomState.session_id,
                    muted=ClassroomState.muted,
                    on_status=ClassroomState.on_status,
                    on_call_started=ClassroomState.on_call_started,
                    on_transcript=ClassroomState.on_transcript,
                    on_error=ClassroomState.on_error,
                    on_speaking=ClassroomState.on_speaking,
                    on_listening=ClassroomState.on_listening,
                ),
                spacing="1",
                width="100%",
            ),
            rx.flex(
                indicator("Tutor is speaking", ClassroomState.tutor_speaking, "tutor-speaking"),
                indicator("Tutor hears you", ClassroomState.listening, "listening"),
                gap="5",
                wrap="wrap",
            ),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def caption(item: rx.Var[dict]) -> rx.Component:
    is_tutor = item["speaker"] == "tutor"
    return rx.box(
        rx.text(rx.cond(is_tutor, "Tutor", "You"), size="1", weight="bold", color="var(--gray-11)"),
        rx.text(item["text"], size="3"),
        background=rx.cond(is_tutor, "var(--gray-a3)", f"var(--{ACCENT}-a3)"),
        border_radius="var(--radius-3)",
        padding="0.5rem 0.75rem",
        max_width="85%",
        align_self=rx.cond(is_tutor, "flex-start", "flex-end"),
        data_speaker=item["speaker"],
        class_name="caption",
    )


def captions_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Live captions", as_="h2", size="4"),
            # column-reverse keeps the newest line in view without any scrolling script.
            rx.box(
                rx.flex(
                    rx.cond(
                        ClassroomState.captions.length() == 0,
                        rx.text(
                            "Captions of both sides appear here once you start talking.",
                            color="var(--gray-11)",
                            size="2",
                        ),
                    ),
                    rx.foreach(ClassroomState.captions, caption),
                    direction="column",
                    gap="2",
                ),
                display="flex",
                flex_direction="column-reverse",
                overflow_y="auto",
                height=rx.breakpoints(initial="16rem", md="22rem"),
                width="100%",
                aria_live="polite",
                role="log",
                aria_label="Live captions",
                data_testid="captions",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
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


def outcome() -> rx.Component:
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
            ClassroomState.low_balance & ClassroomState.in_call,
            rx.callout(
                "About one minute of credit left. The lesson ends when your credits run out.",
                icon="clock",
                color_scheme="amber",
                high_contrast=True,
                role="alert",
                width="100%",
                data_testid="low-balance",
            ),
        ),
        rx.cond(
            ClassroomState.notice != "",
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
    on_load=[AuthState.require_learner, ClassroomState.load],
)
def classroom() -> rx.Component:
    return shell(
        signed_in_only(
            rx.vstack(
                rx.el.style(
                    "@keyframes fluentio-pulse{0%,100%{opacity:1}50%{opacity:.35}}"
                    ".fluentio-pulse{animation:fluentio-pulse 1s ease-in-out infinite}"
                    "@media (prefers-reduced-motion: reduce){.fluentio-pulse{animation:none}}"
                ),
                rx.heading("Classroom", as_="h1", size="8"),
                rx.text(
                    "Choose a level and a topic, press Start session and just talk. "
                    "Interrupt the tutor whenever you like.",
                    color="var(--gray-11)",
                ),
                simulator_banner(),
                setup_card(),
                outcome(),
                goal_progress(refresh_on=ClassroomState.summary),
                rx.grid(
                    controls(),
                    captions_panel(),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="4",
                    width="100%",
                ),
                spacing="4",
                padding_y="2rem",
                width="100%",
            )
        )
    )
