"""Items said while no worker followed a call: found through `previous_item_id`, fetched
with `conversation.item.retrieve`, stored in their place (fluentio/classroom/transcript.py)."""

from __future__ import annotations

import uuid
from collections.abc import Coroutine
from typing import Any

from fluentio.classroom.transcript import Conversation, TranscriptRecorder
from fluentio.models import Speaker


class MemoryRecorder(TranscriptRecorder):
    """The recorder with its rows in memory: {item id: (seq, speaker, text)}."""

    def __init__(self, stored: dict[str, int] | None = None) -> None:
        super().__init__(uuid.uuid4())
        self.rows: dict[str, tuple[int, str, str]] = {}
        self._stored = stored or {}

    def _stored_items(self) -> dict[str, int]:
        return dict(self._stored)

    def _write(self, *, item_id: str, speaker: Speaker, text: str, **_: Any) -> None:
        self.rows[item_id] = (self._seq[item_id], speaker.value, text)

    def in_order(self) -> list[tuple[str, str]]:
        return [(speaker, text) for _, speaker, text in sorted(self.rows.values())]


class Talk:
    """A Conversation whose helper tasks run when the test says (`drain`)."""

    def __init__(self, recorder: MemoryRecorder) -> None:
        self.sent: list[dict[str, Any]] = []
        self.pending: list[Coroutine[Any, Any, Any]] = []
        self.conversation = Conversation(
            recorder, send=self._send, spawn=self.pending.append, call_ms=lambda: None
        )

    async def _send(self, event: dict[str, Any]) -> None:
        self.sent.append(event)

    async def handle(self, event: dict[str, Any]) -> None:
        await self.conversation.handle(event)

    async def drain(self) -> None:
        while self.pending:
            await self.pending.pop(0)


async def conversation(recorder: MemoryRecorder) -> Talk:
    await recorder.load()
    return Talk(recorder)


def user_item(item_id: str, transcript: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def tutor_item(item_id: str, transcript: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_audio", "transcript": transcript}],
    }


async def test_a_sentence_named_only_as_previous_item_is_fetched_and_stored_in_its_place() -> None:
    recorder = MemoryRecorder(stored={"greeting": 0})
    talk = await conversation(recorder)
    sent = talk.sent
    # Taken over: the next learner turn names a sentence nobody stored.
    await talk.handle({"type": "input_audio_buffer.committed", "previous_item_id": "gap", "item_id": "next"})
    await talk.drain()
    assert [e["type"] for e in sent] == ["conversation.item.retrieve"] and sent[0]["item_id"] == "gap"
    await talk.handle(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "next",
            "transcript": "Second.",
        }
    )
    await talk.handle({"type": "conversation.item.retrieved", "item": user_item("gap", "First one.")})
    assert recorder.in_order() == [("learner", "First one."), ("learner", "Second.")]
    assert 0 < recorder.rows["gap"][0] < recorder.rows["next"][0]


async def test_a_late_item_goes_before_a_tutor_answer_already_noted() -> None:
    recorder = MemoryRecorder(stored={"greeting": 0})
    talk = await conversation(recorder)
    # The answer was already being produced: its transcript comes before the event that
    # names the learner's sentence it answers.
    await talk.handle(
        {"type": "response.output_item.added", "response_id": "r1", "item": {"id": "t1", "type": "message"}}
    )
    await talk.handle(
        {"type": "response.output_audio_transcript.done", "item_id": "t1", "transcript": "Nice!"}
    )
    await talk.handle(
        {"type": "conversation.item.done", "previous_item_id": "l1", "item": tutor_item("t1", "Nice!")}
    )
    await talk.drain()
    await talk.handle({"type": "conversation.item.retrieved", "item": user_item("l1", "I went home.")})
    assert recorder.in_order() == [("learner", "I went home."), ("tutor", "Nice!")]
    assert 0 < recorder.rows["l1"][0] < recorder.rows["t1"][0]
    assert [e["item_id"] for e in talk.sent] == ["l1"]


async def test_known_items_system_notes_and_missing_items_are_not_fetched() -> None:
    recorder = MemoryRecorder(stored={"greeting": 0})
    talk = await conversation(recorder)
    sent = talk.sent
    note = {"id": "note", "type": "message", "role": "system", "content": []}
    await talk.handle({"type": "conversation.item.added", "previous_item_id": "greeting", "item": note})
    await talk.handle({"type": "input_audio_buffer.committed", "previous_item_id": "note", "item_id": "l1"})
    await talk.handle({"type": "input_audio_buffer.committed", "previous_item_id": "gone", "item_id": "l2"})
    await talk.drain()
    assert [e["item_id"] for e in sent] == ["gone"]
    # The provider no longer has it: the error ends the wait, nothing is stored.
    await talk.handle({"type": "error", "error": {"code": "item_not_found", "event_id": sent[0]["event_id"]}})
    await talk.handle({"type": "conversation.item.retrieved", "item": user_item("gone", "late")})
    assert recorder.rows == {}
