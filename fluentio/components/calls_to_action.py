"""The calls to action of the public pages, for a visitor and for a signed-in learner."""

from __future__ import annotations

import reflex as rx

from fluentio.components.auth_switch import auth_switch
from fluentio.components.layout import free_minutes_cta, section
from fluentio.components.theme import ACCENT


def practise_cta() -> rx.Component:
    return section(
        rx.card(
            rx.flex(
                rx.vstack(
                    rx.heading("Ready for your next conversation?", as_="h2", size="6"),
                    rx.text(
                        "Pick a topic and talk — your tutor remembers what you're working on.",
                        color="var(--gray-11)",
                        max_width="40rem",
                    ),
                    spacing="2",
                    align="start",
                ),
                rx.link(rx.button("Go to the classroom", size="3", color_scheme=ACCENT), href="/classroom"),
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


def closing_cta() -> rx.Component:
    """The band that closes a public page: sign up free, or back to practising."""
    return auth_switch(practise_cta(), free_minutes_cta())
