"""The classroom's preference and microphone-check handlers, sent straight over the
websocket: without a session they change nothing; the learner's own session does."""

from __future__ import annotations

from sqlmodel import select

from fluentio.classroom.state import ClassroomState
from fluentio.models import ClassroomPreferences
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.reflex_events import send_events
from tests.support.sessions import signed_in_user

CHANGES = [
    (ClassroomState.set_push_to_talk, {"value": True}),
    (ClassroomState.set_backchannel, {"value": "stop"}),
    (ClassroomState.set_audio_setup, {"value": "headphones"}),
    (ClassroomState.on_mic_check, {"peak_dbfs": -12, "noise_dbfs": -65, "speech_ms": 1200}),
]


def stored_rows(app: RunningApp) -> list[ClassroomPreferences]:
    with session_on(app.database_url) as s:
        rows = list(s.exec(select(ClassroomPreferences)))
        s.expunge_all()
        return rows


def test_visitors_cannot_write_preferences_and_learners_can(app_server: RunningApp) -> None:
    who = signed_in_user(app_server, credits=1)
    before = {row.user_id for row in stored_rows(app_server)}
    send_events(app_server, CHANGES, path="/classroom")
    assert {row.user_id for row in stored_rows(app_server)} == before

    reply = send_events(app_server, CHANGES, cookies=who.cookies, path="/classroom")
    assert reply.values(ClassroomState)["mic_verdict"] == "good"
    mine = next(row for row in stored_rows(app_server) if row.user_id == who.user_id)
    assert mine.push_to_talk and mine.backchannel == "stop" and mine.audio_setup == "headphones"
    assert mine.mic_checked_at is not None
