"""The calls to action of the public pages, for a visitor and for a signed-in learner."""

from __future__ import annotations

import reflex as rx

from fluentio.components.auth_switch import auth_switch
from fluentio.components.layout import free_credits, section
from fluentio.components.theme import ACCENT


def _cta_band(heading: str, text: str, button: str, href: str) -> rx.Component:
    """A tinted card: a heading and a sentence, and one button (beside them on wide screens)."""
    return section(
        rx.card(
            rx.flex(
                rx.vstack(
                    rx.heading(heading, as_="h2", size="6"),
                    rx.text(text, color="var(--gray-11)", max_width="40rem"),
                    spacing="2",
                    align="start",
                ),
                rx.link(rx.button(button, size="3", color_scheme=ACCENT), href=href),
                direction=rx.breakpoints(initial="column", md="row"),
                align=rx.breakpoints(initial="start", md="center"),
                justify="between",
                gap="5",
                width="100%",
            ),
            size="4",
            width="100%",
            background=f"var(--{ACCENT}-2)",
            border=f"1px solid var(--{ACCENT}-6)",
        ),
    )


def practise_cta() -> rx.Component:
    return _cta_band(
        "Ready for your next conversation?",
        "Pick a topic and talk — your tutor remembers what you're working on.",
        "Go to the classroom",
        "/classroom",
    )


def free_minutes_cta() -> rx.Component:
    """The sign-up invitation that closes the public pages."""
    credits = free_credits()
    return _cta_band(
        f"Your first {credits} minutes are free",
        f"Sign up and get {credits} free credits — about {credits} minutes of conversation. "
        "No card needed. When they run out, buy a pack of minutes; credits never expire.",
        "Create your free account",
        "/signup",
    )


def closing_cta() -> rx.Component:
    """The band that closes a public page: sign up free, or back to practising."""
    return auth_switch(practise_cta(), free_minutes_cta())
