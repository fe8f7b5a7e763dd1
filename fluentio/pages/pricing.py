"""The pricing page: free sign-up credits and the credit packs on sale, with price per minute."""

import reflex as rx

from fluentio.billing.packs import CreditPack, credit_packs
from fluentio.components.auth_switch import auth_switch
from fluentio.components.buy_button import buy_button
from fluentio.components.calls_to_action import closing_cta
from fluentio.components.layout import (
    ACCENT,
    free_credits,
    page,
    page_intro,
    section,
    shell,
)

TITLE = "Pricing · Fluentio — pay as you go, 1 credit = 1 minute"
DESCRIPTION = (
    f"Start with {free_credits()} free credits, then buy a pack of minutes when you need it. "
    "1 credit = 1 minute of live conversation with your English tutor. No subscription; credits never expire."
)

INCLUDED = [
    "Live, interruptible voice conversation",
    "Live captions of both sides",
    "Corrections, recurring patterns and suggestions after every call",
    "“Hear it”: corrected sentences read aloud",
    "Progress charts over weeks",
    "Every topic and every level, A1–C2",
]


def currency_symbol(pack: CreditPack) -> str:
    """The symbol `price_label` puts before the amount ("$", "€", or "CHF ")."""
    return pack.price_label.rstrip("0123456789.")


def per_minute_label(pack: CreditPack) -> str:
    """The pack's price per minute, e.g. "$0.083", in the pack's own currency."""
    return f"{currency_symbol(pack)}{pack.cents_per_minute / 100:.3f}"


def saving_percent(pack: CreditPack, packs: list[CreditPack]) -> int:
    """How much cheaper a minute is than in the priciest pack of the same currency."""
    dearest = max(p.cents_per_minute for p in packs if p.currency == pack.currency)
    return round(100 * (1 - pack.cents_per_minute / dearest))


def price_card(
    *,
    name: str,
    minutes: str,
    price: str,
    per_minute: str,
    note: str,
    action: str,
    highlight: bool = False,
    badge: str = "",
    button: rx.Component | None = None,
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(name, as_="h2", size="5"),
                *([rx.badge(badge, color_scheme=ACCENT, variant="solid")] if badge else []),
                justify="between",
                align="center",
                width="100%",
            ),
            rx.text(price, size="8", weight="bold", color="var(--gray-12)"),
            rx.text(minutes, size="4", weight="medium"),
            rx.text(per_minute, size="2", color="var(--gray-11)"),
            rx.text(note, size="2", color="var(--gray-11)", min_height="1.5em"),
            rx.spacer(),
            button
            if button is not None
            else rx.link(
                rx.button(
                    action,
                    size="3",
                    width="100%",
                    color_scheme=ACCENT,
                    variant="solid" if highlight else "outline",
                ),
                href="/signup",
                width="100%",
            ),
            spacing="2",
            height="100%",
            align="start",
        ),
        size="3",
        # The best-value pack is outlined so the eye lands on it first.
        **({"box_shadow": f"0 0 0 2px var(--{ACCENT}-9)"} if highlight else {}),
    )


def pack_card(pack: CreditPack, packs: list[CreditPack], best_id: str) -> rx.Component:
    saving = saving_percent(pack, packs)
    return price_card(
        name=pack.name,
        minutes=f"{pack.credits} minutes",
        price=pack.price_label,
        per_minute=f"{pack.credits} credits · {per_minute_label(pack)} per minute",
        note=f"Save {saving}% per minute" if saving > 0 else "A good first pack",
        action=f"Buy {pack.name}",
        highlight=pack.id == best_id,
        badge="Best value" if pack.id == best_id and len(packs) > 1 else "",
        button=buy_button(pack, f"Buy {pack.name}", highlight=pack.id == best_id),
    )


def free_card(symbol: str) -> rx.Component:
    credits = free_credits()
    return price_card(
        name="Free to start",
        minutes=f"{credits} minutes",
        price=f"{symbol}0",
        per_minute=f"{credits} credits on sign-up, once per account",
        note="No card needed",
        action="Sign up free",
        button=auth_switch(
            rx.link(
                rx.button(
                    "Go to the classroom", size="3", width="100%", color_scheme=ACCENT, variant="outline"
                ),
                href="/classroom",
                width="100%",
            ),
            rx.link(
                rx.button("Sign up free", size="3", width="100%", color_scheme=ACCENT, variant="outline"),
                href="/signup",
                width="100%",
            ),
        ),
    )


def included() -> rx.Component:
    return section(
        rx.heading("Every minute includes everything", as_="h2", size="6"),
        rx.grid(
            *[
                rx.hstack(
                    rx.icon(
                        "circle-check",
                        size=20,
                        color=f"var(--{ACCENT}-11)",
                        aria_hidden="true",
                        flex_shrink="0",
                    ),
                    rx.text(item),
                    align="start",
                    spacing="2",
                )
                for item in INCLUDED
            ],
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
    )


def how_credits_work() -> rx.Component:
    rows = [
        ("What is a credit?", "One minute of connected conversation with the tutor."),
        (
            "How is time counted?",
            "By the second, while a call is connected. A 4½-minute call uses 4.5 credits. "
            "Reading your feedback and hearing corrections is free.",
        ),
        ("Do credits expire?", "No. Buy a pack today and use it next month or next year."),
        ("Is there a subscription?", "No. You pay only when you buy a pack, and nothing renews."),
    ]
    return section(
        rx.heading("How credits work", as_="h2", size="6"),
        rx.el.dl(
            *[
                rx.box(
                    rx.el.dt(question, font_weight="bold"),
                    rx.el.dd(answer, margin="0.25rem 0 0", color="var(--gray-11)"),
                )
                for question, answer in rows
            ],
            display="grid",
            grid_template_columns=rx.breakpoints(initial="1fr", sm="1fr 1fr"),
            gap="1.25rem 2rem",
            margin="0",
        ),
        rx.text(
            "More questions? ",
            rx.link("Read the FAQ", href="/faq", color=f"var(--{ACCENT}-11)", underline="always"),
            ".",
            color="var(--gray-11)",
        ),
    )


@page(route="/pricing", title=TITLE, description=DESCRIPTION)
def pricing() -> rx.Component:
    packs = credit_packs()
    best_id = min(packs, key=lambda p: p.cents_per_minute).id
    return shell(
        page_intro(
            "Pricing",
            "Pay only for the minutes you talk",
            f"Every new account gets {free_credits()} free credits. After that, buy a pack of minutes "
            "whenever you need one. 1 credit = 1 minute of live conversation. No subscription, "
            "and credits never expire.",
        ),
        section(
            rx.grid(
                free_card(currency_symbol(packs[0])),
                *[pack_card(pack, packs, best_id) for pack in packs],
                columns=rx.breakpoints(initial="1", sm="2", lg=str(min(len(packs) + 1, 4))),
                spacing="4",
                width="100%",
            ),
            rx.text(
                "Any VAT or sales tax is shown at checkout. Card details go to our payment provider, never to Fluentio.",
                size="2",
                color="var(--gray-11)",
            ),
            aria_label="Credit packs",
        ),
        included(),
        how_credits_work(),
        closing_cta(),
    )
