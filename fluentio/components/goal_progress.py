"""The goal card: this week's minutes against the learner's goal, the streak of practice
days, and a small form to change the goal, time zone and email reminder."""

from __future__ import annotations

import reflex as rx

from fluentio.components.theme import ACCENT
from fluentio.goals.service import MAX_WEEKLY_MINUTES, MIN_WEEKLY_MINUTES
from fluentio.goals.state import GoalState


def _goal_form() -> rx.Component:
    state = GoalState
    return rx.form(
        rx.vstack(
            rx.text("Minutes a week", as_="label", html_for="goal-minutes", size="2", weight="medium"),
            rx.input(
                id="goal-minutes",
                name="weekly_minutes",
                type="number",
                min=MIN_WEEKLY_MINUTES,
                max=MAX_WEEKLY_MINUTES,
                default_value=state.weekly_minutes.to_string(),
                required=True,
                width="8rem",
            ),
            rx.text("Your time zone", as_="label", html_for="goal-zone", size="2", weight="medium"),
            rx.input(id="goal-zone", name="time_zone", default_value=state.time_zone, width="16rem"),
            rx.text(
                "Days and weeks are counted in this zone (for example Europe/Paris).",
                size="1",
                color="var(--gray-11)",
            ),
            rx.el.label(
                rx.checkbox(name="reminders", default_checked=state.reminders),
                rx.text(" Email me once a week if my goal is at risk", size="2", as_="span"),
                style={"display": "flex", "gap": "0.5rem", "align_items": "center"},
            ),
            rx.cond(state.error != "", rx.text(state.error, color="var(--red-11)", size="2", role="alert")),
            rx.hstack(
                rx.button("Save goal", type="submit", color_scheme=ACCENT, size="2"),
                rx.button(
                    "Cancel", type="button", variant="soft", size="2", on_click=GoalState.set_editing(False)
                ),
                spacing="2",
            ),
            spacing="2",
            align="start",
        ),
        on_submit=GoalState.save,
        reset_on_submit=False,
        id="goal-form",
    )


def goal_progress(refresh_on: rx.Var[str] | None = None) -> rx.Component:
    """The card; it loads when shown, and again each time `refresh_on` becomes non-empty
    (the classroom passes its lesson summary, so a finished lesson counts at once)."""
    state = GoalState
    return rx.card(
        rx.cond(refresh_on != "", rx.box(on_mount=GoalState.load))
        if refresh_on is not None
        else rx.fragment(),
        rx.cond(
            state.loaded,
            rx.vstack(
                rx.hstack(
                    rx.heading("This week", as_="h2", size="4"),
                    rx.spacer(),
                    rx.badge(
                        rx.icon("flame", size=14),
                        rx.cond(
                            state.streak_days == 0,
                            "No streak yet",
                            state.streak_days.to_string()
                            + rx.cond(state.streak_days == 1, " day streak", " days streak"),
                        ),
                        color_scheme=rx.cond(state.practised_today, "orange", "gray"),
                        variant="soft",
                        size="2",
                        id="goal-streak",
                    ),
                    width="100%",
                    align="center",
                ),
                rx.progress(value=state.percent, max=100, aria_label="Weekly goal progress"),
                rx.text(
                    state.minutes_done,
                    " of ",
                    state.weekly_minutes,
                    " min practised · ",
                    state.days_left,
                    rx.cond(state.days_left == 1, " day left", " days left"),
                    size="2",
                    id="goal-minutes-done",
                ),
                rx.cond(
                    state.at_risk,
                    rx.text(
                        "Your goal is at risk this week: a short lesson today helps.",
                        size="2",
                        color="var(--orange-11)",
                    ),
                ),
                rx.cond(
                    (state.streak_days > 0) & ~state.practised_today,
                    rx.text("Practise today to keep your streak.", size="2", color="var(--gray-11)"),
                ),
                rx.cond(
                    state.notice != "",
                    rx.text(state.notice, size="2", color="var(--green-11)", role="status"),
                ),
                rx.cond(
                    state.editing,
                    _goal_form(),
                    rx.button("Change goal", variant="ghost", size="1", on_click=GoalState.set_editing(True)),
                ),
                spacing="2",
                width="100%",
            ),
            rx.center(rx.spinner(size="2"), width="100%"),
        ),
        width="100%",
        id="goal-progress",
        on_mount=GoalState.load,
    )
