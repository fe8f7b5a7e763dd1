"""/history: the learner's sessions (newest first, paged) and their progress in charts."""

from __future__ import annotations

import json
import uuid
from typing import Any

import reflex as rx

from fluentio import languages
from fluentio.auth.state import AuthState, signed_in_user
from fluentio.components.goal_progress import goal_progress
from fluentio.components.guards import signed_in_only
from fluentio.components.layout import app_shell, page
from fluentio.components.stacked_table import stacked_on_phones
from fluentio.components.theme import ACCENT
from fluentio.db import session_scope
from fluentio.feedback import history, jobs
from fluentio.feedback.refresh_state import RefreshWhileAnalysing
from fluentio.languages import DEFAULT_LANGUAGE
from fluentio.levels import LEVELS
from fluentio.models import User

LEVEL_TICK = f"(v) => {json.dumps(['', *LEVELS])}[v] ?? ''"


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(10_000, int(value or "1")))
    except ValueError:
        return 1


class HistoryState(RefreshWhileAnalysing, rx.State):
    rows: list[history.SessionRow] = []
    page: int = 1
    has_next: bool = False
    loaded: bool = False
    sessions: int = 0
    minutes_total: int = 0
    analysed: int = 0
    latest_level: str = ""
    # The level figures are for the language practised now ("Spanish").
    level_language: str = "English"
    weekly_minutes: list[dict[str, Any]] = []
    mistakes: list[dict[str, Any]] = []
    patterns: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    notice: str = ""

    def _fill(self, user_id: uuid.UUID) -> None:
        with session_scope() as session:
            rows, has_next = history.list_sessions(session=session, user_id=user_id, page=self.page)
            user = session.get(User, user_id)
            language = user.target_language if user else DEFAULT_LANGUAGE
            figures = history.progress(session=session, user_id=user_id, language=language)
        self.level_language = languages.name(language)
        self.rows = rows
        self.has_next = has_next
        self.sessions = figures.sessions
        self.minutes_total = figures.minutes
        self.analysed = figures.analysed
        self.latest_level = figures.latest_level
        self.weekly_minutes = figures.weekly_minutes
        self.mistakes = figures.mistakes
        self.patterns = figures.patterns
        self.levels = figures.levels
        self.loaded = True

    def _analysing(self) -> bool:
        return any(row.analysing for row in self.rows)

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        self.notice = ""
        self.page = _page_number(self.router.url.query_parameters.get("page"))
        user = signed_in_user(self)
        if user is None:
            return None
        self._fill(user.id)
        return HistoryState.watch if self._analysing() else None

    @rx.event
    def retry(self, session_id: str) -> rx.event.EventSpec | None:
        user = signed_in_user(self)
        if user is None:
            return rx.redirect("/login?next=/history")
        try:
            practice_id = uuid.UUID(session_id)
        except ValueError:
            return None
        with session_scope() as session:
            queued = jobs.request_retry(session=session, user_id=user.id, practice_session_id=practice_id)
        self.notice = (
            "Trying the analysis again. Your feedback appears here in a moment."
            if queued
            else "That session can't be analysed again right now. Refresh the page to see its latest state."
        )
        self._fill(user.id)
        return HistoryState.watch

    def _refresh(self, user_id: uuid.UUID) -> None:
        self._fill(user_id)


def stat(label: str, value: rx.Var | str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color="var(--gray-11)"),
            rx.text(value, size="6", weight="bold"),
            spacing="1",
        ),
        width="100%",
    )


def chart_card(title: str, chart: rx.Component, empty: rx.Var[bool], empty_text: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, as_="h3", size="3"),
            rx.cond(empty, rx.text(empty_text, size="2", color="var(--gray-11)"), chart),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def date_axis() -> rx.Component:
    # Room at both ends so the first and last dates are drawn whole instead of dropped,
    # and Recharts keeps both ends when it thins labels out on a narrow screen.
    return rx.recharts.x_axis(data_key="date", padding={"left": 40, "right": 40}, interval="preserveStartEnd")


