"""The "Buy" buttons on /pricing and /account (start a Dodo checkout and go there), and
small pieces the payment tables share."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import reflex as rx

from fluentio.auth.state import AuthState, signed_in_user
from fluentio.billing.packs import CreditPack
from fluentio.components.forms import error_callout
from fluentio.components.theme import ACCENT
from fluentio.payments.checkout import CheckoutError, start_checkout

# Anonymous buyers sign up first and come back to the packs.
SIGNUP_FOR_PRICING = "/signup?next=%2Fpricing"


class PurchaseState(rx.State):
    error: str = ""
    busy_pack: str = ""

    @rx.event
    async def buy(self, pack_id: str) -> AsyncIterator[rx.event.EventSpec | None]:
        self.error = ""
        user = signed_in_user(self)
        if user is None:
            yield rx.redirect(SIGNUP_FOR_PRICING)
            return
        self.busy_pack = pack_id
        yield None
        try:
            checkout_url = await start_checkout(user=user, pack_id=pack_id)
        except CheckoutError as exc:
            self.error = str(exc)
            self.busy_pack = ""
            return
        yield rx.call_script(f"window.location.assign({json.dumps(checkout_url)})")


def buy_button(pack: CreditPack, label: str, *, highlight: bool = False) -> rx.Component:
    """Signed in: start a checkout for `pack`. Anonymous: sign up first."""
    variant = "solid" if highlight else "outline"
    return rx.cond(
        AuthState.signed_in,
        rx.button(
            label,
            size="3",
            width="100%",
            color_scheme=ACCENT,
            variant=variant,
            loading=PurchaseState.busy_pack == pack.id,
            on_click=PurchaseState.buy(pack.id),
            custom_attrs={"data-pack": pack.id},
        ),
        rx.link(
            rx.button(label, size="3", width="100%", color_scheme=ACCENT, variant=variant),
            href=SIGNUP_FOR_PRICING,
            width="100%",
        ),
    )


def purchase_error() -> rx.Component:
    return error_callout(PurchaseState.error)


def table_caption(text: str) -> rx.Component:
    """A caption that names a table for screen readers (Radix puts aria-label on a wrapper)."""
    return rx.el.caption(
        text,
        style={
            "position": "absolute",
            "width": "1px",
            "height": "1px",
            "overflow": "hidden",
            "clip": "rect(0 0 0 0)",
            "white_space": "nowrap",
        },
    )
