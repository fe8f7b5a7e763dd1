"""The signed-in area's other pages, guarded on the server: /classroom, /history, /admin.

The live classroom, history and admin tools are built by their own issues; until then
each page greets the user with their balance so the guards and navigation are real.
"""

from __future__ import annotations

import reflex as rx

from fluentio.auth.state import AuthState, signed_in_user
from fluentio.billing import ledger
from fluentio.components.guards import admins_only, signed_in_only
from fluentio.components.layout import page, shell
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


@page(
    route="/classroom",
    title="Classroom · Fluentio",
    description="Talk with your tutor.",
    public=False,
    on_load=[AuthState.require_learner, BalanceState.load],
)
def classroom() -> rx.Component:
    return shell(signed_in_only(area("Classroom", "The live voice classroom opens here.")))


@page(
    route="/history",
    title="Your history · Fluentio",
    description="Your practice history.",
    public=False,
    on_load=[AuthState.require_learner, BalanceState.load],
)
def history() -> rx.Component:
    return shell(signed_in_only(area("Your history", "Your sessions and feedback will be listed here.")))


@page(
    route="/admin",
    title="Admin · Fluentio",
    description="Administration.",
    public=False,
    on_load=[AuthState.require_admin, BalanceState.load],
)
def admin() -> rx.Component:
    return shell(admins_only(area("Admin", "Administration tools for credits, users and payments.")))
