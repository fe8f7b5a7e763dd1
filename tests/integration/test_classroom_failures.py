"""What goes wrong around a call: bad requests to /api/realtime/calls, a provider that
is busy, broken, slow or unreachable, and calls left open by a server that died."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlmodel import col, select
from starlette.applications import Starlette

from fluentio.api.realtime_routes import realtime_routes
from fluentio.auth.cookies import SESSION_COOKIE
from fluentio.auth.sessions import create_login_session
from fluentio.billing import ledger
from fluentio.classroom import calls, recovery, sideband
from fluentio.classroom.errors import NO_CREDITS_MESSAGE, CallRefused
from fluentio.classroom.meter import MeterLimits
from fluentio.classroom.reasons import EndReason
from fluentio.classroom.transcript import SEQ_STEP
from fluentio.db import session_scope
from fluentio.models import Feedback, PracticeSession, TranscriptItem
from fluentio.models.base import utcnow
from fluentio.models.billing import LedgerEntry
from fluentio.settings import get_settings
from tests.support.app_server import free_port
from tests.support.factories import give_credits, make_user
from tests.support.loop_watch import loop_must_not_block

SECRET_KEY = "sk-test-DO-NOT-LEAK-4b1d2c3e9f"
OFFER = (
    "v=0\r\no=- 46117326 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AA:BB\r\n"
)


@dataclass
class FailingProvider:
    """A stand-in for the provider's HTTP API that fails the way we tell it to."""

    base_url: str
    mode: str = "429"
    seen_keys: list[str] = field(default_factory=list)
    hangups: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
async def no_blocking() -> AsyncIterator[None]:
    """Every step of the classroom's own coroutines in these tests stays under a few
    tens of milliseconds (tests/support/loop_watch.py)."""
    async with loop_must_not_block():
        yield


@asynccontextmanager
async def serving(app: web.Application, port: int) -> AsyncIterator[None]:
    """`app` listening on 127.0.0.1:`port` until the block ends."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


@pytest.fixture
async def provider() -> AsyncIterator[FailingProvider]:
    port = free_port()
    state = FailingProvider(base_url=f"http://127.0.0.1:{port}/v1")

    async def create(request: web.Request) -> web.StreamResponse:
        state.seen_keys.append(request.headers.get("Authorization", ""))
        await request.read()
        if state.mode == "429":
            body = {"error": {"message": "Rate limit reached for requests", "type": "requests", "code": None}}
            return web.json_response(body, status=429)
        if state.mode == "500":
            return web.json_response({"error": {"message": "The server had an error"}}, status=500)
        if state.mode == "slow":
            await asyncio.sleep(5)
        if state.mode == "no_location":
            return web.Response(text="v=0\r\n", status=201, content_type="application/sdp")
        return web.json_response({"error": {"message": "nope"}}, status=400)

    async def hangup(request: web.Request) -> web.StreamResponse:
        state.hangups.append(request.match_info["call_id"])
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/v1/realtime/calls", create)
    app.router.add_post("/v1/realtime/client_secrets", create)
    app.router.add_post("/v1/realtime/calls/{call_id}/hangup", hangup)
    async with serving(app, port):
        yield state


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)
    monkeypatch.setenv("FLUENTIO_SECONDS_PER_CREDIT", "60")
    monkeypatch.setenv("FLUENTIO_PROVIDER_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    yield


@pytest.fixture
def on_provider(settings_env: None, provider: FailingProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's settings, with the provider below as OPENAI_BASE_URL."""
    monkeypatch.setenv("OPENAI_BASE_URL", provider.base_url)
    get_settings.cache_clear()


async def refused_start(user_id: uuid.UUID) -> CallRefused:
    """Why an (ephemeral) start of `user_id`'s is refused."""
    with pytest.raises(CallRefused) as refused:
        await calls.mint_ephemeral(user_id=user_id, level="B1", topic="travel", vocabulary=None)
    return refused.value


