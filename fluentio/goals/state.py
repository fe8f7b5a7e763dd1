"""The state behind the goal card on the classroom and History pages."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.event import EventSpec

from fluentio.auth.state import signed_in_user
from fluentio.db import session_scope
from fluentio.goals.service import GoalError, GoalProgress, is_time_zone, progress, save_goal
from fluentio.models.base import utcnow

# The browser's own IANA zone, reported once the card is on screen.
BROWSER_ZONE_JS = "Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'"


class GoalState(rx.State):
    loaded: bool = False
    weekly_minutes: int = 0
    minutes_done: int = 0
    percent: int = 0
    streak_days: int = 0
    practised_today: bool = False
    days_left: int = 0
    at_risk: bool = False
    time_zone: str = ""
    reminders: bool = False
    browser_zone: str = ""
    editing: bool = False
    error: str = ""
    notice: str = ""

    def _show(self, week: GoalProgress) -> None:
        self.weekly_minutes = week.weekly_minutes
        self.minutes_done = week.minutes_done
        self.percent = week.percent
        self.streak_days = week.streak_days
        self.practised_today = week.practised_today
        self.days_left = week.days_left
        self.at_risk = week.at_risk
        self.time_zone = week.time_zone
        self.reminders = week.reminders
        self.loaded = True

    def _refresh(self) -> None:
        user = signed_in_user(self)
        if user is None:
            return
        with session_scope() as session:
            self._show(
                progress(session=session, user_id=user.id, now=utcnow(), browser_zone=self.browser_zone)
            )

    @rx.event
    def load(self) -> EventSpec:
        self.error = ""
        self.notice = ""
        return rx.call_script(BROWSER_ZONE_JS, callback=GoalState.got_browser_zone)

    @rx.event
    def got_browser_zone(self, zone: str) -> None:
        self.browser_zone = zone if isinstance(zone, str) and is_time_zone(zone) else "UTC"
        self._refresh()

    @rx.event
    def set_editing(self, editing: bool) -> None:
        self.editing = editing
        self.error = ""

    @rx.event
    def save(self, form: dict[str, Any]) -> None:
        user = signed_in_user(self)
        if user is None:
            self.error = "Your session has ended. Log in again to change your goal."
            return
        try:
            minutes = int(str(form.get("weekly_minutes", "")).strip())
        except ValueError:
            self.error = "Enter your weekly goal as a number of minutes, for example 60."
            return
        zone = str(form.get("time_zone") or self.browser_zone or "UTC").strip()
        try:
            with session_scope() as session:
                save_goal(
                    session=session,
                    user_id=user.id,
                    weekly_minutes=minutes,
                    time_zone=zone,
                    reminders=bool(form.get("reminders")),
                    now=utcnow(),
                )
        except GoalError as exc:
            self.error = str(exc)
            return
        self.editing = False
        self.error = ""
        self.notice = "Goal saved."
        self._refresh()
