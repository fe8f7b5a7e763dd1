"""The landing page: what Fluentio is and why a live, interruptible tutor helps."""

import reflex as rx

from fluentio.components.auth_switch import auth_switch
from fluentio.components.calls_to_action import closing_cta
from fluentio.components.layout import ACCENT, free_credits, page, section, shell

TITLE = "Fluentio — speak English with a live AI tutor you can interrupt"
DESCRIPTION = (
    "Practise spoken English in real conversations with an AI voice tutor that answers in "
    "under a second and stops the moment you cut in. Corrections after every call. "
    f"{free_credits()} free minutes, then pay as you go."
)

FEATURES = [
    (
        "audio-lines",
        "A real conversation",
        "Press Start and talk. Replies arrive in under a second, like a clean phone call — no record button, no waiting for uploads.",
    ),
    (
        "hand",
        "Interrupt anytime",
        "Cut in mid-sentence, the way people really talk. The tutor stops at once and listens.",
    ),
    (
        "list-checks",
        "Feedback that sticks",
        "After each call you get your mistakes with corrected sentences, the patterns you repeat and what to try next.",
    ),
    (
        "volume-2",
        "Hear it said right",
        "Play every corrected sentence aloud and copy the rhythm and the sounds.",
    ),
    (
        "chart-line",
        "Watch yourself improve",
        "Minutes practised, mistakes per 100 words and your estimated level, week by week.",
    ),
    (
        "coins",
        "Pay as you go",
        "1 credit = 1 minute of conversation. No subscription, and credits never expire.",
    ),
]

TOPICS = [
    ("coffee", "Small talk"),
    ("briefcase", "Job interview"),
    ("utensils", "Ordering food"),
    ("plane", "Travel"),
    ("stethoscope", "Doctor's visit"),
    ("code", "Tech stand-up"),
]

STEPS = [
    (
        "1",
        "Pick a topic and your level",
        "Small talk, a job interview, ordering food, a doctor's visit, a tech stand-up — or your own. "
        "The tutor speaks to your level, from A1 to C2.",
    ),
    ("2", "Talk", "Speak naturally. Live captions show both sides as you go, and you can cut in anytime."),
    ("3", "Review", "Read your corrections, hear them spoken, and take one pattern into your next call."),
]


def feature_card(icon: str, title: str, body: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=28, color=f"var(--{ACCENT}-11)", aria_hidden="true"),
            rx.heading(title, as_="h3", size="4"),
            rx.text(body, color="var(--gray-11)", size="3"),
            spacing="2",
        ),
        size="3",
    )


def topic_chip(icon: str, label: str) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=18, color=f"var(--{ACCENT}-11)", aria_hidden="true"),
        rx.text(label, size="3", weight="medium"),
        align="center",
        spacing="2",
        padding="0.5rem 0.875rem",
        border_radius="9999px",
        background="var(--color-panel-solid)",
        border="1px solid var(--gray-a5)",
    )


def step(number: str, title: str, body: str) -> rx.Component:
    return rx.hstack(
        rx.badge(number, size="3", color_scheme=ACCENT, radius="full", variant="solid"),
        rx.vstack(
            rx.heading(title, as_="h3", size="4"),
            rx.text(body, color="var(--gray-11)"),
            spacing="1",
        ),
        align="start",
        spacing="3",
    )


def bubble(speaker: str, line: str, *, mine: bool) -> rx.Component:
    return rx.box(
        rx.text(speaker, size="1", weight="bold", color="var(--gray-11)"),
        rx.text(line, size="3", color="var(--gray-12)"),
        background=f"var(--{ACCENT}-3)" if mine else "var(--gray-3)",
        padding="0.625rem 0.875rem",
        border_radius="var(--radius-4)",
        max_width="85%",
        align_self="end" if mine else "start",
    )


def call_preview() -> rx.Component:
    """A picture of a call and its feedback, drawn in HTML so it stays sharp and readable."""
    return rx.el.figure(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.box(width="10px", height="10px", border_radius="9999px", background="var(--grass-9)"),
                    rx.text("Live call · Travel · B1", size="2", weight="medium", color="var(--gray-11)"),
                    rx.spacer(),
                    rx.text("04:12", size="2", color="var(--gray-11)"),
                    align="center",
                    width="100%",
                ),
                bubble("Tutor", "So, where did you go on your last holiday?", mine=False),
                bubble("You", "I have been to Lisbon last summer, it was—", mine=True),
                bubble("Tutor", "Oh, Lisbon! Did you try the custard tarts?", mine=False),
                rx.divider(),
                rx.text("After the call", size="2", weight="bold", color=f"var(--{ACCENT}-11)"),
                rx.box(
                    rx.text(
                        rx.el.s("I have been to Lisbon last summer."),
                        size="2",
                        color="var(--gray-11)",
                    ),
                    rx.hstack(
                        rx.text("I went to Lisbon last summer.", size="3", weight="medium"),
                        rx.spacer(),
                        rx.badge(
                            rx.icon("volume-2", size=14, aria_hidden="true"),
                            "Hear it",
                            color_scheme=ACCENT,
                            variant="soft",
                        ),
                        align="center",
                        width="100%",
                        wrap="wrap",
                    ),
                    rx.text(
                        "A finished time (last summer) takes the past simple.",
                        size="2",
                        color="var(--gray-11)",
                    ),
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            size="3",
            width="100%",
            box_shadow="var(--shadow-4)",
        ),
        rx.el.figcaption(
            "A call in progress, and one correction from its feedback.",
            font_size="var(--font-size-2)",
            color="var(--gray-11)",
            margin_top="0.75rem",
            text_align="center",
        ),
        margin="0",
        width="100%",
    )


