"""Goals and streaks (owner of `learning_goals`).

A practice day is a calendar day, in the learner's time zone, on which a lesson of theirs
started and was charged at least a second. The streak counts consecutive practice days
up to today — or up to yesterday while today is still open, so a streak is not lost at
midnight before the learner had a chance to practise. Weeks start on Monday at midnight
in the learner's zone (`fluentio.clock.week_start`).

Writes take a keyword-only `session`; the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlmodel import Session, col, func, select

from fluentio.clock import week_start
from fluentio.models import LearningGoal, PracticeSession

DEFAULT_WEEKLY_MINUTES = 60
MIN_WEEKLY_MINUTES = 5
MAX_WEEKLY_MINUTES = 1_000
# The week's goal is "at risk" from Thursday on, when less is done than the share of the
# week that has gone by: early enough to catch up, late enough not to nag.
AT_RISK_FROM_WEEKDAY = 3
# A streak longer than this is shown as this (it bounds the query).
MAX_STREAK_DAYS = 400


class GoalError(ValueError):
    """A goal the learner entered that cannot be saved; the message is for them."""


@dataclass(frozen=True)
class GoalProgress:
    weekly_minutes: int
    minutes_done: int
    percent: int
    streak_days: int
    practised_today: bool
    days_left: int  # in this week, today included
    at_risk: bool
    time_zone: str
    reminders: bool
    week: str  # the week's Monday, ISO date, in the learner's zone


def zone(name: str | None) -> ZoneInfo:
    """The named IANA zone, or UTC when the name is missing or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_time_zone(name: str) -> bool:
    return name in available_timezones()


def streak_length(days: Iterable[date], today: date) -> int:
    """Consecutive practice days ending today, or yesterday if today has none yet."""
    practised = set(days)
    day = today if today in practised else today - timedelta(days=1)
    count = 0
    while day in practised:
        count += 1
        day -= timedelta(days=1)
    return count


def is_at_risk(*, minutes_done: int, weekly_minutes: int, local_now: datetime) -> bool:
    if minutes_done >= weekly_minutes or local_now.weekday() < AT_RISK_FROM_WEEKDAY:
        return False
    elapsed = (local_now - week_start(local_now)) / timedelta(days=7)
    return minutes_done < weekly_minutes * elapsed


def get_goal(*, session: Session, user_id: uuid.UUID) -> LearningGoal | None:
    return session.get(LearningGoal, user_id)


def save_goal(
    *,
    session: Session,
    user_id: uuid.UUID,
    weekly_minutes: int,
    time_zone: str,
    reminders: bool,
    now: datetime,
) -> LearningGoal:
    if not MIN_WEEKLY_MINUTES <= weekly_minutes <= MAX_WEEKLY_MINUTES:
        raise GoalError(
            f"Choose a weekly goal between {MIN_WEEKLY_MINUTES} and {MAX_WEEKLY_MINUTES} minutes."
        )
    if not is_time_zone(time_zone):
        raise GoalError("That time zone is not one we know. Pick your city's zone from the list.")
    goal = session.get(LearningGoal, user_id) or LearningGoal(user_id=user_id)
    goal.weekly_minutes = weekly_minutes
    goal.time_zone = time_zone
    goal.reminders = reminders
    goal.updated_at = now
    session.add(goal)
    session.flush()
    return goal


def end_of_today(*, session: Session, user_id: uuid.UUID, now: datetime) -> datetime:
    """Midnight at the end of the learner's day (in their saved zone; UTC before they save one)."""
    goal = session.get(LearningGoal, user_id)
    local = now.astimezone(zone(goal.time_zone if goal else None))
    tomorrow = (local + timedelta(days=1)).date()
    return datetime.combine(tomorrow, datetime.min.time(), tzinfo=local.tzinfo).astimezone(UTC)


def progress(
    *, session: Session, user_id: uuid.UUID, now: datetime, browser_zone: str | None = None
) -> GoalProgress:
    """This week's minutes against the goal, and the streak, in the learner's zone (the
    saved one; before a goal is saved, the browser's)."""
    goal = session.get(LearningGoal, user_id)
    tz = zone(goal.time_zone if goal else browser_zone)
    local_now = now.astimezone(tz)
    monday = week_start(local_now)
    started = func.coalesce(col(PracticeSession.started_at), col(PracticeSession.created_at))
    charged = col(PracticeSession.billable_seconds) > 0
    seconds = session.exec(
        select(func.coalesce(func.sum(PracticeSession.billable_seconds), 0)).where(
            PracticeSession.user_id == user_id, charged, started >= monday.astimezone(UTC)
        )
    ).one()
    since = (local_now - timedelta(days=MAX_STREAK_DAYS)).astimezone(UTC)
    moments = session.exec(
        select(started).where(PracticeSession.user_id == user_id, charged, started >= since)
    ).all()
    days = {moment.astimezone(tz).date() for moment in moments if moment is not None}
    weekly = goal.weekly_minutes if goal else DEFAULT_WEEKLY_MINUTES
    minutes = int(seconds) // 60
    return GoalProgress(
        weekly_minutes=weekly,
        minutes_done=minutes,
        percent=min(100, minutes * 100 // max(1, weekly)),
        streak_days=streak_length(days, local_now.date()),
        practised_today=local_now.date() in days,
        days_left=7 - local_now.weekday(),
        at_risk=is_at_risk(minutes_done=minutes, weekly_minutes=weekly, local_now=local_now),
        time_zone=tz.key,
        reminders=bool(goal and goal.reminders),
        week=monday.date().isoformat(),
    )
