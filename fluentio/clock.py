"""Time as Fluentio counts and shows it: the Monday a week starts on, and durations in words.

Every place that shows a length of time to a learner or an admin calls `format_duration`,
so a lesson reads the same on the classroom, its summary and History.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def week_start(moment: datetime) -> datetime:
    """Midnight on the Monday of `moment`'s week, in `moment`'s own time zone."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def format_duration(seconds: int) -> str:
    """`45 s`, `2 min`, `1 min 5 s` (never negative)."""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    if minutes and rest:
        return f"{minutes} min {rest} s"
    return f"{minutes} min" if minutes else f"{rest} s"
