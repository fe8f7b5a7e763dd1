"""How time is counted and shown (fluentio/clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from fluentio.clock import format_duration, week_start


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45, "45 s"), (60, "1 min"), (65, "1 min 5 s"), (125, "2 min 5 s"), (-3, "0 s")],
)
def test_durations_read_one_way(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_a_week_starts_at_monday_midnight_in_the_moments_own_zone() -> None:
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert week_start(sunday_night) == datetime(2026, 11, 23, tzinfo=UTC)
    assert week_start(datetime(2026, 11, 30, 0, 0, tzinfo=UTC)) == datetime(2026, 11, 30, tzinfo=UTC)
    tokyo = timezone(timedelta(hours=9))
    assert week_start(datetime(2026, 11, 30, 8, 0, tzinfo=tokyo)) == datetime(2026, 11, 30, tzinfo=tokyo)
