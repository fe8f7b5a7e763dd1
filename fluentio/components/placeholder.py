"""A placeholder body for signed-in pages that are not built yet: greeting and balance."""

from __future__ import annotations

import reflex as rx

from fluentio.auth.state import AuthState, signed_in_user
from fluentio.billing import ledger
from fluentio.components.theme import ACCENT
from fluentio.db import session_scope


class BalanceState(rx.State):
    balance: str = ""

    @rx.event
    def load(self) -> None:
        user = signed_in_user(self)
        if user is None:
            self.balance = ""
            return
        with session_scope() as session:
            self.balance = ledger.format_credits(ledger.balance(session=session, user_id=user.id))


def area(title: str, body: str) -> rx.Component:
    return rx.vstack(
        rx.heading(title, as_="h1", size="8"),
        rx.text("Hi ", AuthState.user_name, "! You have ", rx.text.strong(BalanceState.balance), "."),
        rx.text(body, color="var(--gray-11)"),
        rx.link(rx.button("Your account", color_scheme=ACCENT, variant="outline"), href="/account"),
        spacing="4",
        padding_y="3rem",
        align="start",
    )
