"""/words: the learner's vocabulary deck — due now, still learning, known — each with "Hear it"."""

from __future__ import annotations

import reflex as rx

from fluentio import languages
from fluentio.auth.state import AuthState, signed_in_user
from fluentio.components.guards import signed_in_only
from fluentio.components.hear_it import hear_it
from fluentio.components.layout import page, shell
from fluentio.components.theme import ACCENT
from fluentio.db import session_scope
from fluentio.goals.service import end_of_today
from fluentio.models.base import utcnow
from fluentio.vocabulary.deck import DeckView, deck_groups


class WordsState(rx.State):
    loaded: bool = False
    due: list[DeckView] = []
    learning: list[DeckView] = []
    known: list[DeckView] = []
    # The deck shown is the one of the language the learner practises now.
    language_name: str = "English"

    @rx.event
    def load(self) -> None:
        user = signed_in_user(self)
        if user is None:
            return
        now = utcnow()
        with session_scope() as session:
            until = end_of_today(session=session, user_id=user.id, now=now)
            groups = deck_groups(
                session=session, user_id=user.id, now=now, due_by=until, language=user.target_language
            )
        self.language_name = languages.name(user.target_language)
        self.due, self.learning, self.known = groups.due, groups.learning, groups.known
        self.loaded = True


def word_row(item: DeckView) -> rx.Component:
    return rx.el.li(
        rx.hstack(
            rx.text(item.text, weight="bold", size="3"),
            rx.badge(item.source, variant="soft", color_scheme=rx.cond(item.unclear, "orange", "gray")),
            rx.text("next: ", item.due, size="2", color="var(--gray-11)"),
            rx.spacer(),
            hear_it("word-" + item.id, item.audio_url, item.text),
            spacing="3",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        class_name="deck-item",
        style={"padding": "0.5rem 0", "border_bottom": "1px solid var(--gray-a3)", "list_style": "none"},
    )


def group(title: str, hint: str, items: rx.Var[list[DeckView]], empty: str, section_id: str) -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.hstack(
                rx.heading(title, as_="h2", size="5"),
                rx.badge(items.length(), variant="outline"),
                align="center",
            ),
            rx.text(hint, size="2", color="var(--gray-11)"),
            rx.cond(
                items.length() > 0,
                rx.el.ul(rx.foreach(items, word_row), style={"margin": 0, "padding": 0, "width": "100%"}),
                rx.text(empty, color="var(--gray-11)"),
            ),
            spacing="2",
            width="100%",
        ),
        id=section_id,
        aria_label=title,
        style={"width": "100%"},
    )


def words_body() -> rx.Component:
    state = WordsState
    return rx.vstack(
        rx.heading("Your words", as_="h1", size="8"),
        rx.text(
            "Your ",
            rx.text.strong(state.language_name),
            " deck (each language you practise has its own; change it under ",
            rx.link("Account", href="/account", underline="always"),
            ").",
            id="deck-language",
        ),
        rx.text(
            "New words from your feedback, the words you chose to practise, short corrected phrases and "
            "words the recogniser found unclear. Your tutor weaves the due ones into your next lesson; "
            "say them well and they come back less often.",
            color="var(--gray-11)",
            max_width="44rem",
        ),
        rx.cond(
            ~state.loaded,
            rx.center(rx.spinner(size="3"), width="100%", padding_y="2rem"),
            rx.vstack(
                group(
                    "Due today",
                    "Your next lesson's tutor will bring these up.",
                    state.due,
                    "Nothing is due. Well done!",
                    "due",
                ),
                group(
                    "Learning", "Seen recently; they come back soon.", state.learning, "None yet.", "learning"
                ),
                group(
                    "Known",
                    "You've used these well; they come back after longer gaps.",
                    state.known,
                    "None yet.",
                    "known",
                ),
                rx.link(rx.button("Practise them now", color_scheme=ACCENT), href="/classroom"),
                spacing="5",
                width="100%",
            ),
        ),
        spacing="4",
        padding_y="2rem",
        width="100%",
    )


@page(
    route="/words",
    title="Your words · Fluentio",
    description="Your vocabulary deck: words due today, learning and known.",
    public=False,
    on_load=[AuthState.require_learner, WordsState.load],
)
def words_page() -> rx.Component:
    return shell(signed_in_only(words_body()))
