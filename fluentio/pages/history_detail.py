"""/history/{id}: one session's transcript with the mistakes marked in place, its
corrections (each with "Hear it"), patterns, suggestions and fluency figures.

Only the session's owner sees it; any other id reads "not found".
"""

from __future__ import annotations

import uuid

import reflex as rx

from fluentio.auth.state import AuthState, signed_in_user
from fluentio.components.guards import signed_in_only
from fluentio.components.hear_it import hear_it
from fluentio.components.layout import app_shell, page
from fluentio.components.placement import placement_result
from fluentio.components.theme import ACCENT
from fluentio.components.unclear_words import unclear_part, unclear_words_card
from fluentio.db import session_scope
from fluentio.feedback import history, jobs
from fluentio.feedback.refresh_state import RefreshWhileAnalysing
from fluentio.models import FeedbackStatus

CATEGORY_COLOURS = {"grammar": "blue", "vocabulary": "purple", "pronunciation": "orange", "fluency": "green"}


class HistoryDetailState(RefreshWhileAnalysing, rx.State):
    loaded: bool = False
    found: bool = False
    session_id: str = ""
    date: str = ""
    topic: str = ""
    language: str = ""
    explanation_language: str = ""
    minutes: str = ""
    credits: str = ""
    feedback_status: str = ""
    feedback_label: str = ""
    feedback_note: str = ""
    level: str = ""
    summary: str = ""
    patterns: list[str] = []
    suggestions: list[str] = []
    new_words: list[str] = []
    words_per_minute: str = ""
    speed_note: str = ""
    talk_share: str = ""
    turns: str = ""
    learner_words: str = ""
    corrections: list[history.CorrectionView] = []
    lines: list[history.LineView] = []
    notice: str = ""
    # A placement call: its level and evidence replace the corrections (fluentio/placement/).
    is_placement: bool = False

    @rx.var
    def feedback_panel(self) -> str:
        """Which panel shows: the feedback's status, or "placement" for an analysed placement call."""
        done = self.feedback_status == FeedbackStatus.DONE.value
        return "placement" if self.is_placement and done else self.feedback_status

    def _requested_id(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            return None

    def _fill(self, user_id: uuid.UUID, practice_id: uuid.UUID | None) -> None:
        detail = None
        if practice_id is not None:
            with session_scope() as session:
                detail = history.session_detail(
                    session=session, user_id=user_id, practice_session_id=practice_id
                )
        self.loaded = True
        self.found = detail is not None
        if detail is None:
            return
        self.session_id = detail.id
        self.date = detail.date
        self.topic = detail.topic
        self.language = detail.language
        self.explanation_language = detail.explanation_language
        self.minutes = detail.minutes
        self.credits = detail.credits
        self.feedback_status = detail.feedback_status
        self.feedback_label = detail.feedback_label
        self.feedback_note = detail.feedback_note
        self.level = detail.level
        self.summary = detail.summary
        self.patterns = detail.patterns
        self.suggestions = detail.suggestions
        self.new_words = detail.new_words
        self.words_per_minute = detail.words_per_minute
        self.speed_note = detail.speed_note
        self.talk_share = detail.talk_share
        self.turns = detail.turns
        self.learner_words = detail.learner_words
        self.corrections = detail.corrections
        self.lines = detail.lines
        self.is_placement = detail.is_placement

    def _analysing(self) -> bool:
        return self.feedback_status in history.ANALYSING

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        self.loaded = False
        self.notice = ""
        user = signed_in_user(self)
        if user is None:
            return None
        self._fill(user.id, self._requested_id())
        return HistoryDetailState.watch if self._analysing() else None

    @rx.event
    def retry(self) -> rx.event.EventSpec | None:
        user = signed_in_user(self)
        practice_id = self._requested_id()
        if user is None:
            return rx.redirect("/login?next=/history")
        if practice_id is None:
            return None
        with session_scope() as session:
            queued = jobs.request_retry(session=session, user_id=user.id, practice_session_id=practice_id)
        self.notice = (
            "Trying the analysis again. Your feedback appears here in a moment."
            if queued
            else "This session can't be analysed again right now."
        )
        self._fill(user.id, practice_id)
        return HistoryDetailState.watch

    def _refresh(self, user_id: uuid.UUID) -> None:
        self._fill(user_id, self._requested_id())


def transcript_line(line: history.LineView) -> rx.Component:
    return rx.el.div(
        rx.text(
            line.speaker,
            weight="bold",
            size="2",
            color=rx.cond(line.learner, f"var(--{ACCENT}-11)", "var(--gray-11)"),
        ),
        rx.text(
            rx.foreach(
                line.segments,
                lambda piece: rx.cond(
                    piece.marked,
                    rx.el.mark(
                        rx.foreach(piece.parts, unclear_part),
                        title=piece.note,
                        class_name="mistake",
                        style={
                            "background": "var(--amber-a5)",
                            "border_bottom": "2px solid var(--red-9)",
                            "color": "inherit",
                            "padding": "0 2px",
                            "border_radius": "3px",
                        },
                    ),
                    rx.el.span(rx.foreach(piece.parts, unclear_part)),
                ),
            ),
            as_="p",
            size="3",
        ),
        class_name=rx.cond(line.learner, "line learner", "line tutor"),
        style={"padding": "0.5rem 0", "border_bottom": "1px solid var(--gray-a3)"},
    )


def correction_card(correction: history.CorrectionView) -> rx.Component:
    audio_id = "clip-" + correction.id
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(correction.number, variant="soft"),
                rx.badge(
                    correction.category,
                    color_scheme=rx.match(
                        correction.category,
                        *[(name, colour) for name, colour in CATEGORY_COLOURS.items()],
                        "gray",
                    ),
                ),
                spacing="2",
            ),
            rx.text(rx.el.s(correction.original), color="var(--red-11)"),
            rx.text(correction.corrected, weight="bold", color="var(--green-11)"),
            rx.text(correction.explanation, size="2", color="var(--gray-11)"),
            hear_it(audio_id, correction.audio_url, correction.corrected, size="2"),
            spacing="2",
            align="start",
        ),
        width="100%",
        class_name="correction",
    )


