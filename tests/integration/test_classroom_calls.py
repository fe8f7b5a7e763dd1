"""Live calls end to end against the Realtime simulator (run alone, as OpenAI would be)
with an aiortc learner peer: signalling in both modes, the sideband's transcripts,
metering, hang-ups and charging exactly once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, select
from starlette.applications import Starlette

from fluentio.api.realtime_routes import realtime_routes
from fluentio.auth.cookies import SESSION_COOKIE
from fluentio.auth.sessions import create_login_session
from fluentio.billing import ledger
from fluentio.classroom import calls, lifecycle, recovery, sideband
from fluentio.classroom.errors import NO_CREDITS_MESSAGE, CallRefused
from fluentio.classroom.reasons import EndReason
from fluentio.classroom.transcript import SEQ_STEP
from fluentio.db import in_transaction, session_scope
from fluentio.models import Feedback, PracticeSession, TranscriptItem
from fluentio.models.base import utcnow
from fluentio.models.billing import Actor, LedgerEntry, LedgerReason
from fluentio.settings import SIMULATOR_OPENAI_KEY, get_settings
from fluentio.simulator.script import LEARNER_LINES, tutor_lines
from tests.support.factories import give_credits, make_user
from tests.support.fake_learner import FakeLearner
from tests.support.loop_watch import loop_must_not_block
from tests.support.sim_server import LearnerPeer, RunningSimulator, running_simulator

GREETING = tutor_lines()[0].text


@pytest.fixture(autouse=True)
async def no_blocking() -> AsyncIterator[None]:
    """Every step of the classroom's own coroutines in these tests stays under a few
    tens of milliseconds (tests/support/loop_watch.py)."""
    async with loop_must_not_block():
        yield


@pytest.fixture(scope="module")
def simulator(artifacts_dir: Path) -> Iterator[RunningSimulator]:
    with running_simulator(artifacts_dir) as sim:
        yield sim


@pytest.fixture
async def classroom(
    monkeypatch: pytest.MonkeyPatch, pg_url: str, simulator: RunningSimulator
) -> AsyncIterator[RunningSimulator]:
    """The app's settings on the test database and the simulator; every call this test
    started is ended and every learner peer closed afterwards."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("OPENAI_BASE_URL", simulator.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("FLUENTIO_SECONDS_PER_CREDIT", "60")
    get_settings.cache_clear()
    yield simulator
    await sideband.shutdown_all(EndReason.SERVER_SHUTDOWN)
    for learner in LEARNERS:
        await learner.leave()
    LEARNERS.clear()


LEARNERS: list[FakeLearner] = []


def new_learner() -> FakeLearner:
    learner = FakeLearner()
    LEARNERS.append(learner)
    return learner


def make_learner(millicredits: int) -> uuid.UUID:
    with session_scope() as session:
        user = make_user(session)
        give_credits(session, user.id, millicredits)
        return user.id


def row(session_id: str) -> PracticeSession:
    with session_scope() as session:
        found = session.get(PracticeSession, uuid.UUID(session_id))
        assert found is not None
        return found


def transcript(session_id: str) -> list[TranscriptItem]:
    with session_scope() as session:
        return list(
            session.exec(
                select(TranscriptItem)
                .where(TranscriptItem.session_id == uuid.UUID(session_id))
                .order_by(col(TranscriptItem.seq))
            )
        )


def usage_entries(session_id: str) -> list[LedgerEntry]:
    with session_scope() as session:
        return list(
            session.exec(select(LedgerEntry).where(LedgerEntry.practice_session_id == uuid.UUID(session_id)))
        )


def balance(user_id: uuid.UUID) -> int:
    with session_scope() as session:
        return ledger.balance(session=session, user_id=user_id)


def open_rows(user_id: uuid.UUID) -> list[PracticeSession]:
    with session_scope() as session:
        return list(
            session.exec(
                select(PracticeSession).where(
                    PracticeSession.user_id == user_id,
                    col(PracticeSession.status).in_(lifecycle.OPEN_STATUSES),
                )
            )
        )


async def wait_until(predicate: object, within: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.1)


def assert_charged_once(session_id: str, user_id: uuid.UUID, start_balance: int) -> PracticeSession:
    final = row(session_id)
    entries = usage_entries(session_id)
    assert len(entries) == 1, entries
    assert entries[0].reason == LedgerReason.SESSION_USAGE.value
    assert entries[0].idempotency_key == f"session-usage:{session_id}"
    assert -entries[0].millicredits == final.charged_millicredits
    assert balance(user_id) == start_balance - final.charged_millicredits
    return final


