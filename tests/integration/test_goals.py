"""Goals and streaks (fluentio/goals/): practice days in the learner's own time zone
across midnight, the week's minutes, "at risk", and the reminder — sent once a week,
never after unsubscribing. Times are injected; both engines."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient

from fluentio.db import session_scope
from fluentio.goals import reminders
from fluentio.goals.routes import goal_routes
from fluentio.goals.service import GoalError, is_at_risk, progress, save_goal, streak_length
from fluentio.models import LearningGoal, PracticeSession
from tests.support.factories import make_user


def lesson(session: Session, user_id: uuid.UUID, started: datetime, seconds: int = 600) -> None:
    session.add(
        PracticeSession(
            user_id=user_id,
            status="ended",
            topic="small_talk",
            level="B1",
            created_at=started,
            started_at=started,
            ended_at=started + timedelta(seconds=seconds),
            billable_seconds=seconds,
        )
    )
    session.flush()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_streak_counts_back_from_today_or_yesterday() -> None:
    today = date(2026, 3, 4)
    days = {date(2026, 3, 2), date(2026, 3, 3)}
    assert streak_length(days, today) == 2  # today still open: the streak is kept
    assert streak_length(days | {today}, today) == 3
    assert streak_length(days, date(2026, 3, 5)) == 0  # a whole day missed
    assert streak_length(set(), today) == 0


def test_practice_days_follow_the_learners_zone_across_midnight(db: Session) -> None:
    tokyo, london = make_user(db), make_user(db)
    for user in (tokyo, london):
        # 23:30 and 00:30 in Tokyo (UTC+9) — both on Monday 2 March in London (UTC).
        lesson(db, user.id, utc(2026, 3, 2, 14, 30))
        lesson(db, user.id, utc(2026, 3, 2, 15, 30))
    now = utc(2026, 3, 3, 1, 0)  # Tuesday 10:00 in Tokyo, 01:00 in London
    save_goal(
        session=db, user_id=tokyo.id, weekly_minutes=60, time_zone="Asia/Tokyo", reminders=False, now=now
    )
    save_goal(
        session=db, user_id=london.id, weekly_minutes=60, time_zone="Europe/London", reminders=False, now=now
    )
    in_tokyo = progress(session=db, user_id=tokyo.id, now=now)
    in_london = progress(session=db, user_id=london.id, now=now)
    assert (in_tokyo.streak_days, in_tokyo.practised_today) == (2, True)
    assert (in_london.streak_days, in_london.practised_today) == (1, False)
    # Wednesday 23:59 in Tokyo: not practised today, the streak still stands; a minute
    # later a day was missed.
    assert progress(session=db, user_id=tokyo.id, now=utc(2026, 3, 4, 14, 59)).streak_days == 2
    assert progress(session=db, user_id=tokyo.id, now=utc(2026, 3, 4, 15, 0)).streak_days == 0


def test_week_minutes_start_at_monday_midnight_in_the_learners_zone(db: Session) -> None:
    user = make_user(db)
    lesson(db, user.id, utc(2026, 3, 1, 14, 0), seconds=900)  # Sunday 06:00 in Los Angeles: last week
    lesson(db, user.id, utc(2026, 3, 2, 9, 0), seconds=1200)  # Monday 01:00 in LA: this week
    lesson(db, user.id, utc(2026, 3, 2, 7, 0), seconds=300)  # Sunday 23:00 in LA: last week
    now = utc(2026, 3, 5, 20, 0)  # Thursday noon in LA
    reminders_on(db, user.id, 60, "America/Los_Angeles", now)
    week = progress(session=db, user_id=user.id, now=now)
    assert (week.minutes_done, week.weekly_minutes, week.percent) == (20, 60, 33)
    assert week.week == "2026-03-02" and week.days_left == 4
    assert week.at_risk and week.reminders


def test_at_risk_only_from_thursday_and_when_behind() -> None:
    thursday = datetime(2026, 3, 5, 12, 0)
    assert is_at_risk(minutes_done=10, weekly_minutes=60, local_now=thursday)
    assert not is_at_risk(minutes_done=30, weekly_minutes=60, local_now=thursday)  # 3.5/7 of the week gone
    assert not is_at_risk(minutes_done=0, weekly_minutes=60, local_now=datetime(2026, 3, 4, 23, 0))
    assert not is_at_risk(minutes_done=60, weekly_minutes=60, local_now=datetime(2026, 3, 8, 23, 0))


def test_a_goal_out_of_range_or_in_an_unknown_zone_is_refused(db: Session) -> None:
    user = make_user(db)
    now = utc(2026, 3, 2)
    with pytest.raises(GoalError, match="between 5 and 1000"):
        save_goal(session=db, user_id=user.id, weekly_minutes=2, time_zone="UTC", reminders=False, now=now)
    with pytest.raises(GoalError, match="time zone"):
        save_goal(
            session=db, user_id=user.id, weekly_minutes=60, time_zone="Mars/Olympus", reminders=False, now=now
        )


def reminders_on(session: Session, user_id: uuid.UUID, weekly_minutes: int, zone: str, now: datetime) -> None:
    """The learner's weekly goal, in their time zone, with email reminders."""
    save_goal(
        session=session,
        user_id=user_id,
        weekly_minutes=weekly_minutes,
        time_zone=zone,
        reminders=True,
        now=now,
    )


