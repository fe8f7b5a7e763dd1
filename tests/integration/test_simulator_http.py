"""The local Realtime simulator's HTTP surface: keys, refusals, CORS, the validators and
the scripted voices. Calls themselves are in test_simulator_realtime.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from websockets.exceptions import InvalidStatus

from fluentio.settings import SIMULATOR_OPENAI_KEY, Settings
from fluentio.simulator.openai_app import build_openai_simulator
from fluentio.simulator.script import LEARNER_LINES, tutor_lines, tutor_reply
from fluentio.simulator.validation import InvalidEventError, validate_client_event, validate_server_event
from tests.support.sim_server import LearnerPeer, RunningSimulator, running_simulator

pytestmark = pytest.mark.timeout(60)

BAD_SDP = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.fixture(scope="module")
def sim(artifacts_dir: Path) -> Iterator[RunningSimulator]:
    with running_simulator(artifacts_dir / "simulator") as running:
        yield running


def _headers(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


async def test_client_secret_is_shaped_like_openais(sim: RunningSimulator) -> None:
    client = AsyncOpenAI(base_url=sim.base_url, api_key=sim.api_key)
    secret = await client.realtime.client_secrets.create(
        session={"type": "realtime", "instructions": "Be kind.", "audio": {"output": {"voice": "marin"}}},
        expires_after={"anchor": "created_at", "seconds": 120},
    )
    assert secret.value.startswith("ek_")
    assert 100 < secret.expires_at - time.time() <= 120
    assert secret.session.id.startswith("sess_")
    assert secret.session.instructions == "Be kind."
    assert secret.session.audio.output.voice == "marin"
    turn = secret.session.audio.input.turn_detection
    assert turn.type == "server_vad" and turn.interrupt_response and turn.create_response


async def test_wrong_server_key_is_401(sim: RunningSimulator) -> None:
    client = AsyncOpenAI(base_url=sim.base_url, api_key="sk-wrong")
    with pytest.raises(openai.AuthenticationError) as caught:
        await client.realtime.client_secrets.create(session={"type": "realtime"})
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        await client.realtime.calls.create(sdp=BAD_SDP, session={"type": "realtime"})
    with pytest.raises(openai.AuthenticationError):
        await client.realtime.calls.hangup("rtc_nope")
    async with httpx.AsyncClient() as http:
        missing = await http.post(f"{sim.base_url}/realtime/client_secrets", json={})
        assert missing.status_code == 401
        assert "API key" in missing.json()["error"]["message"]
        debug = await http.get(f"{sim.base_url}/_debug/calls", headers=_headers("sk-wrong"))
        assert debug.status_code == 401


async def test_sideband_refuses_wrong_key_and_unknown_call(sim: RunningSimulator) -> None:
    wrong = AsyncOpenAI(base_url=sim.base_url, api_key="sk-wrong")
    with pytest.raises(InvalidStatus):
        async with wrong.realtime.connect(call_id="rtc_whatever"):
            pass
    right = AsyncOpenAI(base_url=sim.base_url, api_key=sim.api_key)
    with pytest.raises(InvalidStatus):
        async with right.realtime.connect(call_id="rtc_unknown"):
            pass


async def test_malformed_sdp_is_400_in_both_signalling_modes(sim: RunningSimulator) -> None:
    client = AsyncOpenAI(base_url=sim.base_url, api_key=sim.api_key)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.realtime.calls.create(sdp=BAD_SDP, session={"type": "realtime"})
    assert caught.value.status_code == 400
    secret = await client.realtime.client_secrets.create(session={"type": "realtime"})
    async with httpx.AsyncClient() as http:
        for body in (BAD_SDP, "hello", ""):
            response = await http.post(
                f"{sim.base_url}/realtime/calls",
                content=body,
                headers=_headers(secret.value, **{"Content-Type": "application/sdp"}),
            )
            assert response.status_code == 400, body
            assert response.json()["error"]["code"] == "invalid_offer"
        wrong_type = await http.post(
            f"{sim.base_url}/realtime/calls", json={"sdp": "x"}, headers=_headers(SIMULATOR_OPENAI_KEY)
        )
        assert wrong_type.status_code == 400


async def test_unknown_and_expired_ephemeral_keys_are_401(sim: RunningSimulator) -> None:
    client = AsyncOpenAI(base_url=sim.base_url, api_key=sim.api_key)
    secret = await client.realtime.client_secrets.create(
        session={"type": "realtime"}, expires_after={"anchor": "created_at", "seconds": 10}
    )
    unknown_peer, expired_peer = LearnerPeer(), LearnerPeer()
    try:
        unknown = await unknown_peer.call_with_ephemeral_key(sim, "ek_" + "0" * 32)
        assert unknown.status_code == 401
        assert unknown.json()["error"]["code"] == "invalid_api_key"
        await asyncio.sleep(max(0.0, secret.expires_at - time.time()) + 0.5)
        expired = await expired_peer.call_with_ephemeral_key(sim, secret.value)
        assert expired.status_code == 401
        assert "expired" in expired.json()["error"]["message"]
    finally:
        await unknown_peer.close()
        await expired_peer.close()
    async with httpx.AsyncClient() as http:
        too_long = await http.post(
            f"{sim.base_url}/realtime/client_secrets",
            json={"expires_after": {"anchor": "created_at", "seconds": 99_999}},
            headers=_headers(SIMULATOR_OPENAI_KEY),
        )
        assert too_long.status_code == 400


async def test_hangup_of_an_unknown_call_is_404(sim: RunningSimulator) -> None:
    client = AsyncOpenAI(base_url=sim.base_url, api_key=sim.api_key)
    with pytest.raises(openai.NotFoundError):
        await client.realtime.calls.hangup("rtc_unknown")


async def test_cors_lets_the_browser_post_from_the_apps_origin(sim: RunningSimulator) -> None:
    origin = "http://127.0.0.1:3000"
    async with httpx.AsyncClient() as http:
        for path in ("/realtime/calls", "/realtime/client_secrets"):
            preflight = await http.options(
                f"{sim.base_url}{path}",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type",
                },
            )
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] in ("*", origin)
            assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        refused = await http.post(
            f"{sim.base_url}/realtime/calls",
            content="v=0",
            headers=_headers("ek_nope", Origin=origin, **{"Content-Type": "application/sdp"}),
        )
        assert refused.headers["access-control-allow-origin"] in ("*", origin)
        assert "location" in refused.headers["access-control-expose-headers"].lower()


def test_settings_point_the_app_at_the_mounted_simulator() -> None:
    settings = Settings(_env_file=None, PORT=3123, OPENAI_API_KEY="")
    assert settings.openai_simulated
    assert settings.openai_url == "http://127.0.0.1:3123/sim/openai/v1"
    assert settings.openai_key == SIMULATOR_OPENAI_KEY


def test_validators_catch_wrong_shapes() -> None:
    validate_server_event(
        {"type": "output_audio_buffer.started", "event_id": "event_1", "response_id": "resp_1"}
    )
    bad_server = [
        {"type": "output_audio_buffer.started", "event_id": "event_1"},
        {"type": "output_audio_buffer.started", "event_id": "event_1", "response_id": "r", "extra": 1},
        {"type": "response.done", "event_id": "e", "response": {"status": "finished"}},
        {"type": "response.done", "event_id": "e", "response": {"usage": {"input_tokenz": 1}}},
        {"type": "no.such.event", "event_id": "e"},
        ["not", "an", "object"],
    ]
    for event in bad_server:
        with pytest.raises(InvalidEventError):
            validate_server_event(event)  # type: ignore[arg-type]
    validate_client_event({"type": "session.update", "session": {"type": "realtime", "instructions": "x"}})
    validate_client_event({"type": "response.create"})
    for event in (
        {"type": "session.update", "session": {"instructions": "x"}},
        {"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0},
        {"type": "response.create", "response": {"output_modalities": ["video"]}},
    ):
        with pytest.raises(InvalidEventError):
            validate_client_event(event)


def test_voices_are_real_speech_with_their_texts() -> None:
    lines = tutor_lines()
    assert len(lines) == 12
    for line in lines:
        assert 2_000 < line.duration_ms < 10_000, line.id
        assert line.pcm.std() > 500, f"{line.id} sounds silent"
        assert line.spoken_text(line.duration_ms) == line.text
        assert line.spoken_text(0) == ""
    assert tutor_reply(0).id == "greeting"
    assert tutor_reply(12).id == tutor_reply(1).id
    assert len(LEARNER_LINES) >= 10


async def test_an_ephemeral_secret_opens_one_call_only(sim: RunningSimulator) -> None:
    client = AsyncOpenAI(base_url=sim.base_url, api_key=sim.api_key)
    secret = await client.realtime.client_secrets.create(session={"type": "realtime"})
    first, second = LearnerPeer(), LearnerPeer()
    try:
        opened = await first.call_with_ephemeral_key(sim, secret.value)
        assert opened.status_code == 201
        # A tampered page re-using the secret gets nothing: the app follows every call.
        reused = await second.call_with_ephemeral_key(sim, secret.value)
        assert reused.status_code == 401
        assert reused.json()["error"]["code"] == "invalid_api_key"
    finally:
        await client.realtime.calls.hangup(first.call_id)
        await first.close()
        await second.close()


@pytest.fixture
def mounted(monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.AsyncClient]:
    """The simulator as `make run` mounts it: no key configured, a development app."""
    for name in ("OPENAI_API_KEY", "FLUENTIO_SIMULATOR_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLUENTIO_ENV", "development")
    monkeypatch.setenv("FLUENTIO_PUBLIC_URL", "http://127.0.0.1:3000")
    transport = httpx.ASGITransport(app=build_openai_simulator())
    yield httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000")


async def test_the_mounted_simulator_answers_only_its_own_app(mounted: httpx.AsyncClient) -> None:
    async with mounted as http:
        # The key every earlier install shared is public: refused.
        for public_key in ("sk-fluentio-local-simulator", "sk-wrong"):
            refused = await http.post("/v1/realtime/client_secrets", json={}, headers=_headers(public_key))
            assert refused.status_code == 401
        # Call records (transcripts, tutor instructions) are not served outside tests,
        # even with the right key.
        for path in ("/v1/_debug/calls", "/v1/_debug/calls/rtc_x/events"):
            assert (await http.get(path, headers=_headers(SIMULATOR_OPENAI_KEY))).status_code == 404
        # A page on another origin may not drive it from a browser.
        preflight = await http.options(
            "/v1/realtime/calls",
            headers={"Origin": "http://127.0.0.1:4000", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers
        # The app that mounted it (this process's key) is served.
        minted = await http.post(
            "/v1/realtime/client_secrets", json={}, headers=_headers(Settings(_env_file=None).openai_key)
        )
        assert minted.status_code == 200 and minted.json()["value"].startswith("ek_")