# ----------------------------------------------------------------------- relay


async def test_relay_call_records_both_sides_and_charges_connected_seconds_once(
    classroom: RunningSimulator,
) -> None:
    user_id = make_learner(30_000)
    learner = new_learner()
    began = time.monotonic()
    started = await learner.start_relay(user_id=user_id, topic="small_talk", vocabulary="market, apples")
    assert started.answer_sdp.startswith("v=0") and "m=audio" in started.answer_sdp
    assert started.call_id.startswith("rtc_") and started.simulated is True
    stored = row(started.session_id)
    assert stored.provider_call_id == started.call_id and stored.signaling == "relay"
    assert "market" in stored.instructions and stored.target_vocabulary == ["market", "apples"]
    await learner.connected()
    assert row(started.session_id).status == "live"

    # The tutor greets first; the learner cuts in halfway through the greeting.
    await learner.wait_for("output_audio_buffer.started")
    await asyncio.sleep(2.5)
    await learner.say("learner_hello.wav")
    truncated = await learner.wait_for("conversation.item.truncated")
    heard_greeting = await learner.wait_for(
        "response.output_audio_transcript.done", item_id=truncated["item_id"]
    )
    said = await learner.wait_for("conversation.item.input_audio_transcription.completed")
    # The tutor's answer plays to the end.
    await learner.wait_for("output_audio_buffer.stopped", after=learner.events.index(said))
    status = await calls.call_status(user_id=user_id, session_id=started.session_id)
    assert status.status == "live" and status.seconds_connected >= 5
    assert 0 < 30 * 60 - status.seconds_left - status.seconds_connected <= 2

    await calls.end_call(user_id=user_id, session_id=started.session_id)
    elapsed = time.monotonic() - began
    await calls.end_call(user_id=user_id, session_id=started.session_id)  # idempotent

    final = assert_charged_once(started.session_id, user_id, 30_000)
    assert final.status == "ended" and final.end_reason == "ended_by_learner"
    assert 5 <= final.billable_seconds <= elapsed + 1
    assert final.charged_millicredits == final.billable_seconds * 1000 // 60
    assert final.input_audio_tokens > 0 and final.output_audio_tokens > 0 and final.cost_estimate_microusd > 0
    await learner.wait_closed()

    items = transcript(started.session_id)
    assert [(i.seq, i.speaker) for i in items] == [
        (0, "tutor"),
        (SEQ_STEP, "learner"),
        (2 * SEQ_STEP, "tutor"),
    ]
    greeting, learner_item, answer = items
    # Only what the learner heard of the greeting is kept.
    assert greeting.truncated and greeting.text == heard_greeting["transcript"]
    assert 0 < len(greeting.text) < len(GREETING) and GREETING.startswith(greeting.text)
    assert learner_item.text == LEARNER_LINES[0] and not learner_item.truncated
    assert answer.text == tutor_lines()[1].text and not answer.truncated
    assert items[0].provider_item_id == truncated["item_id"]

    with session_scope() as session:
        job = session.exec(
            select(Feedback).where(Feedback.session_id == uuid.UUID(started.session_id))
        ).first()
    assert job is not None
    ended = await calls.call_status(user_id=user_id, session_id=started.session_id)
    assert ended.status == "ended" and "Lesson ended" in ended.ended_message


async def test_relay_over_http_with_the_login_cookie(classroom: RunningSimulator) -> None:
    user_id = make_learner(5_000)
    with session_scope() as session:
        token = create_login_session(session=session, user_id=user_id, user_agent="tests", ip="127.0.0.1")
    app = Starlette(routes=realtime_routes())
    learner = new_learner()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", cookies={SESSION_COOKIE: token}
    ) as http:
        response = await learner.post_offer(
            http, "/api/realtime/calls?level=C1&topic=tech_standup&vocabulary=blocker,rollback"
        )
        assert response.status_code == 201, response.text
        assert response.headers["content-type"].startswith("application/sdp")
        session_id = response.headers["X-Fluentio-Session"]
        assert response.headers["Location"] == f"/api/realtime/calls/{session_id}"
        assert response.headers["X-Fluentio-Call"].startswith("rtc_")
        for text in (response.text, str(response.headers)):
            assert SIMULATOR_OPENAI_KEY not in text
        await learner.connected()
        stored = row(session_id)
        assert (stored.level, stored.topic) == ("C1", "tech_standup")
        assert "Tech stand-up" in stored.instructions and '"rollback"' in stored.instructions

        # A second tab cannot start another call.
        second = await new_learner().post_offer(http, "/api/realtime/calls")
        assert second.status_code == 409 and second.json()["error"]["code"] == "already_in_call"

        await asyncio.sleep(1.5)
        # The page's beacon on pagehide ends it at once; again is harmless.
        assert (await http.post(f"/api/realtime/calls/{session_id}/end")).status_code == 204
        assert (await http.post(f"/api/realtime/calls/{session_id}/end")).status_code == 204
        other = await http.post(f"/api/realtime/calls/{uuid.uuid4()}/end")
        assert other.status_code == 404
    final = assert_charged_once(session_id, user_id, 5_000)
    assert final.status == "ended" and final.end_reason == "ended_by_learner"
    assert open_rows(user_id) == []


