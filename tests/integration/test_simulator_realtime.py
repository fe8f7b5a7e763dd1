"""The local Realtime simulator in real calls: a fake learner (an aiortc peer sending
speech WAVs) and a server-side follower on the sideband WebSocket, through both ways of
signalling the app uses. Every event the simulator sent must validate against the openai
SDK's server-event types, every event it received against the client-event types.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed

from fluentio.simulator.script import learner_transcript, tutor_reply
from fluentio.simulator.validation import validate_client_event, validate_server_event
from tests.support.sim_server import (
    AUDIO_DIR,
    RATE,
    LearnerPeer,
    RunningSimulator,
    read_wav_48k,
    running_simulator,
    speech_onset_s,
)

pytestmark = pytest.mark.timeout(60)

SESSION: dict[str, Any] = {
    "type": "realtime",
    "model": "gpt-realtime-mini",
    "instructions": "You are a patient English tutor. Topic: daily life.",
    "audio": {
        "input": {
            "transcription": {"model": "gpt-4o-mini-transcribe"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 400, "interrupt_response": True},
        },
        "output": {"voice": "alloy"},
    },
}


@pytest.fixture(scope="module")
def sim(artifacts_dir: Path) -> Iterator[RunningSimulator]:
    with running_simulator(artifacts_dir / "simulator") as running:
        yield running


@pytest.fixture
def client(sim: RunningSimulator) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=sim.base_url, api_key=sim.api_key)


class Follower:
    """The sideband, as the server-side supervisor opens it (raw JSON kept)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self.connection: Any = None

    async def wait_for(self, event_type: str, within: float = 15.0, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for event in self.events:
                if event["type"] == event_type and all(event.get(k) == v for k, v in match.items()):
                    return event
            await asyncio.sleep(0.01)
        raise AssertionError(f"sideband: no {event_type} within {within} s")


@contextlib.asynccontextmanager
async def follow(client: AsyncOpenAI, call_id: str) -> AsyncIterator[Follower]:
    follower = Follower()
    async with client.realtime.connect(call_id=call_id) as connection:
        follower.connection = connection

        async def read() -> None:
            try:
                while True:
                    follower.events.append(json.loads(await connection.recv_bytes()))
            except ConnectionClosed:
                follower.closed.set()

        reader = asyncio.ensure_future(read())
        try:
            yield follower
        finally:
            reader.cancel()


def assert_all_events_valid(sim: RunningSimulator, call_id: str) -> dict[str, Any]:
    record = sim.call_events(call_id)
    assert record["server"], "the simulator recorded no server events"
    for event in record["server"]:
        validate_server_event(event)
    for received in record["client"]:
        assert received["valid"], received
        validate_client_event(received["event"])
    return record


async def test_ephemeral_call_greets_listens_transcribes_and_replies(
    sim: RunningSimulator, client: AsyncOpenAI
) -> None:
    secret = await client.realtime.client_secrets.create(
        session=SESSION, expires_after={"anchor": "created_at", "seconds": 600}
    )
    assert secret.value.startswith("ek_")
    assert secret.session.type == "realtime"

    learner = LearnerPeer()
    response = await learner.call_with_ephemeral_key(sim, secret.value)
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/sdp")
    assert response.headers["location"].startswith("/v1/realtime/calls/rtc_")
    assert learner.call_id
    await asyncio.wait_for(learner.channel_open.wait(), 10)

    async with follow(client, learner.call_id) as follower:
        await follower.wait_for("session.created")
        # The app asks for the greeting as soon as the call is up.
        learner.send({"type": "response.create"})
        started = await learner.wait_for("output_audio_buffer.started")
        heard_from = time.monotonic()
        greeting = await learner.wait_for("response.done", within=15)
        assert greeting["response"]["status"] == "completed"
        assert learner.loud_seconds(heard_from) > 3.0, "the greeting's speech did not arrive"
        await learner.wait_for("output_audio_buffer.stopped", response_id=started["response_id"])
        greeting_deltas = "".join(
            e["delta"] for e in learner.events if e["type"] == "response.output_audio_transcript.delta"
        )
        assert greeting_deltas == tutor_reply(0).text

        # The learner speaks; server VAD ends the turn and the tutor replies.
        mark = len(learner.events)
        speech = read_wav_48k(AUDIO_DIR / "learner_hello.wav")
        learner.mic.play(speech[int(1.2 * RATE) :])
        stopped = await learner.wait_for("input_audio_buffer.speech_stopped", after=mark, within=10)
        started_speech = await learner.wait_for("input_audio_buffer.speech_started", after=mark)
        assert started_speech["item_id"] == stopped["item_id"]
        assert 0 <= started_speech["audio_start_ms"] < stopped["audio_end_ms"]
        committed = await learner.wait_for(
            "input_audio_buffer.committed", after=mark, item_id=stopped["item_id"]
        )
        assert committed["previous_item_id"] == greeting["response"]["output"][0]["id"]
        added = await learner.wait_for("conversation.item.added", after=mark)
        assert added["item"]["role"] == "user"
        done = await learner.wait_for("conversation.item.input_audio_transcription.completed", after=mark)
        assert done["transcript"] == learner_transcript(1)
        assert done["usage"]["type"] == "tokens"
        reply = await learner.wait_for("response.done", after=mark, within=15)
        assert reply["response"]["status"] == "completed"
        assert reply["response"]["output"][0]["content"][0]["transcript"] == tutor_reply(1).text
        usage = reply["response"]["usage"]
        assert usage["input_token_details"]["audio_tokens"] > 0
        assert usage["output_token_details"]["audio_tokens"] > 50
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
        await learner.wait_for("rate_limits.updated", after=mark)

        # The sideband saw the same conversation as the data channel.
        await follower.wait_for("response.done", response={**reply["response"]})
        channel_ids = [e["event_id"] for e in learner.events]
        sideband_ids = [e["event_id"] for e in follower.events if e["type"] != "session.created"]
        assert sideband_ids == channel_ids[channel_ids.index(sideband_ids[0]) :][: len(sideband_ids)]

        await client.realtime.calls.hangup(learner.call_id)
        await asyncio.wait_for(follower.closed.wait(), 5)
    for _ in range(50):
        if learner.pc.connectionState == "closed":
            break
        await asyncio.sleep(0.1)
    assert learner.pc.connectionState == "closed"
    record = assert_all_events_valid(sim, learner.call_id)
    assert record["state"] == "ended"
    assert record["end_reason"] == "hangup"
    assert [c["source"] for c in record["client"]] == ["data_channel"]
    await learner.close()


async def test_multipart_call_barge_in_cancels_and_truncates(
    sim: RunningSimulator, client: AsyncOpenAI
) -> None:
    learner = LearnerPeer()
    sdp = await learner.offer()
    raw = await client.realtime.calls.with_raw_response.create(
        sdp=sdp, session={**SESSION, "audio": {"input": {"transcription": None}}}
    )
    assert raw.status_code == 201
    await learner.accept(raw.text, raw.headers["location"])
    await asyncio.wait_for(learner.channel_open.wait(), 10)

    async with follow(client, learner.call_id) as follower:
        await follower.wait_for("session.created")
        # The supervisor asks for the greeting on the sideband.
        await follower.connection.response.create()
        started = await learner.wait_for("output_audio_buffer.started")
        await asyncio.sleep(2.0)
        speech = read_wav_48k(AUDIO_DIR / "learner_barge_in.wav")
        onset = speech_onset_s(speech)
        lead_in = 0.3
        learner.mic.play(speech[int((onset - lead_in) * RATE) :])

        await learner.wait_for("input_audio_buffer.speech_started")
        cleared = await learner.wait_for("output_audio_buffer.cleared")
        assert cleared["response_id"] == started["response_id"]
        truncated = await learner.wait_for("conversation.item.truncated")
        cancelled = await learner.wait_for("response.done")
        assert cancelled["response"]["status"] == "cancelled"
        assert cancelled["response"]["status_details"]["reason"] == "turn_detected"
        item = cancelled["response"]["output"][0]
        assert item["status"] == "incomplete"
        assert truncated["item_id"] == item["id"]
        assert 1500 <= truncated["audio_end_ms"] <= 4000
        heard = item["content"][0]["transcript"]
        greeting = tutor_reply(0)
        assert heard == greeting.spoken_text(truncated["audio_end_ms"])
        assert heard and greeting.text.startswith(heard) and len(heard) < len(greeting.text)
        deltas = "".join(
            e["delta"] for e in learner.events if e["type"] == "response.output_audio_transcript.delta"
        )
        assert deltas == heard, "the transcript deltas go beyond what the learner heard"
        assert "output_audio_buffer.stopped" not in learner.event_types()

        # The tutor fell silent soon after the learner's first word, not at the end of its
        # greeting. How soon is `make bench`'s figure; this bound only has to survive a busy
        # test machine (the simulator's speech model confirms speech in a few frames).
        await asyncio.sleep(0.5)
        onset_at = (learner.mic.play_started_at or 0) + lead_in
        late = [
            t - onset_at for t, level in learner.levels if t > onset_at and level > -50 and t < onset_at + 2.0
        ]
        silent_after_ms = max(late, default=0.0) * 1000
        print(f"learner speech onset -> tutor silent: {silent_after_ms:.0f} ms")
        assert silent_after_ms < 500

        # The turn ends; the tutor replies; the client cancels that reply.
        committed = await learner.wait_for("input_audio_buffer.committed", within=10)
        mark = learner.events.index(committed)
        reply_started = await learner.wait_for("output_audio_buffer.started", after=mark, within=10)
        assert reply_started["response_id"] != started["response_id"]
        await asyncio.sleep(1.0)
        learner.send({"type": "response.cancel"})
        cancelled = await learner.wait_for("response.done", after=mark, within=5)
        assert cancelled["response"]["status_details"]["reason"] == "client_cancelled"
        cut_at = time.monotonic()
        await learner.wait_for("output_audio_buffer.cleared", after=mark)
        await asyncio.sleep(0.6)
        # Silent from then on: at most a few 20 ms frames already in flight on a busy
        # machine, where a reply that went on would be a second and more.
        assert learner.loud_seconds(cut_at + 0.15) <= 0.1, "the tutor kept talking after the cancel"
        assert not any(
            e["type"].startswith("conversation.item.input_audio_transcription") for e in learner.events
        ), "transcription was off but the simulator transcribed"
        await client.realtime.calls.hangup(learner.call_id)
    assert_all_events_valid(sim, learner.call_id)
    await learner.close()


async def test_client_events_update_truncate_retrieve_and_errors(
    sim: RunningSimulator, client: AsyncOpenAI
) -> None:
    learner = LearnerPeer()
    sdp = await learner.offer()
    raw = await client.realtime.calls.with_raw_response.create(sdp=sdp, session={"type": "realtime"})
    await learner.accept(raw.text, raw.headers["location"])
    await asyncio.wait_for(learner.channel_open.wait(), 10)

    learner.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "instructions": "Talk about travel.",
                "audio": {"input": {"turn_detection": None}},
            },
        }
    )
    updated = await learner.wait_for("session.updated")
    assert updated["session"]["instructions"] == "Talk about travel."
    assert updated["session"]["audio"]["input"]["turn_detection"] is None

    # An event the SDK would not accept: error event, recorded as invalid.
    learner.send({"type": "session.update", "event_id": "evt_bad", "session": {"instructions": "no type"}})
    error = await learner.wait_for("error")
    assert error["error"]["event_id"] == "evt_bad"
    learner.send({"type": "response.create"})
    started = await learner.wait_for("output_audio_buffer.started")
    learner.send({"type": "response.create", "event_id": "evt_twice"})
    busy = await _wait_error(learner, "evt_twice")
    assert busy["error"]["code"] == "conversation_already_has_active_response"

    # The learner speaks over the tutor: turn detection is off, so nothing is interrupted.
    await asyncio.sleep(1.5)
    speech = read_wav_48k(AUDIO_DIR / "learner_hello.wav")
    learner.mic.play(speech[int(1.2 * RATE) :])
    await asyncio.sleep(1.0)
    assert "input_audio_buffer.speech_started" not in learner.event_types()

    # The client stops playback itself, then truncates the item to what was heard.
    learner.send({"type": "output_audio_buffer.clear"})
    done = await learner.wait_for("response.done")
    assert done["response"]["status"] == "cancelled"
    item_id = done["response"]["output"][0]["id"]
    auto = await learner.wait_for("conversation.item.truncated", item_id=item_id)
    assert auto["audio_end_ms"] >= 2000
    learner.send(
        {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 1200}
    )
    mark = len(learner.events)
    truncated = await learner.wait_for("conversation.item.truncated", after=mark - 1, audio_end_ms=1200)
    assert truncated["item_id"] == item_id
    learner.send({"type": "conversation.item.retrieve", "item_id": item_id})
    retrieved = await learner.wait_for("conversation.item.retrieved")
    assert retrieved["item"]["content"][0]["transcript"] == tutor_reply(0).spoken_text(1200)
    learner.send(
        {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 99_000}
    )
    await _wait_error(learner, None, code="invalid_value", after=mark)

    # Manual turn-taking: commit the learner's speech, then ask for a reply.
    await asyncio.sleep(2.5)
    learner.send({"type": "input_audio_buffer.commit"})
    committed = await learner.wait_for("input_audio_buffer.committed")
    added = await learner.wait_for("conversation.item.added", item={**_user_item(committed["item_id"])})
    assert added["previous_item_id"] == item_id
    learner.send({"type": "response.cancel"})
    await _wait_error(learner, None, code="response_cancel_not_active")

    record = sim.call_events(learner.call_id)
    invalid = [c for c in record["client"] if not c["valid"]]
    assert [c["event"]["event_id"] for c in invalid] == ["evt_bad"]
    for event in record["server"]:
        validate_server_event(event)
    assert started["response_id"]
    await learner.close()


def _user_item(item_id: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "object": "realtime.item",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }


async def _wait_error(
    learner: LearnerPeer, event_id: str | None, *, code: str | None = None, after: int = 0
) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for event in learner.events[after:]:
            if event["type"] != "error":
                continue
            if event_id is not None and event["error"].get("event_id") != event_id:
                continue
            if code is not None and event["error"].get("code") != code:
                continue
            return event
        await asyncio.sleep(0.01)
    raise AssertionError(f"no error {event_id or code}; got {learner.event_types()}")


async def test_the_call_ends_when_the_browser_goes_away(sim: RunningSimulator, client: AsyncOpenAI) -> None:
    learner = LearnerPeer()
    sdp = await learner.offer()
    raw = await client.realtime.calls.with_raw_response.create(sdp=sdp, session={"type": "realtime"})
    await learner.accept(raw.text, raw.headers["location"])
    await asyncio.wait_for(learner.channel_open.wait(), 10)
    async with follow(client, learner.call_id) as follower:
        await follower.wait_for("session.created")
        await learner.close()
        await asyncio.wait_for(follower.closed.wait(), 10)
    record = sim.call_events(learner.call_id)
    assert record["state"] == "ended"
