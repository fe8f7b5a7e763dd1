"""What the history pages read: paged sessions, progress, one session's detail with
mistakes marked, and the recurring patterns that go back into the classroom."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, select

from fluentio.feedback import history, jobs
from fluentio.feedback.patterns import rank_patterns, recurring_patterns
from fluentio.models import Feedback, FeedbackStatus
from fluentio.models.base import utcnow
from fluentio.models.tutor import Correction, TranscriptItem
from tests.support.factories import make_user
from tests.support.feedback_data import add_feedback, add_practice_session


def test_sessions_are_listed_newest_first_one_page_at_a_time(pg: Session) -> None:
    user, other = make_user(pg), make_user(pg)
    start = utcnow() - timedelta(days=30)
    made = [
        add_practice_session(pg, user_id=user.id, created_at=start + timedelta(hours=i), topic=f"Topic {i}")
        for i in range(45)
    ]
    add_practice_session(pg, user_id=other.id)
    add_practice_session(pg, user_id=user.id, status="starting")  # never connected: not listed

    first, more = history.list_sessions(session=pg, user_id=user.id, page=1)
    assert len(first) == history.PAGE_SIZE and more
    assert [row.topic for row in first[:3]] == ["Topic 44", "Topic 43", "Topic 42"]
    third, more = history.list_sessions(session=pg, user_id=user.id, page=3)
    assert [row.topic for row in third] == [f"Topic {i}" for i in range(4, -1, -1)] and not more
    assert {row.id for row in first} <= {str(p.id) for p in made}
    assert history.count_sessions(session=pg, user_id=user.id)[0] == 45


def test_each_row_says_where_its_feedback_is(pg: Session) -> None:
    user = make_user(pg)
    now = utcnow()
    states = {}
    for i, status in enumerate(["done", "pending", "failed", "skipped", None]):
        practice = add_practice_session(
            pg, user_id=user.id, created_at=now - timedelta(minutes=i), seconds=90
        )
        if status == "done":
            add_feedback(pg, practice)
        elif status is not None:
            pg.add(Feedback(session_id=practice.id, status=status))
        states[str(practice.id)] = status
    pg.flush()
    rows, _ = history.list_sessions(session=pg, user_id=user.id)
    by_id = {row.id: row for row in rows}
    labels = {states[i]: (row.feedback, row.can_retry) for i, row in by_id.items()}
    assert labels == {
        "done": ("Feedback ready", False),
        "pending": ("Analysing…", False),
        "failed": ("Feedback not ready — retry", True),
        "skipped": ("Not enough speech to analyse", False),
        None: ("No feedback", True),
    }
    row = next(iter(by_id.values()))
    assert row.minutes == "1.5" and row.credits == "1.5 credits"


def test_progress_is_useful_with_one_session(pg: Session) -> None:
    user = make_user(pg)
    practice = add_practice_session(pg, user_id=user.id, seconds=600)
    add_feedback(pg, practice, level="B1", corrections=3, learner_words=150)

    figures = history.progress(session=pg, user_id=user.id)
    assert (figures.sessions, figures.minutes, figures.analysed, figures.latest_level) == (1, 10, 1, "B1")
    assert figures.weekly_minutes == [{"week": figures.weekly_minutes[0]["week"], "minutes": 10.0}]
    assert figures.mistakes == [{"date": figures.mistakes[0]["date"], "per_100_words": 2.0}]
    assert figures.levels[0]["rank"] == 3
    assert figures.patterns == [{"pattern": "Past simple: present tense used for past events", "sessions": 1}]


def test_progress_over_many_weeks(pg: Session) -> None:
    user = make_user(pg)
    now = utcnow()
    levels = ["A2", "B1", "B1", "B2"]
    for week in range(20):
        practice = add_practice_session(
            pg, user_id=user.id, created_at=now - timedelta(weeks=week), seconds=300 * (week % 3 + 1)
        )
        patterns = ["Articles: a/an"] + (["Past simple"] if week % 2 else [])
        add_feedback(pg, practice, level=levels[week % 4], patterns=patterns, corrections=week % 5)
    figures = history.progress(session=pg, user_id=user.id, now=now)
    assert figures.sessions == 20
    assert len(figures.weekly_minutes) == history.CHART_WEEKS
    assert figures.weekly_minutes[-1]["minutes"] == 5.0  # this week's session
    assert len(figures.mistakes) == 20 and len(figures.levels) == 20
    assert figures.patterns[0] == {"pattern": "Articles: a/an", "sessions": 20}
    assert figures.patterns[1] == {"pattern": "Past simple", "sessions": 10}


def test_the_detail_marks_each_mistake_in_place(pg: Session) -> None:
    user = make_user(pg)
    practice = add_practice_session(
        pg, user_id=user.id, learner_lines=["Well, yesterday I go to the park.", "Fine."]
    )
    items = pg.exec(select(TranscriptItem).where(TranscriptItem.session_id == practice.id)).all()
    item = next(i for i in items if i.speaker == "learner" and "park" in i.text)
    feedback = Feedback(
        session_id=practice.id, status=FeedbackStatus.DONE.value, cefr_level="A2", learner_words=8
    )
    pg.add(feedback)
    pg.flush()
    pg.add(
        Correction(
            feedback_id=feedback.id,
            position=0,
            original="yesterday I go to the park",
            corrected="Yesterday I went to the park.",
            explanation="Past simple.",
            transcript_item_id=item.id,
        )
    )
    pg.add(  # no item link: found by searching the learner's lines
        Correction(
            feedback_id=feedback.id, position=1, original="Fine", corrected="I'm fine.", explanation=""
        )
    )
    pg.add(  # not in the transcript at all: listed, not marked
        Correction(feedback_id=feedback.id, position=2, original="elsewhere", corrected="x", explanation="")
    )
    pg.flush()

    detail = history.session_detail(session=pg, user_id=user.id, practice_session_id=practice.id)
    assert detail is not None
    assert detail.feedback_label == "Feedback ready" and detail.level == "A2"
    assert [c.number for c in detail.corrections] == [1, 2, 3]
    assert detail.corrections[0].audio_url.startswith(f"/api/speech/{detail.corrections[0].id}?k=")
    learner = [line for line in detail.lines if line.learner]
    park = learner[0].segments
    assert [(s.text, s.marked) for s in park] == [
        ("Well, ", False),
        ("yesterday I go to the park", True),
        (".", False),
    ]
    assert park[1].note == "1. Yesterday I went to the park."
    assert [(s.text, s.marked) for s in learner[1].segments] == [("Fine", True), (".", False)]
    assert all(not s.marked for line in detail.lines if not line.learner for s in line.segments)


def test_the_detail_is_only_for_the_owner(pg: Session) -> None:
    owner, other = make_user(pg), make_user(pg)
    practice = add_practice_session(pg, user_id=owner.id)
    assert history.session_detail(session=pg, user_id=other.id, practice_session_id=practice.id) is None
    assert history.session_detail(session=pg, user_id=owner.id, practice_session_id=uuid.uuid4()) is None
    detail = history.session_detail(session=pg, user_id=owner.id, practice_session_id=practice.id)
    assert detail is not None and detail.feedback_label == "No feedback"


def test_failed_and_skipped_feedback_explain_themselves(pg: Session) -> None:
    user = make_user(pg)
    failed = add_practice_session(pg, user_id=user.id)
    skipped = add_practice_session(pg, user_id=user.id)
    pg.add(Feedback(session_id=failed.id, status="failed", last_error="The analysis service failed (503)."))
    pg.add(Feedback(session_id=skipped.id, status="skipped", last_error=jobs.NOT_ENOUGH_SPEECH))
    pg.flush()
    one = history.session_detail(session=pg, user_id=user.id, practice_session_id=failed.id)
    two = history.session_detail(session=pg, user_id=user.id, practice_session_id=skipped.id)
    assert one is not None and two is not None
    assert one.feedback_label == "Feedback not ready — retry"
    assert "transcript is saved" in one.feedback_note and "503" not in one.feedback_note
    assert one.lines  # the transcript is still shown
    assert two.feedback_note == jobs.NOT_ENOUGH_SPEECH


def test_recurring_patterns_rank_repeated_and_recent_first(pg: Session) -> None:
    user = make_user(pg)
    now = utcnow()
    sessions = [
        ["Articles: a/an", "Past simple: present tense for past events"],  # newest
        ["past simple: present tense for past events."],
        ["Third person -s", "Past Simple: present tense for past events"],
        ["Third person -s"],
        ["Prepositions"],
        ["Prepositions"],  # outside the five most recent
    ]
    for age, patterns in enumerate(sessions):
        practice = add_practice_session(pg, user_id=user.id, created_at=now - timedelta(days=age))
        add_feedback(pg, practice, patterns=patterns)
    ranked = recurring_patterns(session=pg, user_id=user.id)
    assert ranked == [
        "Past simple: present tense for past events",
        "Third person -s",
        "Articles: a/an",
        "Prepositions",
    ]
    assert recurring_patterns(session=pg, user_id=make_user(pg).id) == []


def test_rank_patterns_prefers_recent_when_counts_tie() -> None:
    assert rank_patterns([["New"], ["Old"]], limit=5) == ["New", "Old"]
    assert rank_patterns([["A"], ["B"], ["B"]], limit=1) == ["B"]