async def test_one_live_call_per_learner(classroom: RunningSimulator) -> None:
    user_id = make_learner(10_000)
    first = new_learner()
    started = await first.start_relay(user_id=user_id)
    await first.connected()
    with pytest.raises(CallRefused) as refused:
        await new_learner().start_relay(user_id=user_id)
    assert (refused.value.code, refused.value.http_status) == ("already_in_call", 409)
    with pytest.raises(CallRefused) as refused:
        await calls.mint_ephemeral(user_id=user_id, level="B1", topic="travel", vocabulary=None)
    assert refused.value.http_status == 409
    assert [r.id for r in open_rows(user_id)] == [uuid.UUID(started.session_id)]
    await calls.end_call(user_id=user_id, session_id=started.session_id)
    # Once it has ended, a new one can start.
    again = new_learner()
    restarted = await again.start_relay(user_id=user_id)
    await calls.end_call(user_id=user_id, session_id=restarted.session_id)


async def test_zero_credits_and_anonymous_cannot_start(classroom: RunningSimulator) -> None:
    broke = make_learner(0)
    for attempt in (
        new_learner().start_relay(user_id=broke),
        calls.mint_ephemeral(user_id=broke, level="B1", topic="travel", vocabulary=None),
    ):
        with pytest.raises(CallRefused) as refused:
            await attempt
        assert (refused.value.code, refused.value.http_status) == ("no_credits", 402)
        assert refused.value.message == NO_CREDITS_MESSAGE and "(/" not in refused.value.message
    with pytest.raises(CallRefused) as refused:
        await calls.mint_ephemeral(user_id=None, level="B1", topic="travel", vocabulary=None)
    assert refused.value.http_status == 401
    with pytest.raises(CallRefused) as refused:
        await calls.end_call(user_id=None, session_id=str(uuid.uuid4()))
    assert refused.value.http_status == 401
    with session_scope() as session:
        assert session.exec(select(PracticeSession).where(PracticeSession.user_id == broke)).first() is None


# ------------------------------------------------------------------- ephemeral


async def test_ephemeral_mint_attach_and_end(classroom: RunningSimulator) -> None:
    user_id = make_learner(10_000)
    learner = new_learner()
    grant = await learner.start_ephemeral(user_id=user_id, topic="ordering_food")
    assert grant.client_secret.startswith("ek_") and grant.client_secret != SIMULATOR_OPENAI_KEY
    assert grant.calls_url == f"{classroom.base_url}/realtime/calls"
    assert grant.expires_at - time.time() <= 61
    await learner.connected()
    stored = row(grant.session_id)
    assert stored.signaling == "ephemeral" and stored.provider_call_id == learner.call_id
    # The secret is spent: a tampered page cannot open a second call the server never follows.
    sneaky = LearnerPeer()
    try:
        reused = await sneaky.call_with_ephemeral_key(classroom, grant.client_secret)
        assert reused.status_code == 401
    finally:
        await sneaky.close()
    # Reporting the same call again is harmless; another lesson cannot take it.
    await calls.attach_call(user_id=user_id, session_id=grant.session_id, call_id=learner.call_id or "")
    other_user = make_learner(10_000)
    other = await calls.mint_ephemeral(user_id=other_user, level="A2", topic="travel", vocabulary=None)
    with pytest.raises(CallRefused) as refused:
        await calls.attach_call(
            user_id=other_user, session_id=other.session_id, call_id=learner.call_id or ""
        )
    assert (refused.value.code, refused.value.http_status) == ("call_id_used", 409)
    with pytest.raises(CallRefused) as refused:
        await calls.attach_call(user_id=other_user, session_id=grant.session_id, call_id="rtc_x")
    assert refused.value.http_status == 404  # not theirs
    await calls.abandon_start(user_id=other_user, session_id=other.session_id, reason=EndReason.ABANDONED)
    assert row(other.session_id).status == "failed" and usage_entries(other.session_id) == []

    await learner.wait_for("response.output_audio_transcript.done", within=20)
    await calls.end_call(user_id=user_id, session_id=grant.session_id)
    final = assert_charged_once(grant.session_id, user_id, 10_000)
    assert final.status == "ended" and final.billable_seconds >= 5
    tutor = transcript(grant.session_id)
    assert tutor and tutor[0].speaker == "tutor" and tutor[0].text == GREETING


