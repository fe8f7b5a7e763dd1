"""One simulated Realtime call: the WebRTC peer, the event stream and the conversation.

A `Call` answers the browser's SDP offer with an aiortc peer, sends server events on the
`oai-events` data channel and to every sideband WebSocket attached to it, and accepts
client events from both. The conversation follows the real API's event sequence: server
VAD on the learner's audio (speech_started → speech_stopped → committed → item added/done
→ transcription), scripted tutor replies spoken as real audio with transcript deltas
paced to the words, barge-in that cancels and truncates the reply to what the learner
heard, and `usage` in every `response.done`.

Everything runs on the event loop that created the call (the app's single loop when
mounted in Fluentio).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdatachannel import RTCDataChannel
from starlette.websockets import WebSocket

from fluentio.simulator import session as sessions
from fluentio.simulator.audio import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    SpeechDetector,
    TutorVoiceTrack,
    mono_48k,
)
from fluentio.simulator.script import TutorLine, learner_transcript, transcript_logprobs, tutor_reply
from fluentio.simulator.session import new_id
from fluentio.simulator.validation import InvalidEventError, validate_client_event

logger = logging.getLogger("fluentio.simulator")

DATA_CHANNEL_LABEL = "oai-events"
CONNECT_TIMEOUT_S = 30.0  # the browser must connect this soon after the answer
MEDIA_TIMEOUT_S = 30.0  # no inbound audio for this long: the browser is gone
# After the last sideband socket closes, end the call unless one returns: long enough
# for another worker to take a call over when its supervisor died (lease + poll, < 10 s).
SIDEBAND_GRACE_S = 15.0
TRANSCRIPTION_DELAY_S = 0.15
RECORD_LIMIT = 20_000
_BACKLOG_LIMIT = 1_000


def _text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass
class Reply:
    """The tutor's response in progress."""

    response_id: str
    item_id: str
    line: TutorLine
    audio: bool
    in_conversation: bool
    conversation_id: str | None
    output_modalities: list[str]
    metadata: dict[str, Any] | None
    voice: str
    previous_item_id: str | None
    sent_samples: int = 0
    words_sent: int = 0
    audio_started: bool = False
    held: bool = False  # the learner may be cutting in: send silence, keep the place
    done: bool = False

    @property
    def sent_ms(self) -> int:
        return min(self.sent_samples * 1000 // SAMPLE_RATE, self.line.duration_ms)


@dataclass(eq=False)
class Sideband:
    """A server-side WebSocket following the call."""

    websocket: WebSocket
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    writer: asyncio.Task[None] | None = None
    # Set when the call ends: the endpoint that owns the socket closes it.
    closing: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class StoredItem:
    item: dict[str, Any]
    line: TutorLine | None = None  # for assistant audio items: what truncation cuts
    audio_ms: int = 0


class Call:
    """One call, from the SDP answer to hangup."""

    def __init__(self, *, call_id: str, session: dict[str, Any], on_end: Callable[[Call], None]) -> None:
        self.id = call_id
        self.session = session
        self.created_at = time.time()
        self.ended_at: float | None = None
        self.conversation_id = new_id("conv")
        self.ended = False
        self.end_reason = ""
        self.server_events: list[dict[str, Any]] = []
        self.client_events: list[dict[str, Any]] = []
        self.pc: RTCPeerConnection | None = None
        self.channel: RTCDataChannel | None = None
        self.voice: TutorVoiceTrack | None = None
        self.sidebands: set[Sideband] = set()
        self._had_sideband = False
        self._on_end = on_end
        self._backlog: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._grace: asyncio.TimerHandle | None = None
        self._connected = asyncio.Event()
        # Conversation.
        self.items: dict[str, StoredItem] = {}
        self.last_item_id: str | None = None
        self.reply: Reply | None = None
        self.replies_made = 0
        self.learner_turns = 0
        self._last_input_tokens = 0
        self._tokens_used = 0
        # Learner audio.
        self.detector = SpeechDetector()
        self.input_frames = 0
        self._user_item_id: str | None = None
        self._speech_start_ms = 0
        self._uncommitted: tuple[int, int] | None = None  # speech held while turn detection is off

    # ----- signalling -------------------------------------------------------------------

    async def answer(self, offer_sdp: str) -> str:
        """Set up the peer for the browser's offer and return the answer SDP."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc = pc
        pc.on("datachannel", self._on_datachannel)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_connection_state)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "audio":
                # aiortc holds 4 packets (80 ms) before decoding; server VAD needs them now.
                transceiver.receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(  # type: ignore[attr-defined]
                    capacity=16, prefetch=0
                )
        if any(t.kind == "audio" for t in pc.getTransceivers()):
            # Added after setRemoteDescription so it takes the offered audio transceiver.
            self.voice = TutorVoiceTrack(self._next_frame)
            pc.addTrack(self.voice)
        else:
            self._spawn(self._play_without_media())
        await pc.setLocalDescription(await pc.createAnswer())
        self._spawn(self._connect_watchdog())
        self.emit({"type": "session.created", "session": self.session})
        return pc.localDescription.sdp

    async def _connect_watchdog(self) -> None:
        try:
            await asyncio.wait_for(self._connected.wait(), CONNECT_TIMEOUT_S)
        except TimeoutError:
            self.request_end("the browser never connected")

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState if self.pc else "closed"
        logger.debug("call %s: connection %s", self.id, state)
        if state == "connected":
            self._connected.set()
        elif state in ("failed", "closed"):
            self.request_end(f"peer connection {state}")

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label != DATA_CHANNEL_LABEL:
            return
        self.channel = channel
        channel.on("message", lambda message: self._on_client_message(message, "data_channel"))
        channel.on("close", lambda: self.request_end("data channel closed"))
        backlog, self._backlog = self._backlog, []
        for text in backlog:
            channel.send(text)

    # ----- the call's end ---------------------------------------------------------------

    def request_end(self, reason: str) -> None:
        """End the call soon, from a callback that must not await."""
        if not self.ended:
            task = asyncio.get_running_loop().create_task(self.end(reason))
            task.add_done_callback(lambda _: None)

    async def end(self, reason: str) -> None:
        """Hang up: stop the tutor, close the sideband sockets and the peer connection."""
        if self.ended:
            return
        self.ended = True
        self.ended_at = time.time()
        self.end_reason = reason
        logger.info("call %s ended: %s", self.id, reason)
        if self.reply is not None:
            self.reply.done = True
            self.reply = None
        if self._grace is not None:
            self._grace.cancel()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        for sideband in list(self.sidebands):
            await self._close_sideband(sideband)
        if self.voice is not None:
            self.voice.stop()
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        self._on_end(self)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----- sideband sockets -------------------------------------------------------------

    def attach_sideband(self, websocket: WebSocket) -> Sideband:
        sideband = Sideband(websocket)
        sideband.writer = asyncio.get_running_loop().create_task(self._write_sideband(sideband))
        self.sidebands.add(sideband)
        self._had_sideband = True
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self.emit({"type": "session.created", "session": self.session}, only=sideband)
        return sideband

    def detach_sideband(self, sideband: Sideband) -> None:
        if sideband not in self.sidebands:
            return
        self.sidebands.discard(sideband)
        sideband.queue.put_nowait(None)
        if not self.sidebands and not self.ended:
            # The supervisor is gone: end the call (unmetered audio must not go on), but
            # give a reconnecting client a moment to come back.
            self._grace = asyncio.get_running_loop().call_later(
                SIDEBAND_GRACE_S, self.request_end, "sideband closed"
            )

    async def _write_sideband(self, sideband: Sideband) -> None:
        while (text := await sideband.queue.get()) is not None:
            try:
                await sideband.websocket.send_text(text)
            except Exception:
                logger.debug("call %s: sideband send failed", self.id)
                return

    async def _close_sideband(self, sideband: Sideband) -> None:
        # The endpoint that owns the socket closes it once the queued events are out.
        self.sidebands.discard(sideband)
        sideband.queue.put_nowait(None)
        sideband.closing.set()

    # ----- server events ----------------------------------------------------------------

    def emit(self, event: dict[str, Any], *, only: Sideband | None = None) -> None:
        """Send a server event on the data channel and to every sideband socket."""
        if self.ended:
            return
        event = {"type": event["type"], "event_id": new_id("event"), **event}
        if len(self.server_events) < RECORD_LIMIT:
            self.server_events.append(event)
        text = json.dumps(event)
        if only is not None:
            only.queue.put_nowait(text)
            return
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(text)
        elif len(self._backlog) < _BACKLOG_LIMIT:
            self._backlog.append(text)
        for sideband in self.sidebands:
            sideband.queue.put_nowait(text)

    def _error(
        self, message: str, *, code: str, client_event_id: str | None = None, param: str | None = None
    ) -> None:
        self.emit(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": code,
                    "message": message,
                    "param": param,
                    "event_id": client_event_id,
                },
            }
        )

    # ----- client events ----------------------------------------------------------------

    def _on_client_message(self, message: str | bytes, source: str) -> None:
        self.handle_client_message(
            message if isinstance(message, str) else message.decode(errors="replace"), source
        )

    def handle_client_message(self, text: str, source: str) -> None:
        """Validate, record and act on one client event from the data channel or a sideband."""
        if self.ended:
            return
        try:
            event = json.loads(text)
        except ValueError:
            self._record_client(source, text, "not JSON")
            self._error("The event is not valid JSON.", code="invalid_json")
            return
        client_event_id = event.get("event_id") if isinstance(event, dict) else None
        try:
            validate_client_event(event)
        except InvalidEventError as exc:
            logger.warning("call %s: %s from %s", self.id, exc, source)
            self._record_client(source, event, str(exc))
            self._error(str(exc), code="invalid_value", client_event_id=client_event_id)
            return
        self._record_client(source, event, None)
        handler = self._handlers().get(event["type"])
        if handler is None:
            self._error(
                f"{event['type']} is not supported by the local simulator.",
                code="unsupported",
                client_event_id=client_event_id,
            )
            return
        handler(event)

    def _record_client(self, source: str, event: object, error: str | None) -> None:
        if len(self.client_events) < RECORD_LIMIT:
            self.client_events.append(
                {"source": source, "event": event, "valid": error is None, "error": error}
            )

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {
            "session.update": self._session_update,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
            "output_audio_buffer.clear": self._output_audio_buffer_clear,
            "conversation.item.create": self._item_create,
            "conversation.item.truncate": self._item_truncate,
            "conversation.item.delete": self._item_delete,
            "conversation.item.retrieve": self._item_retrieve,
            "input_audio_buffer.commit": self._input_commit,
            "input_audio_buffer.clear": self._input_clear,
            "input_audio_buffer.append": self._input_append,
        }

    def _session_update(self, event: dict[str, Any]) -> None:
        try:
            self.session = sessions.merge_session(self.session, event["session"])
        except sessions.SessionConfigError as exc:
            self._error(
                str(exc), code="invalid_value", client_event_id=event.get("event_id"), param="session"
            )
            return
        self.emit({"type": "session.updated", "session": self.session})

    def _response_create(self, event: dict[str, Any]) -> None:
        if self.reply is not None:
            self._error(
                f"Conversation already has an active response in progress: {self.reply.response_id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
                client_event_id=event.get("event_id"),
            )
            return
        self._start_reply(event.get("response") or {})

    def _response_cancel(self, event: dict[str, Any]) -> None:
        reply = self.reply
        wanted = event.get("response_id")
        if reply is None or (wanted and wanted != reply.response_id):
            self._error(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                client_event_id=event.get("event_id"),
            )
            return
        self._finish_reply(reply, "cancelled", reason="client_cancelled")

    def _output_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        if self.reply is not None and self.reply.audio:
            self._finish_reply(self.reply, "cancelled", reason="client_cancelled")

    def _item_create(self, event: dict[str, Any]) -> None:
        item = dict(event["item"])
        item.setdefault("id", new_id("item"))
        item.setdefault("object", "realtime.item")
        item.setdefault("status", "completed")
        if item["id"] in self.items:
            self._error(
                f"Item {item['id']} already exists.",
                code="item_already_exists",
                client_event_id=event.get("event_id"),
            )
            return
        previous = self._store(item)
        self.emit({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        self.emit({"type": "conversation.item.done", "previous_item_id": previous, "item": item})

    def _item_truncate(self, event: dict[str, Any]) -> None:
        item_id, audio_end_ms = event["item_id"], event["audio_end_ms"]
        stored = self.items.get(item_id)
        if stored is None or stored.line is None:
            self._error(
                f"Item with item_id not found: {item_id}",
                code="item_not_found",
                client_event_id=event.get("event_id"),
                param="item_id",
            )
            return
        if event["content_index"] != 0:
            self._error(
                "content_index must be 0.",
                code="invalid_value",
                client_event_id=event.get("event_id"),
                param="content_index",
            )
            return
        if self.reply is not None and self.reply.item_id == item_id:
            self._finish_reply(self.reply, "cancelled", reason="client_cancelled", truncate=False)
        if audio_end_ms < 0 or audio_end_ms > stored.audio_ms:
            self._error(
                f"audio_end_ms {audio_end_ms} is beyond the item's audio ({stored.audio_ms} ms).",
                code="invalid_value",
                client_event_id=event.get("event_id"),
                param="audio_end_ms",
            )
            return
        self._truncate(stored, audio_end_ms)

    def _truncate(self, stored: StoredItem, audio_end_ms: int) -> None:
        assert stored.line is not None
        stored.audio_ms = audio_end_ms
        for part in stored.item.get("content", []):
            if part.get("type") == "output_audio":
                part["transcript"] = stored.line.spoken_text(audio_end_ms)
        self.emit(
            {
                "type": "conversation.item.truncated",
                "item_id": stored.item["id"],
                "content_index": 0,
                "audio_end_ms": audio_end_ms,
            }
        )

    def _item_delete(self, event: dict[str, Any]) -> None:
        item_id = event["item_id"]
        if self.items.pop(item_id, None) is None:
            self._error(
                f"Item with item_id not found: {item_id}",
                code="item_not_found",
                client_event_id=event.get("event_id"),
                param="item_id",
            )
            return
        if self.last_item_id == item_id:
            self.last_item_id = next(reversed(self.items), None)
        self.emit({"type": "conversation.item.deleted", "item_id": item_id})

    def _item_retrieve(self, event: dict[str, Any]) -> None:
        stored = self.items.get(event["item_id"])
        if stored is None:
            self._error(
                f"Item with item_id not found: {event['item_id']}",
                code="item_not_found",
                client_event_id=event.get("event_id"),
                param="item_id",
            )
            return
        self.emit({"type": "conversation.item.retrieved", "item": stored.item})

    def _input_commit(self, event: dict[str, Any]) -> None:
        if self._uncommitted is None:
            self._error(
                "Error committing input audio buffer: the buffer holds no speech.",
                code="input_audio_buffer_commit_empty",
                client_event_id=event.get("event_id"),
            )
            return
        start_ms, end_ms = self._uncommitted
        self._uncommitted = None
        self._commit_turn(self._user_item_id or new_id("item"), start_ms, end_ms)

    def _input_clear(self, event: dict[str, Any]) -> None:
        self._uncommitted = None
        self.detector.reset()
        self.emit({"type": "input_audio_buffer.cleared"})

    def _input_append(self, event: dict[str, Any]) -> None:
        self._error(
            "input_audio_buffer.append is not used over WebRTC: the audio comes on the media track.",
            code="invalid_value",
            client_event_id=event.get("event_id"),
        )

    # ----- conversation -----------------------------------------------------------------

    def _store(self, item: dict[str, Any], *, line: TutorLine | None = None, audio_ms: int = 0) -> str | None:
        previous = self.last_item_id
        self.items[item["id"]] = StoredItem(item=item, line=line, audio_ms=audio_ms)
        self.last_item_id = item["id"]
        return previous

    def _response_object(self, reply: Reply, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "object": "realtime.response",
            "id": reply.response_id,
            "status": status,
            "status_details": None,
            "output": [],
            "conversation_id": reply.conversation_id,
            "output_modalities": reply.output_modalities,
            "max_output_tokens": self.session.get("max_output_tokens", "inf"),
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": reply.voice}},
            "usage": None,
            "metadata": reply.metadata,
            **extra,
        }

    def _start_reply(self, params: dict[str, Any]) -> None:
        in_conversation = params.get("conversation", "auto") != "none"
        modalities = list(
            params.get("output_modalities") or self.session.get("output_modalities") or ["audio"]
        )
        voice = (
            ((params.get("audio") or {}).get("output") or {}).get("voice")
            or self.session["audio"]["output"].get("voice")
            or "alloy"
        )
        reply = Reply(
            response_id=new_id("resp"),
            item_id=new_id("item"),
            line=tutor_reply(self.replies_made),
            audio="audio" in modalities,
            in_conversation=in_conversation,
            conversation_id=self.conversation_id if in_conversation else None,
            output_modalities=modalities,
            metadata=params.get("metadata"),
            voice=voice if isinstance(voice, str) else "alloy",
            previous_item_id=self.last_item_id,
        )
        self.replies_made += 1
        self.reply = reply
        self.emit({"type": "response.created", "response": self._response_object(reply, "in_progress")})
        item = {
            "id": reply.item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self.emit(
            {
                "type": "response.output_item.added",
                "response_id": reply.response_id,
                "output_index": 0,
                "item": item,
            }
        )
        if in_conversation:
            self.emit(
                {"type": "conversation.item.added", "previous_item_id": reply.previous_item_id, "item": item}
            )
        part = {"type": "audio", "transcript": ""} if reply.audio else {"type": "text", "text": ""}
        self.emit({"type": "response.content_part.added", **self._where(reply), "part": part})
        if not reply.audio:
            for _ in reply.line.words:
                self._send_next_word(reply)
            self._finish_reply(reply, "completed")

    def _where(self, reply: Reply) -> dict[str, Any]:
        return {
            "response_id": reply.response_id,
            "item_id": reply.item_id,
            "output_index": 0,
            "content_index": 0,
        }

    def _send_next_word(self, reply: Reply) -> None:
        index = reply.words_sent
        delta = ("" if index == 0 else " ") + reply.line.words[index]
        reply.words_sent += 1
        kind = "response.output_audio_transcript.delta" if reply.audio else "response.output_text.delta"
        self.emit({"type": kind, **self._where(reply), "delta": delta})

    def _next_frame(self) -> np.ndarray | None:
        """The next 20 ms of the tutor's voice, pulled as it is sent (None: silence)."""
        reply = self.reply
        if reply is None or reply.done or not reply.audio or reply.held:
            return None
        pcm = reply.line.pcm
        chunk = pcm[reply.sent_samples : reply.sent_samples + FRAME_SAMPLES]
        if not reply.audio_started:
            reply.audio_started = True
            self.emit({"type": "output_audio_buffer.started", "response_id": reply.response_id})
        reply.sent_samples = min(reply.sent_samples + FRAME_SAMPLES, len(pcm))
        # A word's transcript is sent once the word has been spoken, so the deltas
        # received so far are always exactly what the learner has heard.
        heard = reply.sent_samples / max(len(pcm), 1)
        while reply.words_sent < len(reply.line.words) and reply.line.word_ends[reply.words_sent] <= heard:
            self._send_next_word(reply)
        if reply.sent_samples >= len(pcm):
            self._finish_reply(reply, "completed")
        if len(chunk) < FRAME_SAMPLES:
            chunk = np.concatenate([chunk, np.zeros(FRAME_SAMPLES - len(chunk), dtype=np.int16)])
        return chunk

    async def _play_without_media(self) -> None:
        # No audio track offered: keep the conversation's clock running anyway.
        next_at = time.monotonic()
        while True:
            next_at += FRAME_MS / 1000
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            self._next_frame()

    def _finish_reply(
        self, reply: Reply, status: str, *, reason: str | None = None, truncate: bool = True
    ) -> None:
        if reply.done:
            return
        reply.done = True
        if self.reply is reply:
            self.reply = None
        heard_ms = reply.sent_ms if reply.audio else 0
        if status == "completed":
            while reply.words_sent < len(reply.line.words):
                self._send_next_word(reply)
            transcript = reply.line.text
        else:
            transcript = reply.line.spoken_text(heard_ms) if reply.audio else reply.line.text
            if reply.audio_started:
                self.emit({"type": "output_audio_buffer.cleared", "response_id": reply.response_id})
        if reply.audio:
            content = {"type": "output_audio", "transcript": transcript}
            part = {"type": "audio", "transcript": transcript}
        else:
            content = {"type": "output_text", "text": transcript}
            part = {"type": "text", "text": transcript}
        item = {
            "id": reply.item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed" if status == "completed" else "incomplete",
            "role": "assistant",
            "content": [content],
        }
        if reply.in_conversation:
            self._store(item, line=reply.line if reply.audio else None, audio_ms=heard_ms)
            if status == "cancelled" and reply.audio and truncate:
                self.emit(
                    {
                        "type": "conversation.item.truncated",
                        "item_id": reply.item_id,
                        "content_index": 0,
                        "audio_end_ms": heard_ms,
                    }
                )
        if reply.audio:
            self.emit({"type": "response.output_audio.done", **self._where(reply)})
            self.emit(
                {
                    "type": "response.output_audio_transcript.done",
                    **self._where(reply),
                    "transcript": transcript,
                }
            )
        else:
            self.emit({"type": "response.output_text.done", **self._where(reply), "text": transcript})
        self.emit({"type": "response.content_part.done", **self._where(reply), "part": part})
        if reply.in_conversation:
            self.emit(
                {"type": "conversation.item.done", "previous_item_id": reply.previous_item_id, "item": item}
            )
        self.emit(
            {
                "type": "response.output_item.done",
                "response_id": reply.response_id,
                "output_index": 0,
                "item": item,
            }
        )
        usage = self._usage(reply, heard_ms, transcript)
        details = None if status == "completed" else {"type": status, "reason": reason}
        self.emit(
            {
                "type": "response.done",
                "response": self._response_object(
                    reply, status, status_details=details, output=[item], usage=usage
                ),
            }
        )
        self.emit({"type": "rate_limits.updated", "rate_limits": self._rate_limits()})
        if status == "completed" and reply.audio_started:
            self.emit({"type": "output_audio_buffer.stopped", "response_id": reply.response_id})

    def _usage(self, reply: Reply, heard_ms: int, transcript: str) -> dict[str, Any]:
        # Plausible numbers from durations: ~10 tokens/s of learner audio, ~20 tokens/s of
        # tutor audio, ~4 characters per text token; the context grows every turn.
        input_text = _text_tokens(str(self.session.get("instructions") or ""))
        input_audio = 0
        for item_id, stored in self.items.items():
            if item_id == reply.item_id:
                continue
            for part in stored.item.get("content", []):
                if part.get("type") == "input_audio":
                    input_audio += math.ceil(stored.audio_ms / 100)
                elif part.get("type") == "output_audio":
                    input_audio += math.ceil(stored.audio_ms / 50)
                    input_text += _text_tokens(part.get("transcript") or "")
                else:
                    input_text += _text_tokens(part.get("text") or "")
        input_tokens = input_text + input_audio
        cached = min(self._last_input_tokens // 64 * 64, input_tokens)
        cached_text = min(cached, input_text)
        self._last_input_tokens = input_tokens
        output_text = _text_tokens(transcript)
        output_audio = math.ceil(heard_ms / 50) if reply.audio else 0
        output_tokens = output_text + output_audio
        self._tokens_used += input_tokens + output_tokens
        return {
            "total_tokens": input_tokens + output_tokens,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_token_details": {
                "text_tokens": input_text,
                "audio_tokens": input_audio,
                "image_tokens": 0,
                "cached_tokens": cached,
                "cached_tokens_details": {
                    "text_tokens": cached_text,
                    "audio_tokens": cached - cached_text,
                    "image_tokens": 0,
                },
            },
            "output_token_details": {"text_tokens": output_text, "audio_tokens": output_audio},
        }

    def _rate_limits(self) -> list[dict[str, Any]]:
        return [
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {
                "name": "tokens",
                "limit": 400_000,
                "remaining": max(0, 400_000 - self._tokens_used),
                "reset_seconds": 0.9,
            },
        ]

    # ----- the learner's audio ----------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._spawn(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        pending = np.empty(0, dtype=np.int16)
        while not self.ended:
            try:
                frame = await asyncio.wait_for(track.recv(), MEDIA_TIMEOUT_S)
            except TimeoutError:
                self.request_end("no audio from the browser")
                return
            except MediaStreamError:
                return
            pending = np.concatenate([pending, mono_48k(frame)])  # type: ignore[arg-type]
            while len(pending) >= FRAME_SAMPLES:
                self._on_input_frame(pending[:FRAME_SAMPLES])
                pending = pending[FRAME_SAMPLES:]

    def _on_input_frame(self, samples: np.ndarray) -> None:
        index = self.input_frames
        self.input_frames += 1
        decision = self.detector.feed(
            samples,
            index,
            threshold=sessions.vad_threshold(self.session),
            silence_ms=sessions.silence_ms(self.session),
        )
        turn_detection = self.session["audio"]["input"]["turn_detection"] is not None
        interrupting = turn_detection and sessions.turn_flag(self.session, "interrupt_response")
        if self.reply is not None:
            # Hold the tutor's voice from the first voiced frame; confirmation cancels it.
            self.reply.held = interrupting and (decision.tentative or decision.started)
        if decision.started:
            self._user_item_id = new_id("item")
            self._speech_start_ms = max(
                0, self.detector.onset_frame * FRAME_MS - sessions.prefix_padding_ms(self.session)
            )
            if turn_detection:
                self.emit(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": self._speech_start_ms,
                        "item_id": self._user_item_id,
                    }
                )
                if self.reply is not None and interrupting:
                    self._finish_reply(self.reply, "cancelled", reason="turn_detected")
        if decision.stopped:
            end_ms = self.input_frames * FRAME_MS
            item_id = self._user_item_id or new_id("item")
            if turn_detection:
                self.emit(
                    {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": end_ms, "item_id": item_id}
                )
                self._commit_turn(item_id, self._speech_start_ms, end_ms)
                if sessions.turn_flag(self.session, "create_response"):
                    if self.reply is None:
                        self._start_reply({})
                    else:
                        logger.debug("call %s: a response is active; no new one for this turn", self.id)
            else:
                self._uncommitted = (self._speech_start_ms, end_ms)

    def _commit_turn(self, item_id: str, start_ms: int, end_ms: int) -> None:
        item = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        previous = self._store(item, audio_ms=end_ms - start_ms)
        self.emit({"type": "input_audio_buffer.committed", "previous_item_id": previous, "item_id": item_id})
        self.emit({"type": "conversation.item.added", "previous_item_id": previous, "item": item})
        self.emit({"type": "conversation.item.done", "previous_item_id": previous, "item": item})
        self.learner_turns += 1
        if self.session["audio"]["input"].get("transcription"):
            self._spawn(self._transcribe(item, learner_transcript(self.learner_turns), end_ms - start_ms))

    async def _transcribe(self, item: dict[str, Any], transcript: str, audio_ms: int) -> None:
        await asyncio.sleep(TRANSCRIPTION_DELAY_S)
        words = transcript.split(" ")
        for start in range(0, len(words), 3):
            delta = ("" if start == 0 else " ") + " ".join(words[start : start + 3])
            self.emit(
                {
                    "type": "conversation.item.input_audio_transcription.delta",
                    "item_id": item["id"],
                    "content_index": 0,
                    "delta": delta,
                }
            )
            await asyncio.sleep(0.02)
        item["content"][0]["transcript"] = transcript
        audio_tokens = math.ceil(audio_ms / 100)
        text_tokens = _text_tokens(transcript)
        self.emit(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": item["id"],
                "content_index": 0,
                "transcript": transcript,
                **self._logprobs(transcript),
                "usage": {
                    "type": "tokens",
                    "input_tokens": audio_tokens,
                    "output_tokens": text_tokens,
                    "total_tokens": audio_tokens + text_tokens,
                    "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
                },
            }
        )

    def _logprobs(self, transcript: str) -> dict[str, Any]:
        """`logprobs` only when the session asked for them, as the API does."""
        if "item.input_audio_transcription.logprobs" not in (self.session.get("include") or []):
            return {}
        return {"logprobs": transcript_logprobs(transcript)}

    # ----- inspection -------------------------------------------------------------------

    def debug_view(self) -> dict[str, Any]:
        return {
            "call_id": self.id,
            "state": "ended" if self.ended else "active",
            "end_reason": self.end_reason or None,
            "created_at": int(self.created_at),
            # Unix seconds, exact: what the provider's own connected time runs between.
            "created_at_exact": self.created_at,
            "ended_at": self.ended_at,
            "session": self.session,
            "server": self.server_events,
            "client": self.client_events,
        }
