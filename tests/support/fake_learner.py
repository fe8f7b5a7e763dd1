"""A learner's browser for classroom tests: an aiortc peer that calls the tutor through
Fluentio's own signalling (relay or ephemeral) and speaks WAV files into its microphone.

It builds on `tests.support.sim_server.LearnerPeer` (mic track, `oai-events` channel,
received events and tutor audio levels) and adds Fluentio's two signalling paths:

    learner = FakeLearner()
    started = await learner.start_relay(user_id=user.id)          # calls.start_relay_call
    # or over HTTP: response = await learner.post_offer(http, "/api/realtime/calls?...")
    await learner.connected()
    await learner.say("learner_hello.wav")
    await learner.wait_for("conversation.item.input_audio_transcription.completed")
    await learner.leave()                                          # the tab is closed

Like the page without its speech model (realtime_call.jsx's fallback), it takes the
provider's `speech_started` as the learner's voice: over the tutor it sends
`response.cancel`, `output_audio_buffer.clear` and the truncate to what was heard, and
after each committed turn it asks for the answer with `response.create` (the session
leaves both to the client: realtime_config.py).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiortc import RTCSessionDescription

from tests.support.sim_server import AUDIO_DIR, LearnerPeer, read_wav_48k


@dataclass
class FakeLearner:
    """One learner tab: a peer connection, the ids of its lesson, and its microphone."""

    peer: LearnerPeer = field(default_factory=LearnerPeer)
    session_id: str | None = None
    call_id: str | None = None
    # The tutor's audio item now playing and when it started (monotonic seconds).
    _playing: tuple[str, float] | None = None
    _item_id: str | None = None
    # False: the page does not ask for the tutor's answer (a learner who goes on talking).
    asks_for_answers: bool = True

    @property
    def events(self) -> list[dict[str, Any]]:
        """Server events received on the data channel."""
        return self.peer.events

    async def start_relay(
        self,
        *,
        user_id: uuid.UUID,
        level: str | None = "B1",
        topic: str | None = "small_talk",
        vocabulary: Sequence[str] | str | None = None,
        audio_setup: str | None = None,
    ) -> Any:
        """Relay signalling through the service (what /api/realtime/calls does)."""
        from fluentio.classroom import calls

        offer = await self._offer()
        started = await calls.start_relay_call(
            user_id=user_id,
            offer_sdp=offer,
            level=level,
            topic=topic,
            vocabulary=vocabulary,
            audio_setup=audio_setup,
        )
        self.session_id, self.call_id = started.session_id, started.call_id
        await self._accept(started.answer_sdp)
        return started

    async def post_offer(self, http: httpx.AsyncClient, url: str) -> httpx.Response:
        """Relay signalling over HTTP, as the page does (`http` carries the cookie)."""
        offer = await self._offer()
        response = await http.post(url, content=offer, headers={"Content-Type": "application/sdp"})
        if response.status_code == 201:
            self.session_id = response.headers["X-Fluentio-Session"]
            self.call_id = response.headers["X-Fluentio-Call"]
            await self._accept(response.text)
        return response

    async def start_ephemeral(
        self,
        *,
        user_id: uuid.UUID,
        level: str | None = "B1",
        topic: str | None = "small_talk",
        audio_setup: str | None = None,
    ) -> Any:
        """Ephemeral signalling: mint, post the offer to the provider with the client
        secret (as the browser does), then report the call id."""
        from fluentio.classroom import calls

        grant = await calls.mint_ephemeral(
            user_id=user_id, level=level, topic=topic, vocabulary=None, audio_setup=audio_setup
        )
        self.session_id = grant.session_id
        offer = await self._offer()
        async with httpx.AsyncClient(timeout=15) as http:
            response = await http.post(
                grant.calls_url,
                content=offer,
                headers={"Authorization": f"Bearer {grant.client_secret}", "Content-Type": "application/sdp"},
            )
        response.raise_for_status()
        self.call_id = response.headers["location"].rstrip("/").rsplit("/", 1)[-1]
        await self._accept(response.text)
        await calls.attach_call(user_id=user_id, session_id=grant.session_id, call_id=self.call_id)
        return grant

    async def _offer(self) -> str:
        offer = await self.peer.offer()
        self.peer.channel.on("message", self._act_as_page)
        return offer

    def _act_as_page(self, message: str) -> None:
        event = json.loads(message)
        kind = event.get("type")
        if kind == "response.output_item.added" and event["item"].get("type") == "message":
            self._item_id = event["item"]["id"]
        elif kind == "output_audio_buffer.started" and self._item_id:
            self._playing = (self._item_id, time.monotonic())
        elif kind in ("output_audio_buffer.stopped", "output_audio_buffer.cleared"):
            self._playing = None
        elif kind == "input_audio_buffer.speech_started" and self._playing:
            item_id, since = self._playing
            self._playing = None
            heard_ms = int((time.monotonic() - since) * 1000)
            self.peer.send({"type": "response.cancel"})
            self.peer.send({"type": "output_audio_buffer.clear"})
            self.peer.send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": item_id,
                    "content_index": 0,
                    "audio_end_ms": heard_ms,
                }
            )
        elif kind == "input_audio_buffer.committed" and self.asks_for_answers:
            self.peer.send({"type": "response.create"})

    async def _accept(self, answer_sdp: str) -> None:
        self.peer.call_id = self.call_id
        await self.peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def connected(self, within: float = 15.0) -> None:
        """Wait until the data channel is open (the call is up)."""
        await asyncio.wait_for(self.peer.channel_open.wait(), within)

    async def say(self, wav_name: str, *, wait: bool = False) -> float:
        """Speak a WAV from tests/assets/audio; returns its length in seconds. With
        `wait`, returns once it has been fully sent."""
        samples = read_wav_48k(AUDIO_DIR / wav_name)
        self.peer.mic.play(samples)
        seconds = len(samples) / 48_000
        if wait:
            await asyncio.sleep(seconds + 0.1)
        return seconds

    async def wait_for(
        self, event_type: str, *, after: int = 0, within: float = 20.0, **match: Any
    ) -> dict[str, Any]:
        return await self.peer.wait_for(event_type, after=after, within=within, **match)

    def count(self, event_type: str) -> int:
        return sum(1 for event in self.peer.events if event.get("type") == event_type)

    async def leave(self) -> None:
        """The tab is closed: the peer connection goes away without a word."""
        await self.peer.close()

    async def wait_closed(self, within: float = 20.0) -> None:
        """Wait until the provider has ended the call (the peer connection closes)."""
        deadline = time.monotonic() + within
        while self.peer.pc.connectionState not in ("closed", "failed"):
            if time.monotonic() > deadline:
                raise AssertionError(f"the call was not closed within {within} s")
            await asyncio.sleep(0.05)
