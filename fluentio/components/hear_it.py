""" "Hear it" for a word: a button and its lazily loaded <audio>, played by the page's
HEAR_IT_JS (fluentio/pages/history_detail.py) like the corrections' buttons."""

from __future__ import annotations

import reflex as rx


def hear_it(audio_id: rx.Var[str] | str, url: rx.Var[str] | str, text: rx.Var[str] | str) -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("volume-2", size=16),
            "Hear it",
            size="1",
            variant="soft",
            data_hear=audio_id,
            aria_label="Hear it: " + text,
        ),
        rx.el.audio(id=audio_id, preload="none", data_src=url),
        rx.text("", id=audio_id + "-status", size="1", color="var(--red-11)", role="status"),
        spacing="2",
        align="center",
    )