def hero() -> rx.Component:
    credits = free_credits()
    return rx.el.section(
        rx.grid(
            rx.vstack(
                rx.badge("Live voice tutor · in your browser", color_scheme=ACCENT, size="2"),
                rx.heading(
                    "Speak English with a tutor who listens — and lets you interrupt.",
                    as_="h1",
                    size=rx.breakpoints(initial="8", md="9"),
                    line_height="1.1",
                ),
                rx.text(
                    "Fluentio is a live AI conversation partner for English learners. Talk out loud, "
                    "get answers in under a second, cut in whenever you like, and after every call "
                    "see exactly what to fix.",
                    size=rx.breakpoints(initial="4", md="5"),
                    color="var(--gray-11)",
                    max_width="40rem",
                ),
                rx.hstack(
                    auth_switch(
                        rx.link(
                            rx.button("Go to the classroom", size="4", color_scheme=ACCENT), href="/classroom"
                        ),
                        rx.link(
                            rx.button(f"Start free — {credits} minutes on us", size="4", color_scheme=ACCENT),
                            href="/signup",
                        ),
                    ),
                    rx.link(
                        rx.button("See pricing", size="4", variant="outline", color_scheme=ACCENT),
                        href="/pricing",
                    ),
                    spacing="3",
                    wrap="wrap",
                ),
                rx.text(
                    "No card needed. 1 credit = 1 minute of conversation.", size="2", color="var(--gray-11)"
                ),
                spacing="5",
                align="start",
            ),
            call_preview(),
            gap=rx.breakpoints(initial="2.5rem", md="3rem"),
            align_items="center",
            grid_template_columns=rx.breakpoints(initial="1fr", md="7fr 5fr"),
        ),
        padding_top=rx.breakpoints(initial="2.5rem", md="4.5rem"),
        padding_bottom="1rem",
    )


def topics_and_levels() -> rx.Component:
    return section(
        rx.heading("Practise the conversations you actually have", as_="h2", size="7"),
        rx.text(
            "Choose a role-play or suggest your own topic. The tutor plays the other person — "
            "the interviewer, the waiter, the doctor, your team lead — and keeps the conversation going.",
            color="var(--gray-11)",
            size="4",
            max_width="44rem",
        ),
        rx.flex(*[topic_chip(*t) for t in TOPICS], wrap="wrap", gap="3"),
        rx.text(
            "Every level from A1 to C2: beginners get short, clear sentences; advanced speakers get "
            "idioms, nuance and a faster pace.",
            color="var(--gray-11)",
            size="3",
        ),
    )


def phone_and_privacy() -> rx.Component:
    def point(icon: str, title: str, body: str) -> rx.Component:
        return rx.hstack(
            rx.icon(icon, size=24, color=f"var(--{ACCENT}-11)", aria_hidden="true", flex_shrink="0"),
            rx.vstack(
                rx.heading(title, as_="h3", size="4"), rx.text(body, color="var(--gray-11)"), spacing="1"
            ),
            align="start",
            spacing="3",
        )

    return section(
        rx.heading("Made for the phone in your pocket", as_="h2", size="7"),
        rx.grid(
            point(
                "smartphone",
                "Install it like an app",
                "Add Fluentio to your home screen from Safari or Chrome. It opens full screen — "
                "no app store, no download.",
            ),
            point(
                "zap",
                "Straight to the tutor",
                "Your voice goes from your phone straight to the tutor, with no stop on the way, "
                "which is why replies come back in under a second.",
            ),
            point(
                "headphones",
                "Just a microphone",
                "Any phone or laptop microphone works. Headphones help the tutor hear only you.",
            ),
            columns=rx.breakpoints(initial="1", md="3"),
            spacing="5",
            width="100%",
        ),
    )


@page(route="/", title=TITLE, description=DESCRIPTION)
def index() -> rx.Component:
    return shell(
        hero(),
        section(
            rx.heading("Why a live tutor works", as_="h2", size="7"),
            rx.grid(
                *[feature_card(*f) for f in FEATURES],
                columns=rx.breakpoints(initial="1", sm="2", md="3"),
                spacing="4",
                width="100%",
            ),
        ),
        topics_and_levels(),
        section(
            rx.heading("How it works", as_="h2", size="7"),
            *[step(*s) for s in STEPS],
        ),
        phone_and_privacy(),
        closing_cta(),
    )
