"""The goal and unclear-words handlers, sent straight over the websocket: without a
session, or as another learner, they change and reveal nothing; the owner's work."""

from __future__ import annotations

import pytest
from sqlmodel import select

from fluentio.goals.state import GoalState
from fluentio.models import LearningGoal
from fluentio.models.base import utcnow
from fluentio.models.tutor import TranscriptItem
from fluentio.simulator.script import LEARNER_LINES, transcript_logprobs
from fluentio.vocabulary.state import UnclearWordsState
from fluentio.vocabulary.unclear import record_unclear_words
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.feedback_data import add_practice_session
from tests.support.reflex_events import send_event
from tests.support.sessions import signed_in_user

pytestmark = pytest.mark.e2e

FORM = {"form": {"weekly_minutes": "30", "time_zone": "Europe/Paris", "reminders": "on"}}


def goal(app: RunningApp, user_id: object) -> LearningGoal | None:
    with session_on(app.database_url) as session:
        return session.get(LearningGoal, user_id)


def test_saving_a_goal_needs_the_learners_own_session(app_server: RunningApp) -> None:
    owner = signed_in_user(app_server)
    refused = send_event(app_server, GoalState.save, FORM, path="/history")
    assert "Log in again" in str(refused.values(GoalState).get("error", ""))
    assert goal(app_server, owner.user_id) is None

    send_event(app_server, GoalState.save, FORM, cookies=owner.cookies, path="/history")
    saved = goal(app_server, owner.user_id)
    assert saved is not None and (saved.weekly_minutes, saved.time_zone, saved.reminders) == (
        30,
        "Europe/Paris",
        True,
    )


def test_unclear_words_show_only_to_the_lessons_owner(app_server: RunningApp) -> None:
    owner, other = signed_in_user(app_server), signed_in_user(app_server)
    with session_on(app_server.database_url) as session:
        practice = add_practice_session(session, user_id=owner.user_id)
        line = session.exec(
            select(TranscriptItem).where(
                TranscriptItem.session_id == practice.id, TranscriptItem.text == LEARNER_LINES[0]
            )
        ).one()
        line.provider_item_id = "item_a"
        record_unclear_words(
            session=session,
            practice_session_id=practice.id,
            provider_item_id="item_a",
            logprobs=transcript_logprobs(LEARNER_LINES[0]),
            now=utcnow(),
        )
        session.commit()
        path = f"/history/{practice.id}"

    mine = send_event(app_server, UnclearWordsState.load, cookies=owner.cookies, path=path)
    assert [w["word"] for w in mine.values(UnclearWordsState)["words"]] == ["market"]
    for cookies in (other.cookies, None):
        reply = send_event(app_server, UnclearWordsState.load, cookies=cookies, path=path)
        assert not reply.values(UnclearWordsState).get("words") and "market" not in reply.text
