"""The lesson page's "unclear — try this word again" card: each word the recogniser was
unsure of, marked in the line the learner said, with "Hear it".

The wording is deliberately about the recogniser: a low confidence means it could not
make the word out (a mumble, noise, an unusual accent as well as a mispronunciation), so
it is never shown as a pronunciation score.
"""

from __future__ import annotations

import reflex as rx

from fluentio.components.hear_it import hear_it
from fluentio.vocabulary.state import UnclearWordsState
from fluentio.vocabulary.unclear import UnclearView


def _unclear_word(view: UnclearView, index: rx.Var[int]) -> rx.Component:
    return rx.el.li(
        rx.vstack(
            rx.text(
                rx.el.span(view.before),
                rx.el.mark(
                    view.said,
                    class_name="unclear",
                    title="Unclear — try this word again",
                    style={
                        "background": "var(--orange-a4)",
                        "border_bottom": "2px dashed var(--orange-9)",
                        "color": "inherit",
                        "padding": "0 2px",
                        "border_radius": "3px",
                    },
                ),
                rx.el.span(view.after),
                size="3",
            ),
            rx.hstack(
                rx.badge("Unclear — try this word again", color_scheme="orange", variant="soft"),
                rx.text(
                    "The recogniser was ",
                    view.confidence_percent,
                    "% sure it heard “",
                    view.word,
                    "”.",
                    size="2",
                    color="var(--gray-11)",
                ),
                hear_it("unclear-" + index.to_string(), view.audio_url, view.word),
                spacing="3",
                align="center",
                wrap="wrap",
            ),
            spacing="1",
        ),
        class_name="unclear-word",
        style={"padding": "0.5rem 0", "border_bottom": "1px solid var(--gray-a3)", "list_style": "none"},
    )


def unclear_words_card() -> rx.Component:
    """Shown only when the lesson had unclear words."""
    return rx.box(
        rx.cond(
            UnclearWordsState.words.length() > 0,
            rx.card(
                rx.vstack(
                    rx.heading("Words the recogniser found unclear", as_="h2", size="4"),
                    rx.text(
                        "How sure the speech recogniser was of each word — not a score of your "
                        "pronunciation. Listen, say it again, and your next lesson's tutor will ask "
                        "you to use it.",
                        size="2",
                        color="var(--gray-11)",
                    ),
                    rx.el.ul(
                        rx.foreach(UnclearWordsState.words, _unclear_word),
                        style={"margin": 0, "padding": 0, "width": "100%"},
                    ),
                    spacing="2",
                    width="100%",
                ),
                width="100%",
                id="unclear-words",
            ),
        ),
        on_mount=UnclearWordsState.load,
        width="100%",
    )


# Read by screen readers, invisible on screen (so the mark is not colour only there either).
VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "padding": 0,
    "margin": "-1px",
    "overflow": "hidden",
    "clip": "rect(0, 0, 0, 0)",
    "white_space": "nowrap",
    "border": 0,
}


def unclear_mark(text: rx.Var[str] | str, label: rx.Var[str] | str, **style: object) -> rx.Component:
    """An unclear word inside a line (the transcript and the live captions): a <mark> with
    a dashed underline and a "?" (not colour only), its label on hover, and the label for
    screen readers right after the word."""
    return rx.fragment(
        rx.el.mark(
            text,
            rx.el.sup("?", aria_hidden="true", style={"font_size": "0.7em", "margin_left": "1px"}),
            class_name="unclear",
            title=label,
            style={
                "background": "var(--orange-a4)",
                "border_bottom": "2px dashed var(--orange-9)",
                "color": "inherit",
                "padding": "0 2px",
                "border_radius": "3px",
                **style,
            },
        ),
        rx.el.span(" (", label, ")", style=VISUALLY_HIDDEN),
    )


def unclear_part(part: rx.Var) -> rx.Component:
    """A piece of a transcript line (`history.PartView`): an unclear word marked, or plain text."""
    return rx.cond(part.unclear, unclear_mark(part.text, part.label), rx.fragment(part.text))