def bullet_list(items: rx.Var[list[str]] | list[str], label: str) -> rx.Component:
    return rx.el.ul(
        rx.foreach(items, lambda item: rx.el.li(item)),
        aria_label=label,
        style={"margin": 0, "padding_left": "1.25rem", "display": "grid", "gap": "0.25rem"},
    )


def figure(label: str, value: rx.Var[str] | str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color="var(--gray-11)"),
        rx.text(rx.cond(value != "", value, "—"), size="5", weight="bold"),
        spacing="0",
    )


def feedback_panel() -> rx.Component:
    state = HistoryDetailState
    return rx.match(
        state.feedback_panel,
        ("placement", placement_result()),
        (
            "done",
            rx.vstack(
                rx.card(
                    rx.vstack(
                        rx.hstack(
                            figure("Estimated level", state.level),
                            figure("Words per minute", state.words_per_minute),
                            figure("Your share of talking", state.talk_share),
                            figure("Your turns", state.turns),
                            figure("Words you said", state.learner_words),
                            spacing="6",
                            wrap="wrap",
                        ),
                        rx.cond(
                            state.speed_note != "",
                            rx.text(state.speed_note, size="1", color="var(--gray-11)", id="speed-note"),
                        ),
                        rx.cond(state.summary != "", rx.text(state.summary)),
                        spacing="3",
                    ),
                    width="100%",
                ),
                rx.heading("Corrections", as_="h2", size="5"),
                rx.cond(
                    state.corrections.length() > 0,
                    rx.grid(
                        rx.foreach(state.corrections, correction_card),
                        columns=rx.breakpoints(initial="1", md="2"),
                        spacing="3",
                        width="100%",
                    ),
                    rx.text("No mistakes found in this session. Well done!", color="var(--gray-11)"),
                ),
                rx.grid(
                    rx.card(
                        rx.vstack(
                            rx.heading("Patterns to work on", as_="h2", size="4"),
                            rx.cond(
                                state.patterns.length() > 0,
                                bullet_list(state.patterns, "Patterns"),
                                rx.text("None this time.", color="var(--gray-11)"),
                            ),
                            spacing="2",
                        ),
                    ),
                    rx.card(
                        rx.vstack(
                            rx.heading("Suggestions", as_="h2", size="4"),
                            bullet_list(state.suggestions, "Suggestions"),
                            spacing="2",
                        ),
                    ),
                    rx.card(
                        rx.vstack(
                            rx.heading("New words you used", as_="h2", size="4"),
                            rx.cond(
                                state.new_words.length() > 0,
                                rx.hstack(
                                    rx.foreach(state.new_words, lambda w: rx.badge(w, variant="outline")),
                                    wrap="wrap",
                                ),
                                rx.text("None this time.", color="var(--gray-11)"),
                            ),
                            spacing="2",
                        ),
                    ),
                    columns=rx.breakpoints(initial="1", md="3"),
                    spacing="3",
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
        ),
        (
            "failed",
            rx.callout(
                rx.hstack(
                    rx.text(state.feedback_label, ". ", state.feedback_note),
                    rx.button("Retry", size="1", on_click=HistoryDetailState.retry),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
                icon="triangle-alert",
                color_scheme="orange",
                width="100%",
                id="feedback-status",
            ),
        ),
        (
            "skipped",
            rx.callout(
                state.feedback_note,
                icon="info",
                color_scheme="gray",
                width="100%",
                id="feedback-status",
            ),
        ),
        (
            "",
            rx.callout(
                rx.hstack(
                    rx.text(state.feedback_label, "."),
                    rx.cond(
                        state.feedback_label == "No feedback",
                        rx.button("Analyse this session", size="1", on_click=HistoryDetailState.retry),
                    ),
                    spacing="3",
                    align="center",
                ),
                icon="info",
                color_scheme="gray",
                width="100%",
                id="feedback-status",
            ),
        ),
        rx.callout(
            rx.hstack(rx.spinner(size="1"), rx.text("Preparing your feedback… it appears here in a moment.")),
            icon="clock",
            color_scheme="blue",
            width="100%",
            id="feedback-status",
        ),
    )


def detail_body() -> rx.Component:
    state = HistoryDetailState
    return rx.cond(
        ~state.loaded,
        rx.center(rx.spinner(size="3"), width="100%", padding_y="3rem"),
        rx.cond(
            state.found,
            rx.vstack(
                rx.link("← All sessions", href="/history"),
                rx.heading(state.topic, as_="h1", size="8"),
                rx.text(
                    state.date,
                    " · ",
                    state.minutes,
                    " min · ",
                    state.credits,
                    " used",
                    color="var(--gray-11)",
                ),
                rx.text(
                    "In ",
                    rx.text.strong(state.language),
                    " · explanations in ",
                    state.explanation_language,
                    id="lesson-language",
                    color="var(--gray-11)",
                ),
                rx.cond(state.notice != "", rx.callout(state.notice, icon="info", width="100%")),
                feedback_panel(),
                unclear_words_card(),
                rx.el.section(
                    rx.heading("Transcript", as_="h2", size="5"),
                    rx.text(
                        "Your mistakes are marked; hover or tap one to see the correction.",
                        size="2",
                        color="var(--gray-11)",
                    ),
                    rx.cond(
                        state.lines.length() > 0,
                        rx.box(rx.foreach(state.lines, transcript_line), width="100%", id="transcript"),
                        rx.text("No transcript was saved for this session.", color="var(--gray-11)"),
                    ),
                    aria_label="Transcript",
                    style={"display": "flex", "flex_direction": "column", "gap": "0.5rem", "width": "100%"},
                ),
                rx.link(rx.button("Practise again", color_scheme=ACCENT), href="/classroom"),
                spacing="4",
                padding_y="2rem",
                width="100%",
            ),
            rx.vstack(
                rx.heading("Session not found", as_="h1", size="8"),
                rx.text(
                    "There is no session at this address in your history. It may belong to another "
                    "account, or the link may be incomplete.",
                    color="var(--gray-11)",
                ),
                rx.hstack(
                    rx.link(rx.button("Your history", color_scheme=ACCENT), href="/history"),
                    rx.link(rx.button("Go to the classroom", variant="outline"), href="/classroom"),
                    spacing="3",
                ),
                spacing="4",
                padding_y="3rem",
                align="start",
            ),
        ),
    )


@page(
    route="/history/[history_session_id]",
    title="Session feedback · Fluentio",
    description="One practice session: transcript, corrections and suggestions.",
    public=False,
    on_load=[AuthState.require_learner, HistoryDetailState.load],
)
def history_detail() -> rx.Component:
    return app_shell(signed_in_only(detail_body()))
