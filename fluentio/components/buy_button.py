"""The "Buy" buttons on /pricing and /account.

A Buy button is a plain form posting to `POST /api/checkout` (fluentio.api.checkout_routes),
which starts the checkout and redirects there, or sends a visitor to sign up first.
"""

from __future__ import annotations

import reflex as rx

from fluentio.api.checkout_routes import CHECKOUT_PATH
from fluentio.billing.packs import CreditPack
from fluentio.components.native_form import native_form
from fluentio.components.theme import ACCENT


def buy_button(pack: CreditPack, label: str, *, highlight: bool = False) -> rx.Component:
    return native_form(
        rx.el.input(type="hidden", name="pack", default_value=pack.id),
        rx.button(
            label,
            type="submit",
            size="3",
            width="100%",
            color_scheme=ACCENT,
            variant="solid" if highlight else "outline",
            custom_attrs={"data-pack": pack.id},
        ),
        method="post",
        action=CHECKOUT_PATH,
        width="100%",
    )
