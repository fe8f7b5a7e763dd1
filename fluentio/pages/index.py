"""The landing page: what Fluentio is and why a live, interruptible tutor helps."""

import reflex as rx

from fluentio.components.layout import ACCENT, page, section, shell

TITLE = "Fluentio — speak English with a live AI tutor you can interrupt"
DESCRIPTION = (
    "Practise spoken English in real conversations with an AI voice tutor that answers in "
    "under a second and stops the moment you cut in. Corrections after every call. "
    "30 free minutes, then pay as you go."
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
        "1 credit = 1 minute of conversation. 30 free credits when you sign up. No subscription.",
    ),
]

STEPS = [
    (
        "1",
        "Pick a topic",
        "Small talk, a job interview, ordering food, a doctor's visit, a tech stand-up — or your own.",
    ),
    ("2", "Talk", "Speak naturally at your level (A1–C2). Live captions show both sides as you go."),
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


def hero() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.badge("Live voice tutor · in your browser", color_scheme=ACCENT, size="2"),
            rx.heading(
                "Speak English with a tutor who listens — and lets you interrupt.",
                as_="h1",
                size={"initial": "8", "md": "9"},
                line_height="1.1",
            ),
            rx.text(
                "Fluentio is a live AI conversation partner for English learners. Talk out loud, "
                "get answers in under a second, cut in whenever you like, and after every call "
                "see exactly what to fix.",
                size="5",
                color="var(--gray-11)",
                max_width="42rem",
            ),
            rx.hstack(
                rx.link(
                    rx.button("Start free — 30 minutes on us", size="4", color_scheme=ACCENT),
                    href="/signup",
                ),
                rx.link(
                    rx.button("See pricing", size="4", variant="outline", color_scheme=ACCENT),
                    href="/pricing",
                ),
                spacing="3",
                wrap="wrap",
            ),
            rx.text("No card needed. 1 credit = 1 minute of conversation.", size="2", color="var(--gray-11)"),
            spacing="5",
            align="start",
        ),
        padding_top={"initial": "2.5rem", "md": "5rem"},
        padding_bottom="2rem",
    )


@page(route="/", title=TITLE, description=DESCRIPTION)
def index() -> rx.Component:
    return shell(
        hero(),
        section(
            rx.heading("Why a live tutor works", as_="h2", size="7"),
            rx.grid(
                *[feature_card(*f) for f in FEATURES],
                columns={"initial": "1", "sm": "2", "md": "3"},
                spacing="4",
                width="100%",
            ),
        ),
        section(
            rx.heading("How it works", as_="h2", size="7"),
            *[step(*s) for s in STEPS],
        ),
        section(
            rx.card(
                rx.vstack(
                    rx.heading("Your first 30 minutes are free", as_="h2", size="6"),
                    rx.text(
                        "Sign up and get 30 free credits — about thirty minutes of conversation. "
                        "When they run out, buy a pack of minutes. Credits never expire.",
                        color="var(--gray-11)",
                    ),
                    rx.link(
                        rx.button("Create your free account", size="3", color_scheme=ACCENT), href="/signup"
                    ),
                    spacing="3",
                    align="start",
                ),
                size="4",
                width="100%",
            ),
        ),
    )
