"""What a guarded page shows while the server decides, and to a user without the role."""

from __future__ import annotations

import reflex as rx

from fluentio.auth.state import AuthState
from fluentio.components.theme import ACCENT


def not_allowed() -> rx.Component:
    return rx.vstack(
        rx.heading("Not allowed", as_="h1", size="8"),
        rx.text(
            "This page is for Fluentio's administrators. Your account can't open it. "
            "If you think it should, ask an administrator to give you access.",
            size="4",
            color="var(--gray-11)",
        ),
        rx.link(rx.button("Go to your classroom", size="3", color_scheme=ACCENT), href="/classroom"),
        spacing="4",
        padding_y="4rem",
        align="start",
    )


def signed_in_only(*children: rx.Component) -> rx.Component:
    """Render `children` once the server has confirmed a session; a spinner until then."""
    return rx.cond(
        AuthState.signed_in,
        rx.fragment(*children),
        rx.center(rx.spinner(size="3"), padding_y="4rem", aria_label="Checking your session"),
    )


def admins_only(*children: rx.Component) -> rx.Component:
    return signed_in_only(rx.cond(AuthState.forbidden, not_allowed(), rx.fragment(*children)))
