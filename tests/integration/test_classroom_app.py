"""The relay endpoint in the real production app, against its built-in simulator (mounted
at /sim/openai in the same process, as `make run` has it without an OpenAI key), with an
aiortc learner in place of the browser."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from sqlmodel import col, select

from fluentio.models import PracticeSession, TranscriptItem
from fluentio.models.billing import LedgerEntry
from fluentio.settings import SIMULATOR_OPENAI_KEY
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.fake_learner import FakeLearner
from tests.support.sessions import signed_in_user


def stored(
    app: RunningApp, session_id: str
) -> tuple[PracticeSession, list[TranscriptItem], list[LedgerEntry]]:
    sid = uuid.UUID(session_id)
    with session_on(app.database_url) as session:
        row = session.get(PracticeSession, sid)
        assert row is not None
        items = list(
            session.exec(
                select(TranscriptItem)
                .where(TranscriptItem.session_id == sid)
                .order_by(col(TranscriptItem.seq))
            )
        )
        entries = list(session.exec(select(LedgerEntry).where(LedgerEntry.practice_session_id == sid)))
        return row, items, entries


async def wait_ended(app: RunningApp, session_id: str, within: float = 20.0) -> PracticeSession:
    deadline = time.monotonic() + within
    while True:
        row, _, _ = stored(app, session_id)
        if row.status in ("ended", "failed"):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(
                f"session {session_id} still {row.status} after {within} s:\n{app.log()[-3000:]}"
            )
        await asyncio.sleep(0.2)


async def test_relay_call_in_the_app_ends_with_the_beacon(app_server: RunningApp) -> None:
    who = signed_in_user(app_server, credits=5)
    learner = FakeLearner()
    try:
        async with httpx.AsyncClient(base_url=app_server.base_url, cookies=who.cookies, timeout=30) as http:
            response = await learner.post_offer(http, "/api/realtime/calls?level=B2&topic=travel")
            assert response.status_code == 201, response.text
            assert SIMULATOR_OPENAI_KEY not in response.text + str(response.headers)
            await learner.connected()
            greeting = await learner.wait_for("response.output_audio_transcript.done", within=25)
            ended = await http.post(f"/api/realtime/calls/{learner.session_id}/end")
            assert ended.status_code == 204
        await learner.wait_closed()
    finally:
        await learner.leave()
    assert learner.session_id is not None
    row, items, entries = stored(app_server, learner.session_id)
    assert row.status == "ended" and row.end_reason == "ended_by_learner" and row.simulated
    assert row.billable_seconds >= 5 and row.charged_millicredits == row.billable_seconds * 1000 // 60
    assert [e.millicredits for e in entries] == [-row.charged_millicredits]
    assert [(i.speaker, i.text) for i in items] == [("tutor", greeting["transcript"])]


async def test_closing_the_tab_ends_and_bills_the_call_once(app_server: RunningApp) -> None:
    who = signed_in_user(app_server, credits=5)
    learner = FakeLearner()
    async with httpx.AsyncClient(base_url=app_server.base_url, cookies=who.cookies, timeout=30) as http:
        response = await learner.post_offer(http, "/api/realtime/calls")
        assert response.status_code == 201, response.text
        await learner.connected()
        await asyncio.sleep(2)
        await learner.leave()  # no End, no beacon
        assert learner.session_id is not None
        row = await wait_ended(app_server, learner.session_id)
        # A beacon arriving late changes nothing.
        assert (await http.post(f"/api/realtime/calls/{learner.session_id}/end")).status_code == 204
    row, _, entries = stored(app_server, learner.session_id)
    assert row.status == "ended" and row.end_reason == "peer_left"
    assert 2 <= row.billable_seconds <= 5 and len(entries) == 1
