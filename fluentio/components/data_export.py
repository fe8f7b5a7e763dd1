"""The "Download my data" panel on /account (the archive is built by fluentio.privacy)."""

from __future__ import annotations

import reflex as rx

from fluentio.api.export_routes import EXPORT_PATH


def data_export_panel() -> rx.Component:
    # A plain <a download> (a full load, not client-side routing): the browser fetches
    # the streamed zip itself, sending the HttpOnly session cookie the route reads the owner from.
    return rx.card(
        rx.vstack(
            rx.heading("Download my data", as_="h2", size="5"),
            rx.text(
                "One zip file with your profile, sessions, transcripts (also as readable text), "
                "feedback, credit history and payments.",
                color="var(--gray-11)",
            ),
            rx.button(
                rx.el.a(
                    "Download my data",
                    href=EXPORT_PATH,
                    download=True,
                    reload_document=True,
                    id="download-my-data",
                ),
                as_child=True,
                variant="outline",
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )
