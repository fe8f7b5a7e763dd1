"""The 404 page: says the page does not exist and offers the way back."""

import reflex as rx

from fluentio.components.layout import ACCENT, page, shell


@page(route="404", title="Page not found · Fluentio", description="This page does not exist.", public=False)
def not_found() -> rx.Component:
    return shell(
        rx.vstack(
            rx.heading("Page not found", as_="h1", size="8"),
            rx.text(
                "There is no page at this address. It may have moved, or the link may have a typo.",
                size="4",
                color="var(--gray-11)",
            ),
            rx.hstack(
                rx.link(rx.button("Go to the home page", size="3", color_scheme=ACCENT), href="/"),
                rx.link(
                    rx.button("Read the FAQ", size="3", variant="outline", color_scheme=ACCENT), href="/faq"
                ),
                spacing="3",
                wrap="wrap",
            ),
            spacing="4",
            padding_y="4rem",
            align="start",
        )
    )
