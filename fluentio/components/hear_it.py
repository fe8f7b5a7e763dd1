""" "Hear it": a button that plays a clip (a corrected sentence, a deck word), fetched on
the first press only. The browser's part is hear_it.jsx; every "Hear it" in the app is
this one component."""

from __future__ import annotations

import reflex as rx


class HearIt(rx.Component):
    library = rx.asset("hear_it.jsx", shared=True).importable_path
    tag = "HearIt"

    # The <audio> element's id (tests find the clip by it, through the button's data-hear).
    audio_id: rx.Var[str]
    # Where the clip is fetched from, on the first press.
    url: rx.Var[str]
    # What is spoken, for the button's accessible name ("Hear it: …").
    label: rx.Var[str]
    # "1" (small, in lists) or "2".
    size: rx.Var[str]


def hear_it(
    audio_id: rx.Var[str] | str, url: rx.Var[str] | str, text: rx.Var[str] | str, *, size: str = "1"
) -> rx.Component:
    return HearIt.create(audio_id=audio_id, url=url, label=text, size=size)