# --------------------------------------------------------------------- metering


async def one_credit_call(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[uuid.UUID, FakeLearner, calls.StartedCall]:
    """A learner with one credit (3 s of talk) in a connected relay call."""
    monkeypatch.setenv("FLUENTIO_SECONDS_PER_CREDIT", "3")
    get_settings.cache_clear()
    user_id = make_learner(1_000)
    learner = new_learner()
    started = await learner.start_relay(user_id=user_id)
    await learner.connected()
    return user_id, learner, started


async def test_one_credit_is_warned_then_hung_up_at_zero(
    classroom: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id, learner, started = await one_credit_call(monkeypatch)
    await wait_until(lambda: row(started.session_id).status == "live", what="live")
    status = await calls.call_status(user_id=user_id, session_id=started.session_id)
    assert status.low_balance and status.seconds_left <= 3
    await wait_until(lambda: row(started.session_id).status == "ended", within=15, what="hang-up")
    final = assert_charged_once(started.session_id, user_id, 1_000)
    assert final.end_reason == "out_of_credits" and final.low_balance_warned
    assert final.charged_millicredits == 1_000 and balance(user_id) == 0
    assert 3 <= final.billable_seconds <= 5
    await learner.wait_closed()
    ended = await calls.call_status(user_id=user_id, session_id=started.session_id)
    assert ended.seconds_left == 0 and "credits ran out" in ended.ended_message
    assert "(/" not in ended.ended_message, "the page links to the packs; the words carry no raw path"
    # The tutor was told to wrap up.
    notes = [e for e in classroom.call_events(started.call_id)["client"] if e["source"] == "sideband"]
    assert any(e["event"]["type"] == "conversation.item.create" for e in notes)
    assert all(e["valid"] for e in notes)
    with pytest.raises(CallRefused) as refused:
        await new_learner().start_relay(user_id=user_id)
    assert refused.value.http_status == 402


async def test_a_purchase_mid_call_extends_it(
    classroom: RunningSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id, _, started = await one_credit_call(monkeypatch)
    with session_scope() as session:
        ledger.grant(
            session=session,
            user_id=user_id,
            millicredits=1_000,
            reason=LedgerReason.PURCHASE,
            idempotency_key=f"test-purchase:{user_id}",
            actor=Actor.PAYMENT_PROVIDER,
        )
    await asyncio.sleep(4)
    assert row(started.session_id).status == "live"
    await wait_until(lambda: row(started.session_id).status == "ended", within=10, what="hang-up")
    final = assert_charged_once(started.session_id, user_id, 2_000)
    assert final.end_reason == "out_of_credits" and balance(user_id) == 0
    assert 6 <= final.billable_seconds <= 8


# --------------------------------------------------------------- ways to end


async def test_learner_disappearing_finalises_the_call_once(classroom: RunningSimulator) -> None:
    user_id = make_learner(10_000)
    learner = new_learner()
    started = await learner.start_relay(user_id=user_id)
    await learner.connected()
    await learner.wait_for("output_audio_buffer.started")
    await asyncio.sleep(1.5)  # talk a little, so there is something to charge
    await learner.leave()  # tab closed, network gone: no End, no beacon
    await wait_until(lambda: row(started.session_id).status == "ended", within=12, what="finalised")
    final = assert_charged_once(started.session_id, user_id, 10_000)
    assert final.end_reason == "peer_left" and final.billable_seconds >= 1
    await asyncio.sleep(1)
    await calls.end_call(user_id=user_id, session_id=started.session_id)  # too late: no-op
    assert len(usage_entries(started.session_id)) == 1


async def test_end_button_racing_the_sideband_close_charges_once(classroom: RunningSimulator) -> None:
    user_id = make_learner(10_000)
    learner = new_learner()
    started = await learner.start_relay(user_id=user_id)
    await learner.connected()
    await asyncio.sleep(2)
    await asyncio.gather(
        calls.end_call(user_id=user_id, session_id=started.session_id),
        learner.leave(),
        calls.end_call(user_id=user_id, session_id=started.session_id, reason=EndReason.NETWORK_LOST),
        in_transaction(
            lifecycle.finalise,
            session_id=uuid.UUID(started.session_id),
            reason=EndReason.PEER_LEFT,
            settings=get_settings(),
        ),
    )
    await wait_until(lambda: sideband.get_supervisor(uuid.UUID(started.session_id)) is None, what="stopped")
    final = assert_charged_once(started.session_id, user_id, 10_000)
    assert final.status == "ended" and 1 <= final.billable_seconds <= 4


async def test_an_error_report_after_the_tutor_spoke_is_charged_and_its_usage_kept(
    classroom: RunningSimulator,
) -> None:
    user_id = make_learner(10_000)
    learner = new_learner()
    started = await learner.start_relay(user_id=user_id)
    await learner.connected()
    sid = uuid.UUID(started.session_id)
    await learner.wait_for("response.output_audio_transcript.done", within=20)
    running = sideband.get_supervisor(sid)
    assert running is not None
    await wait_until(lambda: running.tutor_spoke, what="the supervisor heard the greeting")
    # Well inside the grace period, but the tutor has talked: not a free lesson.
    await calls.abandon_start(user_id=user_id, session_id=started.session_id, reason=EndReason.ABANDONED)
    await wait_until(lambda: sideband.get_supervisor(sid) is None, what="stopped")
    final = assert_charged_once(started.session_id, user_id, 10_000)
    assert final.status == "ended" and final.billable_seconds >= 1 and final.charged_millicredits > 0
    assert final.output_audio_tokens > 0 and final.cost_estimate_microusd > 0


async def test_starts_are_limited_per_learner_per_hour(classroom: RunningSimulator) -> None:
    user_id = make_learner(10_000)
    with session_scope() as session:
        for _ in range(calls.MAX_STARTS_PER_HOUR):
            session.add(
                PracticeSession(
                    user_id=user_id,
                    status="failed",
                    topic="travel",
                    level="B1",
                    signaling="relay",
                    created_at=utcnow() - timedelta(minutes=40),
                )
            )
    with pytest.raises(CallRefused) as refused:
        await calls.mint_ephemeral(user_id=user_id, level="B1", topic="travel", vocabulary=None)
    assert (refused.value.code, refused.value.http_status) == ("too_many_starts", 429)
    assert "about 20 minutes" in refused.value.message
    assert open_rows(user_id) == []
    # An hour after those starts the learner may start again.
    with session_scope() as session:
        for old in session.exec(select(PracticeSession).where(PracticeSession.user_id == user_id)):
            old.created_at = utcnow() - calls.START_WINDOW - timedelta(minutes=1)
            session.add(old)
    grant = await calls.mint_ephemeral(user_id=user_id, level="B1", topic="travel", vocabulary=None)
    await calls.abandon_start(user_id=user_id, session_id=grant.session_id, reason=EndReason.ABANDONED)


async def test_abandon_before_connecting_costs_nothing(classroom: RunningSimulator) -> None:
    user_id = make_learner(10_000)
    learner = new_learner()
    started = await learner.start_relay(user_id=user_id)
    # The browser could not use the answer (say) and gives up at once.
    await calls.abandon_start(user_id=user_id, session_id=started.session_id, reason=EndReason.ABANDONED)
    final = row(started.session_id)
    assert final.status == "failed" and final.end_reason == "abandoned"
    assert final.charged_millicredits == 0 and usage_entries(started.session_id) == []
    await wait_until(lambda: sideband.get_supervisor(uuid.UUID(started.session_id)) is None, what="stopped")
    await wait_until(
        lambda: classroom_state(classroom, started.call_id) == "ended", what="provider call hung up"
    )
    assert balance(user_id) == 10_000


def classroom_state(sim: RunningSimulator, call_id: str) -> str:
    response = httpx.get(f"{sim.base_url}/_debug/calls", headers={"Authorization": f"Bearer {sim.api_key}"})
    return next((c["state"] for c in response.json()["data"] if c["call_id"] == call_id), "missing")


async def test_shutdown_hangs_up_and_finalises_live_calls(classroom: RunningSimulator) -> None:
    user_id = make_learner(10_000)
    learner = new_learner()
    lifespan = recovery.classroom_lifespan()
    await lifespan.__aenter__()
    started = await learner.start_relay(user_id=user_id)
    await learner.connected()
    await asyncio.sleep(1.5)
    await lifespan.__aexit__(None, None, None)
    final = assert_charged_once(started.session_id, user_id, 10_000)
    assert final.status == "ended" and final.end_reason == "server_shutdown"
    assert classroom_state(classroom, started.call_id) == "ended"
