"""/checkout/return: where Dodo sends the learner after paying.

It never grants anything: it shows "Payment processing" and watches the learner's own
payment until the webhook has credited it (or reports a hold, failure or cancellation).
"""

from __future__ import annotations

import asyncio
import uuid

import reflex as rx

from fluentio.auth.state import AuthState, signed_in_user
from fluentio.components.guards import signed_in_only
from fluentio.components.layout import app_shell, page
from fluentio.components.theme import ACCENT
from fluentio.db import session_scope
from fluentio.payments.checkout import CHECKOUT_MESSAGES, CheckoutProblem
from fluentio.payments.statements import ReturnStatus, checkout_status

POLL_SECONDS = 1.5
POLL_ROUNDS = 80  # about two minutes, then a calm "taking longer" message


class CheckoutReturnState(rx.State):
    phase: str = "waiting"
    credits: int = 0
    balance: str = ""
    problem: str = ""

    @rx.event(background=True)
    async def watch(self) -> None:
        async with self:
            params = self.router.url.query_parameters
            payment_id = str(params.get("payment_id", ""))[:100]
            session_id = str(params.get("session_id", ""))[:100]
            cancelled = str(params.get("status", "")).lower() in ("cancelled", "canceled", "failed")
            problem = str(params.get("problem", ""))
            user = signed_in_user(self)
            self.phase, self.credits = "waiting", 0
            if user is None:
                return
            if problem:
                # The checkout never started (see fluentio.api.checkout_routes).
                self.phase = "not_started"
                self.problem = CHECKOUT_MESSAGES.get(
                    problem, CHECKOUT_MESSAGES[CheckoutProblem.PROVIDER_DOWN]
                )
                return
            if cancelled and not payment_id:
                self.phase = "cancelled"
                return
        for _ in range(POLL_ROUNDS):
            status = _status(user.id, payment_id, session_id)
            async with self:
                self.balance = status.balance
                if status.phase != "waiting":
                    self.phase, self.credits = status.phase, status.credits
                    return
            await asyncio.sleep(POLL_SECONDS)
        async with self:
            self.phase = "slow"


def _status(user_id: uuid.UUID, payment_id: str, session_id: str) -> ReturnStatus:
    with session_scope() as session:
        return checkout_status(
            session, user_id=user_id, provider_payment_id=payment_id, checkout_session_id=session_id
        )


def actions(*buttons: tuple[str, str]) -> rx.Component:
    return rx.hstack(
        *[
            rx.link(
                rx.button(label, size="3", color_scheme=ACCENT, variant="solid" if i == 0 else "outline"),
                href=href,
            )
            for i, (label, href) in enumerate(buttons)
        ],
        spacing="3",
        wrap="wrap",
    )


def body() -> rx.Component:
    return rx.match(
        CheckoutReturnState.phase,
        (
            "credited",
            rx.vstack(
                rx.heading("Payment received — thank you!", as_="h1", size="8"),
                rx.text(
                    CheckoutReturnState.credits,
                    " credits were added. Your balance is ",
                    rx.text.strong(CheckoutReturnState.balance, id="checkout-balance"),
                    ".",
                    size="4",
                ),
                actions(("Start practising", "/classroom"), ("See your account and invoice", "/account")),
                spacing="4",
                align="start",
            ),
        ),
        (
            "held",
            rx.vstack(
                rx.heading("We received your payment", as_="h1", size="8"),
                rx.callout(
                    "It needs a quick check by our team before the credits are added (for example, the "
                    "amount didn't match the pack). Nothing is lost: we'll add your credits or refund "
                    "you, usually within a day.",
                    icon="info",
                    color_scheme="orange",
                ),
                actions(("Go to your account", "/account")),
                spacing="4",
                align="start",
            ),
        ),
        (
            "failed",
            rx.vstack(
                rx.heading("The payment didn't go through", as_="h1", size="8"),
                rx.text("Nothing was charged. You can try again with another card.", size="4"),
                actions(("Back to pricing", "/pricing")),
                spacing="4",
                align="start",
            ),
        ),
        (
            "refunded",
            rx.vstack(
                rx.heading("This payment was refunded", as_="h1", size="8"),
                rx.text(
                    "The refund is on its way to your card; the pack's credits were taken back.", size="4"
                ),
                actions(("Go to your account", "/account")),
                spacing="4",
                align="start",
            ),
        ),
        (
            "not_started",
            rx.vstack(
                rx.heading("The checkout didn't start", as_="h1", size="8"),
                rx.callout(
                    CheckoutReturnState.problem, icon="triangle-alert", color_scheme="red", role="alert"
                ),
                actions(("Back to pricing", "/pricing"), ("Go to your account", "/account")),
                spacing="4",
                align="start",
            ),
        ),
        (
            "cancelled",
            rx.vstack(
                rx.heading("Checkout cancelled", as_="h1", size="8"),
                rx.text("Nothing was charged. Your balance is unchanged.", size="4"),
                actions(("Back to pricing", "/pricing"), ("Go to your classroom", "/classroom")),
                spacing="4",
                align="start",
            ),
        ),
        (
            "slow",
            rx.vstack(
                rx.heading("Payment processing", as_="h1", size="8"),
                rx.text(
                    "This is taking longer than usual. You don't need to wait here: the credits appear on "
                    "your account page as soon as the payment provider confirms the payment. If they don't "
                    "within an hour, contact us — nothing is lost.",
                    size="4",
                ),
                actions(("Go to your account", "/account")),
                spacing="4",
                align="start",
            ),
        ),
        rx.vstack(
            rx.heading("Payment processing", as_="h1", size="8"),
            rx.hstack(
                rx.spinner(size="3"),
                rx.text(
                    "Waiting for the payment provider to confirm your payment. This usually takes a few "
                    "seconds; your credits are added as soon as it does.",
                    size="4",
                ),
                spacing="3",
                align="center",
                role="status",
            ),
            spacing="4",
            align="start",
        ),
    )


@page(
    route="/checkout/return",
    title="Payment · Fluentio",
    description="Your payment.",
    public=False,
    on_load=[AuthState.require_learner, CheckoutReturnState.watch],
)
def checkout_return() -> rx.Component:
    return app_shell(signed_in_only(rx.box(body(), padding_y="3rem", max_width="44rem")))
