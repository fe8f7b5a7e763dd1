"""The about page: why Fluentio exists, how a call works under the hood, and who it is for."""

import reflex as rx

from fluentio.components.calls_to_action import closing_cta
from fluentio.components.layout import ACCENT, page, page_intro, section, shell

TITLE = "About Fluentio — why we built a live English tutor you can interrupt"
DESCRIPTION = (
    "Most speaking apps feel like sending voice notes to a slow robot. Fluentio is a live call "
    "with an AI English tutor: sub-second replies, interrupt anytime, feedback after every call."
)

HOW_IT_WORKS = [
    (
        "shield-check",
        "You press Start",
        "Our server checks that you have credits and hands your browser a short-lived key for one "
        "call, with the tutor's instructions for your topic and level.",
    ),
    (
        "zap",
        "Your browser calls the AI directly",
        "Audio flows over WebRTC — the technology behind video calls — straight between your "
        "browser and OpenAI's realtime voice model. No server in the middle, so replies arrive in "
        "about half a second.",
    ),
    (
        "hand",
        "You talk over each other, like people do",
        "The connection carries sound both ways at once. When you start speaking, the tutor hears "
        "it and stops talking.",
    ),
    (
        "list-checks",
        "After the call, the feedback",
        "The transcript is analysed into corrections, recurring patterns and suggestions. You can "
        "hear each corrected sentence and watch your charts change week by week.",
    ),
]

AUDIENCE = [
    (
        "briefcase",
        "Professionals",
        "Rehearse the interview, the stand-up or the client call before it happens.",
    ),
    (
        "plane",
        "Travellers and movers",
        "Order food, see a doctor, rent a flat — in English, without the stress.",
    ),
    (
        "graduation-cap",
        "Learners who can read but freeze when speaking",
        "Turn what you know into fast, spoken English with a partner who is never impatient.",
    ),
]


def how_step(icon: str, title: str, body: str) -> rx.Component:
    return rx.hstack(
        rx.box(
            rx.icon(icon, size=22, color=f"var(--{ACCENT}-11)", aria_hidden="true"),
            padding="0.625rem",
            border_radius="var(--radius-3)",
            background=f"var(--{ACCENT}-3)",
            flex_shrink="0",
            line_height="0",
        ),
        rx.vstack(rx.heading(title, as_="h3", size="4"), rx.text(body, color="var(--gray-11)"), spacing="1"),
        align="start",
        spacing="4",
    )


def audience_card(icon: str, title: str, body: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=26, color=f"var(--{ACCENT}-11)", aria_hidden="true"),
            rx.heading(title, as_="h3", size="4"),
            rx.text(body, color="var(--gray-11)"),
            spacing="2",
        ),
        size="3",
    )


def story() -> rx.Component:
    paragraph_style = {"size": "4", "color": "var(--gray-12)", "max_width": "44rem"}
    return section(
        rx.heading("Why we built it", as_="h2", size="7"),
        rx.text(
            "Fluentio started with a developer who could read English documentation all day but "
            "struggled to build a speaking habit. The speaking apps he tried all worked the same way: "
            "tap to record, speak, wait for the upload, wait for the answer, read the feedback.",
            **paragraph_style,
        ),
        rx.text(
            "It felt less like a conversation and more like sending voice notes back and forth with a "
            "slow robot. Three to five seconds of silence after every sentence is enough to break the "
            "flow that speaking practice is supposed to build.",
            **paragraph_style,
        ),
        rx.el.blockquote(
            rx.text(
                "Real conversations are fast and messy. People interrupt, change their minds and "
                "finish each other's sentences. Practice should feel the same.",
                size="5",
                weight="medium",
                color="var(--gray-12)",
            ),
            border_left=f"4px solid var(--{ACCENT}-9)",
            padding="0.25rem 0 0.25rem 1.25rem",
            margin="0.5rem 0",
            max_width="44rem",
        ),
        rx.text(
            "So Fluentio is a live call. You speak, and the tutor answers in under a second. You cut "
            "in, and it stops. When you hang up, you get the part a good teacher gives you: what to "
            "fix, what you keep repeating, and what to try next time.",
            **paragraph_style,
        ),
    )


@page(route="/about", title=TITLE, description=DESCRIPTION)
def about() -> rx.Component:
    return shell(
        page_intro(
            "About",
            "A tutor you talk with, not voice notes you send",
            "Fluentio is a live voice tutor for English learners: a real-time conversation you can "
            "interrupt anytime, followed by clear feedback on what to improve.",
        ),
        story(),
        section(
            rx.heading("How a call works", as_="h2", size="7"),
            rx.grid(
                *[how_step(*s) for s in HOW_IT_WORKS],
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="6",
                width="100%",
            ),
            rx.text(
                "Privacy follows from the design: your audio never touches our servers. We keep the "
                "text transcript and your feedback so you can review them — and you can delete them "
                "with your account.",
                color="var(--gray-11)",
                max_width="44rem",
            ),
        ),
        section(
            rx.heading("Who it's for", as_="h2", size="7"),
            rx.grid(
                *[audience_card(*a) for a in AUDIENCE],
                columns=rx.breakpoints(initial="1", md="3"),
                spacing="4",
                width="100%",
            ),
            rx.text(
                "Any level from A1 to C2, on a laptop or installed on your phone's home screen.",
                color="var(--gray-11)",
            ),
        ),
        closing_cta(),
    )