def make_learner(millicredits: int) -> tuple[uuid.UUID, str]:
    with session_scope() as session:
        user = make_user(session)
        give_credits(session, user.id, millicredits)
        token = create_login_session(session=session, user_id=user.id, user_agent="tests", ip="127.0.0.1")
        return user.id, token


def http_client(token: str | None) -> httpx.AsyncClient:
    cookies = {SESSION_COOKIE: token} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=Starlette(routes=realtime_routes())),
        base_url="http://testserver",
        cookies=cookies,
    )


def sessions_of(user_id: uuid.UUID) -> list[PracticeSession]:
    with session_scope() as session:
        return list(session.exec(select(PracticeSession).where(PracticeSession.user_id == user_id)))


def entries_of(user_id: uuid.UUID) -> list[LedgerEntry]:
    with session_scope() as session:
        return list(session.exec(select(LedgerEntry).where(LedgerEntry.user_id == user_id)))


def balance(user_id: uuid.UUID) -> int:
    with session_scope() as session:
        return ledger.balance(session=session, user_id=user_id)


def assert_leak_free(response: httpx.Response) -> None:
    assert SECRET_KEY not in response.text
    assert all(SECRET_KEY not in value for value in response.headers.values())


# ------------------------------------------------------------------ bad requests


async def test_the_endpoint_refuses_bad_requests_with_clear_json(
    provider: FailingProvider, on_provider: None
) -> None:
    user_id, token = make_learner(5_000)
    broke_id, broke_token = make_learner(0)
    sdp = {"Content-Type": "application/sdp"}
    cases = [
        (None, "/api/realtime/calls", OFFER, sdp, 401, "not_signed_in"),
        ("not-a-real-token", "/api/realtime/calls", OFFER, sdp, 401, "not_signed_in"),
        (broke_token, "/api/realtime/calls", OFFER, sdp, 402, "no_credits"),
        (token, "/api/realtime/calls", "hello there", sdp, 400, "bad_sdp"),
        (token, "/api/realtime/calls", "v=0\r\nm=video 9 UDP 96\r\n", sdp, 400, "bad_sdp"),
        (token, "/api/realtime/calls", OFFER + "a=x:" + "y" * 70_000 + "\r\n", sdp, 413, "sdp_too_large"),
        (token, "/api/realtime/calls", OFFER, {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (token, "/api/realtime/calls?topic=karaoke", OFFER, sdp, 400, "bad_request"),
        (token, "/api/realtime/calls?level=D7", OFFER, sdp, 400, "bad_request"),
        (token, "/api/realtime/calls", OFFER, {**sdp, "Origin": "https://evil.example"}, 403, "forbidden"),
    ]
    for cookie, url, body, headers, status, code in cases:
        async with http_client(cookie) as http:
            response = await http.post(url, content=body, headers=headers)
        assert response.status_code == status, (url, cookie, response.text)
        error = response.json()["error"]
        assert error["code"] == code and error["message"], error
        assert "Traceback" not in response.text
        assert_leak_free(response)
    async with http_client(broke_token) as http:
        no_credits = (await http.post("/api/realtime/calls", content=OFFER, headers=sdp)).json()
    assert no_credits["error"]["message"] == NO_CREDITS_MESSAGE
    # Nothing reached the provider, nothing was recorded or charged.
    assert provider.seen_keys == []
    assert sessions_of(user_id) == [] and sessions_of(broke_id) == []
    assert balance(user_id) == 5_000
    async with http_client(None) as http:
        assert (await http.post(f"/api/realtime/calls/{uuid.uuid4()}/end")).status_code == 401
    async with http_client(token) as http:
        assert (await http.post("/api/realtime/calls/not-a-uuid/end")).status_code == 404


# ------------------------------------------------------------- provider failures


@pytest.mark.parametrize(
    ("mode", "status", "code", "words"),
    [
        ("429", 503, "provider_busy", "busy"),
        ("500", 502, "provider_error", "could not start"),
        ("400", 502, "provider_error", "could not start"),
        ("slow", 504, "provider_timeout", "did not answer in time"),
        ("no_location", 502, "provider_error", "could not start"),
    ],
)
async def test_provider_failures_at_start_cost_nothing_and_say_so(
    settings_env: None,
    provider: FailingProvider,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    status: int,
    code: str,
    words: str,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", provider.base_url)
    get_settings.cache_clear()
    provider.mode = mode
    user_id, token = make_learner(5_000)
    async with http_client(token) as http:
        response = await http.post(
            "/api/realtime/calls", content=OFFER, headers={"Content-Type": "application/sdp"}
        )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"]
    assert "no credits were used" in error["message"]
    assert_leak_free(response)
    # The server key was used, server to provider only.
    assert provider.seen_keys == [f"Bearer {SECRET_KEY}"]
    rows = sessions_of(user_id)
    assert [(r.status, r.end_reason, r.charged_millicredits) for r in rows] == [("failed", code, 0)]
    assert entries_of(user_id)[0].reason == "admin_grant" and len(entries_of(user_id)) == 1
    assert balance(user_id) == 5_000
    status_now = await calls.call_status(user_id=user_id, session_id=rows[0].id)
    assert status_now.status == "failed" and "no credits were used" in status_now.ended_message
    # The learner can try again at once: nothing is left "starting".
    provider.mode = "429"
    async with http_client(token) as http:
        again = await http.post(
            "/api/realtime/calls", content=OFFER, headers={"Content-Type": "application/sdp"}
        )
    assert again.status_code == 503


async def test_unreachable_provider_and_ephemeral_mint_failures(
    settings_env: None, provider: FailingProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    get_settings.cache_clear()
    user_id, _ = make_learner(5_000)
    with pytest.raises(CallRefused) as refused:
        await calls.start_relay_call(
            user_id=user_id, offer_sdp=OFFER, level="B1", topic="travel", vocabulary=None
        )
    assert (refused.value.code, refused.value.http_status) == ("provider_unreachable", 503)
    assert "unreachable" in refused.value.message and "no credits were used" in refused.value.message

    monkeypatch.setenv("OPENAI_BASE_URL", provider.base_url)
    get_settings.cache_clear()
    for mode, expected in (("429", 503), ("500", 502), ("slow", 504)):
        provider.mode = mode
        with pytest.raises(CallRefused) as refused:
            await calls.mint_ephemeral(user_id=user_id, level="B1", topic="travel", vocabulary=["ticket"])
        assert refused.value.http_status == expected
        assert SECRET_KEY not in refused.value.message
    rows = sessions_of(user_id)
    assert len(rows) == 4 and {r.status for r in rows} == {"failed"}
    assert balance(user_id) == 5_000


# --------------------------------------------------------------------- recovery


def live_row(user_id: uuid.UUID, *, started_ago: float, seen_ago: float | None, call_id: str) -> uuid.UUID:
    now = utcnow()
    with session_scope() as session:
        row = PracticeSession(
            user_id=user_id,
            status="live",
            topic="small_talk",
            level="B1",
            provider_call_id=call_id,
            created_at=now - timedelta(seconds=started_ago + 1),
            started_at=now - timedelta(seconds=started_ago),
            last_seen_at=None if seen_ago is None else now - timedelta(seconds=seen_ago),
            input_audio_tokens=1_000,
            output_audio_tokens=2_000,
        )
        session.add(row)
    return row.id


async def test_startup_recovery_finalises_a_stale_live_call_once(
    provider: FailingProvider, on_provider: None
) -> None:
    user_id, _ = make_learner(10_000)
    call_id = f"rtc_stale_{uuid.uuid4().hex[:8]}"
    # The server died 40 s after its last heartbeat, 100 s into the call.
    session_id = live_row(user_id, started_ago=100, seen_ago=40, call_id=call_id)

    finalised = await recovery.recover_at_startup()
    assert session_id in finalised
    assert session_id not in await recovery.recover_at_startup()
    await asyncio.sleep(0.3)  # the background hang-up
    assert call_id in provider.hangups

    with session_scope() as session:
        row = session.get(PracticeSession, session_id)
        entries = list(session.exec(select(LedgerEntry).where(LedgerEntry.practice_session_id == session_id)))
        job = session.exec(select(Feedback).where(Feedback.session_id == session_id)).first()
    assert row is not None and row.status == "ended" and row.end_reason == "server_restart"
    assert row.billable_seconds == 60 and row.charged_millicredits == 1_000
    assert row.cost_estimate_microusd > 0 and job is not None
    assert len(entries) == 1 and entries[0].millicredits == -1_000
    assert balance(user_id) == 9_000


async def test_the_sweep_leaves_fresh_calls_alone_and_frees_stuck_starts(
    provider: FailingProvider, on_provider: None
) -> None:
    user_id, _ = make_learner(10_000)
    fresh = live_row(user_id, started_ago=60, seen_ago=3, call_id=f"rtc_fresh_{uuid.uuid4().hex[:8]}")
    assert fresh not in await asyncio.to_thread(recovery.finalise_stale_calls, user_id=user_id)
    with session_scope() as session:
        assert session.get(PracticeSession, fresh).status == "live"  # type: ignore[union-attr]
    # While it is "live" the learner cannot start another one…
    assert (await refused_start(user_id)).http_status == 409
    # …until its heartbeat is old: then a new start finalises it first.
    with session_scope() as session:
        row = session.get(PracticeSession, fresh)
        assert row is not None
        row.last_seen_at = utcnow() - timedelta(seconds=45)
        session.add(row)
    provider.mode = "429"
    assert (await refused_start(user_id)).http_status == 503  # it got as far as the provider
    with session_scope() as session:
        old = session.get(PracticeSession, fresh)
    assert old is not None and old.status == "ended" and old.end_reason == "server_restart"
    assert old.billable_seconds == 15 and old.charged_millicredits == 250
    assert balance(user_id) == 10_000 - 250

    # A start that never connected (ephemeral secret never used) expires for free.
    other_id, _ = make_learner(10_000)
    with session_scope() as session:
        stuck = PracticeSession(
            user_id=other_id,
            status="starting",
            topic="travel",
            level="A2",
            signaling="ephemeral",
            created_at=utcnow() - timedelta(seconds=recovery.STARTING_TTL_SECONDS + 5),
        )
        session.add(stuck)
    assert stuck.id in await asyncio.to_thread(recovery.finalise_stale_calls, user_id=other_id)
    with session_scope() as session:
        gone = session.get(PracticeSession, stuck.id)
    assert gone is not None and gone.status == "failed" and gone.end_reason == "never_connected"
    assert balance(other_id) == 10_000


async def test_a_start_bills_the_learners_stale_call_before_it_checks_the_balance(on_provider: None) -> None:
    # 15 s of a call nobody follows any more (heartbeat 45 s old) cost exactly what is left.
    user_id, _ = make_learner(250)
    stale = live_row(user_id, started_ago=60, seen_ago=45, call_id=f"rtc_stale_{uuid.uuid4().hex[:8]}")
    refused = await refused_start(user_id)
    assert refused.http_status == 402 and refused.message == NO_CREDITS_MESSAGE
    # The stale call was billed; no new session was opened.
    assert [(row.id, row.status, row.charged_millicredits) for row in sessions_of(user_id)] == [
        (stale, "ended", 250)
    ]
    assert balance(user_id) == 0


# ------------------------------------------------------- the sideband, scripted


@dataclass
class ScriptedSideband:
    """A provider whose sideband plays a script per connection: each connection gets
    the next list of events, then is closed normally ("close"), dropped ("drop"), or
    left open ("hold") until hung up, then sends `after_hangup` (`final_delay` later).
    A hang-up is answered `hangup_delay` after it arrives (a provider under load)."""

    base_url: str
    scripts: list[tuple[list[dict[str, object]], str]] = field(default_factory=list)
    received: list[dict[str, object]] = field(default_factory=list)
    connections: int = 0
    hangups: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    after_hangup: list[dict[str, object]] = field(default_factory=list)
    hangup_delay: float = 0.0
    final_delay: float = 0.0
    call_ended_at: datetime | None = None


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedSideband]:
    port = free_port()
    state = ScriptedSideband(base_url=f"http://127.0.0.1:{port}/v1")

    async def sideband(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        index = state.connections
        state.connections += 1
        if index >= len(state.scripts):
            await ws.close(code=1000)
            return ws
        events, ending = state.scripts[index]
        await ws.send_json({"type": "session.created", "event_id": "e0", "session": {}})

        async def read() -> None:
            async for message in ws:
                if message.type == web.WSMsgType.TEXT:
                    state.received.append(message.json())

        reader = asyncio.create_task(read())
        for event in events:
            await ws.send_json(event)
        if ending == "hold":
            await state.release.wait()
            await asyncio.sleep(state.final_delay)
            for event in state.after_hangup:
                await ws.send_json(event)
        else:
            await asyncio.sleep(0.3)
        if ending == "drop":
            assert request.transport is not None
            request.transport.abort()
        else:
            await ws.close(code=1000)
        reader.cancel()
        return ws

    async def hangup(request: web.Request) -> web.StreamResponse:
        state.hangups.append(request.match_info["call_id"])
        await asyncio.sleep(state.hangup_delay)
        state.call_ended_at = utcnow()  # the provider's clock stops here
        state.release.set()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/v1/realtime", sideband)
    app.router.add_post("/v1/realtime/calls/{call_id}/hangup", hangup)
    try:
        async with serving(app, port):
            yield state
    finally:
        state.release.set()


def starting_row(user_id: uuid.UUID, call_id: str) -> uuid.UUID:
    with session_scope() as session:
        row = PracticeSession(
            user_id=user_id, status="starting", topic="small_talk", level="B1", provider_call_id=call_id
        )
        session.add(row)
    return row.id


def speech(item_id: str, text: str) -> list[dict[str, object]]:
    return [
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 100, "item_id": item_id},
        {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 1500, "item_id": item_id},
        {"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
         "content_index": 0, "transcript": text},
    ]  # fmt: skip


def answer(item_id: str, text: str, *, response_id: str) -> list[dict[str, object]]:
    return [
        {"type": "response.output_item.added", "response_id": response_id, "output_index": 0,
         "item": {"id": item_id, "type": "message", "role": "assistant"}},
        {"type": "response.output_audio_transcript.done", "response_id": response_id, "item_id": item_id,
         "output_index": 0, "content_index": 0, "transcript": text},
        {"type": "response.done", "response": {"id": response_id, "status": "completed", "output": [],
         "usage": {"input_token_details": {"text_tokens": 100, "audio_tokens": 50, "cached_tokens": 10},
                   "output_token_details": {"text_tokens": 20, "audio_tokens": 200}}}},
    ]  # fmt: skip


async def test_sideband_drop_reconnects_without_losing_or_duplicating_items(
    settings_env: None, scripted: ScriptedSideband, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", scripted.base_url)
    get_settings.cache_clear()
    greeting = answer("item_t1", "Hello! How are you today?", response_id="resp_1")
    first = [*greeting, *speech("item_l1", "I am fine thanks.")]
    # The second connection replays the last turn, then the call goes on and ends.
    second = [
        *speech("item_l1", "I am fine, thanks."),
        *answer("item_t2", "Great to hear.", response_id="resp_2"),
    ]
    scripted.scripts = [(first, "drop"), (second, "close")]
    user_id, _ = make_learner(10_000)
    session_id = starting_row(user_id, "rtc_scripted_1")
    running = sideband.start_supervision(
        session_id=session_id,
        user_id=user_id,
        call_id="rtc_scripted_1",
        timings=sideband.CallTimings(greeting_delay=0.05),
    )
    await asyncio.wait_for(running.finalised.wait(), 15)

    assert scripted.connections == 2
    assert {"type": "response.create"} in scripted.received  # the tutor greets first, once
    assert scripted.received.count({"type": "response.create"}) == 1
    with session_scope() as session:
        row = session.get(PracticeSession, session_id)
        items = list(
            session.exec(
                select(TranscriptItem)
                .where(TranscriptItem.session_id == session_id)
                .order_by(col(TranscriptItem.seq))
            )
        )
    assert [(i.seq, i.speaker, i.text) for i in items] == [
        (0, "tutor", "Hello! How are you today?"),
        (SEQ_STEP, "learner", "I am fine, thanks."),
        (2 * SEQ_STEP, "tutor", "Great to hear."),
    ]
    assert items[1].started_ms == 100 and items[1].ended_ms == 1500
    assert row is not None and row.status == "ended" and row.end_reason == "peer_left"
    assert (row.input_text_tokens, row.input_audio_tokens, row.cached_input_tokens) == (200, 100, 20)
    assert (row.output_text_tokens, row.output_audio_tokens) == (40, 400)
    assert row.billable_seconds >= 1 and row.charged_millicredits == row.billable_seconds * 1000 // 60
    assert scripted.hangups == ["rtc_scripted_1"]  # never left running unsupervised


async def test_interrupted_answer_keeps_only_what_was_heard(
    settings_env: None, scripted: ScriptedSideband, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that cancels the answer but does not truncate it: the supervisor
    cuts the stored text to the words heard and sends conversation.item.truncate."""
    monkeypatch.setenv("OPENAI_BASE_URL", scripted.base_url)
    get_settings.cache_clear()
    long_text = " ".join(f"word{i}" for i in range(40))  # ~13 s at the nominal rate
    events: list[dict[str, object]] = [
        {"type": "response.output_item.added", "response_id": "resp_1", "output_index": 0,
         "item": {"id": "item_t1", "type": "message", "role": "assistant"}},
        {"type": "output_audio_buffer.started", "response_id": "resp_1"},
        {"type": "response.output_audio_transcript.done", "response_id": "resp_1", "item_id": "item_t1",
         "output_index": 0, "content_index": 0, "transcript": long_text},
    ]  # fmt: skip
    cut: list[dict[str, Any]] = [
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 900, "item_id": "item_l1"},
        {"type": "response.done", "response": {"id": "resp_1", "status": "cancelled",
         "status_details": {"type": "cancelled", "reason": "turn_detected"},
         "output": [{"id": "item_t1", "type": "message", "role": "assistant"}]}},
    ]  # fmt: skip
    scripted.scripts = [([*events], "hold")]
    user_id, _ = make_learner(10_000)
    session_id = starting_row(user_id, "rtc_scripted_2")
    running = sideband.start_supervision(
        session_id=session_id,
        user_id=user_id,
        call_id="rtc_scripted_2",
        timings=sideband.CallTimings(truncate_grace=0.1),
    )
    await asyncio.sleep(2.0)  # the learner hears ~2 s of the answer, then cuts in
    for event in cut:
        await running.dispatch(event)  # as if received on the sideband
    await asyncio.sleep(0.5)
    truncates = [e for e in scripted.received if e.get("type") == "conversation.item.truncate"]
    assert len(truncates) == 1 and truncates[0]["item_id"] == "item_t1"
    heard_ms = int(truncates[0]["audio_end_ms"])  # type: ignore[call-overload]
    assert 1_800 <= heard_ms <= 2_600
    await running.stop(EndReason.ENDED_BY_LEARNER)
    with session_scope() as session:
        item = session.exec(select(TranscriptItem).where(TranscriptItem.session_id == session_id)).one()
    assert item.truncated and item.speaker == "tutor"
    words = item.text.split()
    assert words == long_text.split()[: len(words)] and 4 <= len(words) <= 9


async def test_the_time_limit_hangs_up(
    settings_env: None, scripted: ScriptedSideband, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", scripted.base_url)
    get_settings.cache_clear()
    # FLUENTIO_MAX_SESSION_MINUTES is whole minutes: the meter is given a 3 s limit.
    scripted.scripts = [([], "hold")]
    user_id, _ = make_learner(10_000)
    session_id = starting_row(user_id, "rtc_scripted_3")
    running = sideband.start_supervision(
        session_id=session_id, user_id=user_id, call_id="rtc_scripted_3", limits=MeterLimits(max_seconds=3)
    )
    await asyncio.wait_for(running.finalised.wait(), 15)
    assert scripted.hangups == ["rtc_scripted_3"]
    with session_scope() as session:
        row = session.get(PracticeSession, session_id)
    assert row is not None and row.end_reason == "time_limit" and 3 <= row.billable_seconds <= 4
    assert balance(user_id) == 10_000 - row.charged_millicredits and row.charged_millicredits > 0


async def test_a_slow_hang_up_is_heard_out_and_billed_on_the_provider_clock(
    settings_env: None, scripted: ScriptedSideband, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End: the hang-up takes 1.5 s to reach a busy provider, which then reports the turn
    in progress 1 s later. The sideband stays open for it (its tokens are in the cost),
    and the charge runs to the provider's end, not to the moment End was pressed."""
    monkeypatch.setenv("OPENAI_BASE_URL", scripted.base_url)
    monkeypatch.setenv("FLUENTIO_PROVIDER_TIMEOUT_SECONDS", "5")
    get_settings.cache_clear()
    scripted.scripts = [([], "hold")]
    scripted.hangup_delay, scripted.final_delay = 1.5, 1.0
    scripted.after_hangup = [
        {"type": "response.done", "response": {"id": "resp_last", "status": "cancelled", "output": [],
         "usage": {"input_token_details": {"text_tokens": 7, "audio_tokens": 300},
                   "output_token_details": {"text_tokens": 5, "audio_tokens": 900}}}},
    ]  # fmt: skip
    user_id, _ = make_learner(10_000)
    session_id = starting_row(user_id, "rtc_scripted_4")
    answered = utcnow()
    running = sideband.start_supervision(
        session_id=session_id, user_id=user_id, call_id="rtc_scripted_4", answered_at=answered
    )
    await asyncio.sleep(3)
    await running.stop(EndReason.ENDED_BY_LEARNER)
    with session_scope() as session:
        row = session.get(PracticeSession, session_id)
    assert row is not None and row.status == "ended" and scripted.call_ended_at is not None
    assert (row.input_audio_tokens, row.output_audio_tokens) == (300, 900)
    assert row.cost_estimate_microusd > 0
    provider_seconds = (scripted.call_ended_at - answered).total_seconds()
    assert provider_seconds >= 4.4
    assert abs(row.billable_seconds - provider_seconds) <= 0.5
    assert row.charged_millicredits == row.billable_seconds * 1000 // 60


async def test_deleting_an_account_hangs_up_its_open_call_first(
    provider: FailingProvider, on_provider: None
) -> None:
    user_id, _ = make_learner(10_000)
    call_id = f"rtc_open_{uuid.uuid4().hex[:8]}"
    session_id = live_row(user_id, started_ago=30, seen_ago=1, call_id=call_id)

    assert await calls.end_open_calls(user_id=user_id, reason=EndReason.ACCOUNT_DELETED) == 1
    assert await calls.end_open_calls(user_id=user_id, reason=EndReason.ACCOUNT_DELETED) == 0
    assert call_id in provider.hangups
    with session_scope() as session:
        row = session.get(PracticeSession, session_id)
        entries = list(session.exec(select(LedgerEntry).where(LedgerEntry.practice_session_id == session_id)))
    assert row is not None and row.status == "ended" and row.end_reason == "account_deleted"
    assert row.billable_seconds >= 29 and len(entries) == 1