def progress_charts() -> rx.Component:
    minutes = rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
        rx.recharts.x_axis(data_key="week"),
        rx.recharts.y_axis(allow_decimals=False, width=40),
        rx.recharts.tooltip(),
        rx.recharts.bar(
            data_key="minutes", name="Minutes", fill=f"var(--{ACCENT}-9)", is_animation_active=False
        ),
        data=HistoryState.weekly_minutes,
        height=220,
    )
    mistakes = rx.recharts.line_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
        date_axis(),
        rx.recharts.y_axis(width=40),
        rx.recharts.tooltip(),
        rx.recharts.line(
            data_key="per_100_words",
            name="Mistakes per 100 words",
            stroke="var(--orange-9)",
            type_="monotone",
            is_animation_active=False,
        ),
        data=HistoryState.mistakes,
        height=220,
    )
    patterns = rx.recharts.bar_chart(
        rx.recharts.x_axis(type_="number", allow_decimals=False),
        rx.recharts.y_axis(data_key="pattern", type_="category", width=220, tick={"fontSize": 12}),
        rx.recharts.tooltip(),
        rx.recharts.bar(
            data_key="sessions", name="Sessions", fill="var(--purple-9)", is_animation_active=False
        ),
        data=HistoryState.patterns,
        layout="vertical",
        height=260,
    )
    levels = rx.recharts.line_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
        date_axis(),
        # Half a level of room above C2 and below A1 keeps "A1" clear of the dates, and
        # interval 0 stops Recharts from dropping labels (it used to skip C1) when short.
        rx.recharts.y_axis(
            domain=[0.5, 6.5],
            ticks=[1, 2, 3, 4, 5, 6],
            interval=0,
            tick_formatter=LEVEL_TICK,
            width=40,
            allow_decimals=False,
        ),
        rx.recharts.tooltip(),
        rx.recharts.line(
            data_key="rank",
            name="Level",
            stroke="var(--green-9)",
            type_="stepAfter",
            is_animation_active=False,
        ),
        data=HistoryState.levels,
        height=240,
    )
    after_first = "Appears after your first analysed session."
    return rx.el.section(
        rx.heading("Your progress", as_="h2", size="6"),
        rx.grid(
            chart_card("Minutes practised per week", minutes, HistoryState.weekly_minutes.length() == 0, ""),
            chart_card("Mistakes per 100 words", mistakes, HistoryState.mistakes.length() == 0, after_first),
            chart_card("Most frequent patterns", patterns, HistoryState.patterns.length() == 0, after_first),
            chart_card(
                f"Estimated level in {HistoryState.level_language} over time",
                levels,
                HistoryState.levels.length() == 0,
                after_first,
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
        ),
        aria_label="Your progress",
        style={"display": "flex", "flex_direction": "column", "gap": "1rem", "width": "100%"},
    )


def feedback_cell(row: history.SessionRow) -> rx.Component:
    return rx.hstack(
        rx.text(row.feedback, size="2"),
        rx.cond(
            row.can_retry,
            rx.button(
                "Retry",
                size="1",
                variant="outline",
                on_click=HistoryState.retry(row.id),
                aria_label="Retry the feedback for this session",
            ),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def sessions_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Date"),
                rx.table.column_header_cell("Topic"),
                rx.table.column_header_cell("Language"),
                rx.table.column_header_cell("Minutes"),
                rx.table.column_header_cell("Credits used"),
                rx.table.column_header_cell("Feedback"),
            )
        ),
        rx.table.body(
            rx.foreach(
                HistoryState.rows,
                lambda row: rx.table.row(
                    rx.table.row_header_cell(rx.link(row.date, href="/history/" + row.id), data_label="Date"),
                    rx.table.cell(row.topic, data_label="Topic"),
                    rx.table.cell(row.language, data_label="Language", class_name="session-language"),
                    rx.table.cell(row.minutes, data_label="Minutes"),
                    rx.table.cell(row.credits, data_label="Credits used"),
                    rx.table.cell(feedback_cell(row), data_label="Feedback"),
                    data_session=row.id,
                ),
            )
        ),
        width="100%",
        variant="surface",
        id="sessions",
    )


def pager() -> rx.Component:
    return rx.hstack(
        rx.cond(
            HistoryState.page > 1,
            rx.link("← Newer", href="/history?page=" + (HistoryState.page - 1).to_string()),
        ),
        rx.text("Page ", HistoryState.page, size="2", color="var(--gray-11)"),
        rx.cond(
            HistoryState.has_next,
            rx.link("Older →", href="/history?page=" + (HistoryState.page + 1).to_string()),
        ),
        spacing="4",
        align="center",
    )


def empty_state() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("No sessions yet", as_="h2", size="5"),
            rx.text(
                "Your conversations, their feedback and your progress appear here after your first "
                "session with the tutor.",
                color="var(--gray-11)",
            ),
            rx.link(rx.button("Go to the classroom", color_scheme=ACCENT), href="/classroom"),
            spacing="3",
            align="start",
        ),
        size="3",
        width="100%",
    )


def history_body() -> rx.Component:
    return rx.vstack(
        rx.heading("Your history", as_="h1", size="8"),
        goal_progress(),
        rx.cond(
            HistoryState.notice != "",
            rx.callout(HistoryState.notice, icon="info", color_scheme="blue", width="100%"),
        ),
        rx.cond(
            ~HistoryState.loaded,
            rx.center(rx.spinner(size="3"), width="100%", padding_y="3rem"),
            rx.cond(
                HistoryState.sessions == 0,
                empty_state(),
                rx.fragment(
                    rx.grid(
                        stat("Sessions", HistoryState.sessions.to_string()),
                        stat("Minutes practised", HistoryState.minutes_total.to_string()),
                        stat(
                            f"Latest level in {HistoryState.level_language}",
                            rx.cond(HistoryState.latest_level != "", HistoryState.latest_level, "—"),
                        ),
                        columns=rx.breakpoints(initial="1", sm="3"),
                        spacing="4",
                        width="100%",
                    ),
                    rx.el.section(
                        rx.heading("Sessions", as_="h2", size="6"),
                        stacked_on_phones(sessions_table()),
                        pager(),
                        aria_label="Sessions",
                        style={"display": "flex", "flex_direction": "column", "gap": "1rem", "width": "100%"},
                    ),
                    progress_charts(),
                    rx.link(rx.button("Practise again", color_scheme=ACCENT), href="/classroom"),
                ),
            ),
        ),
        spacing="5",
        padding_y="2rem",
        width="100%",
    )


@page(
    route="/history",
    title="Your history · Fluentio",
    description="Your practice sessions, feedback and progress.",
    public=False,
    on_load=[AuthState.require_learner, HistoryState.load],
)
def history_page() -> rx.Component:
    return app_shell(signed_in_only(history_body()))