class Outbox:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = False

    def send(self, message: EmailMessage) -> None:
        if self.fail:
            raise OSError("SMTP server unreachable")
        self.sent.append(message)


async def test_the_reminder_is_sent_once_a_week_and_never_after_unsubscribing(use_database: str) -> None:
    with session_scope() as session:
        user = make_user(session)
        lesson(session, user.id, utc(2026, 3, 2, 9, 0), seconds=600)
        reminders_on(session, user.id, 90, "Europe/Paris", utc(2026, 3, 2))
        user_id = user.id
    outbox = Outbox()
    clock = [utc(2026, 3, 4, 12, 0)]  # Wednesday: not at risk yet

    class Checks:  # what the periodic `goals.send_reminders` task runs, at the test's clock
        @staticmethod
        async def run_once() -> int:
            return await asyncio.to_thread(reminders.send_due_reminders, now=clock[0], sender=outbox)

    loop = Checks()

    def mine() -> list[EmailMessage]:
        return [m for m in outbox.sent if m["To"] == user.email]

    await loop.run_once()
    assert mine() == []

    clock[0] = utc(2026, 3, 5, 9, 0)  # Thursday 10:00 in Paris, 10 of 90 minutes
    outbox.fail = True  # the first try fails: nothing marked, tried again next time
    await loop.run_once()
    outbox.fail = False
    await loop.run_once()
    clock[0] = utc(2026, 3, 6, 9, 0)  # Friday, still behind: same week, no second email
    await loop.run_once()
    [email] = mine()
    assert email["Subject"] == "Your weekly speaking goal"
    assert "10 of your 90 minutes" in email.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = email["List-Unsubscribe"].strip("<>")
    assert link.startswith(reminders.unsubscribe_link(user_id).split("?")[0])

    clock[0] = utc(2026, 3, 12, 9, 0)  # next Thursday, nothing practised: one more
    await loop.run_once()
    assert len(mine()) == 2

    client = TestClient(Starlette(routes=goal_routes()))
    path = urlsplit(link)
    token = parse_qs(path.query)["token"][0]
    forged = client.post(
        path.path, params={"token": token[:-3] + "abc"}, data={"List-Unsubscribe": "One-Click"}
    )
    assert forged.status_code == 400 and "does not work" in forged.text
    page = client.get(path.path, params={"token": token})
    assert page.status_code == 200 and '<form method="post"' in page.text
    with session_scope() as session:
        assert session.get(LearningGoal, user_id).reminders  # type: ignore[union-attr]  # GET changes nothing
    done = client.post(path.path, params={"token": token}, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "unsubscribed" in done.text

    clock[0] = utc(2026, 3, 19, 9, 0)  # a week later, still at risk: nothing
    await loop.run_once()
    assert len(mine()) == 2
    with session_scope() as session:
        assert session.get(LearningGoal, user_id).reminders is False  # type: ignore[union-attr]


def test_workers_checking_at_once_send_one_reminder(use_database: str) -> None:
    with session_scope() as session:
        user = make_user(session)
        reminders_on(session, user.id, 120, "UTC", utc(2026, 4, 6))
    outbox = Outbox()
    thursday = utc(2026, 4, 9, 18, 0)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: reminders.send_due_reminders(now=thursday, sender=outbox), range(4)))
    assert [m["To"] for m in outbox.sent].count(user.email) == 1
