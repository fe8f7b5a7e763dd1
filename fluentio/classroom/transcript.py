"""The call's transcript: what each side said, in conversation order, as the learner heard it.

- `Conversation` follows the sideband's conversation events and decides the words to
  keep: the learner's transcription, and for the tutor only what was heard when the
  learner cut in (from the playback events, or the provider's truncation);
- `TranscriptRecorder` is the only writer of `TranscriptItem` rows while a call runs
  (account deletion scrubs them through lifecycle.py);
- `heard_words` turns "heard N ms" into the words heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fluentio.classroom.usage import positive_int
from fluentio.db import off_loop, session_scope
from fluentio.models import Speaker, TranscriptItem
from fluentio.vocabulary import unclear

logger = logging.getLogger(__name__)

# The tutor's speaking rate, used to turn "heard N ms" into "heard these words" when the
# provider does not say how long the whole answer was (over WebRTC the audio never
# passes through the sideband). About 170 words a minute.
CHARS_PER_SECOND = 15.0
KEEP_ALL_FRACTION = 0.8
TRUNCATE_GRACE_SECONDS = 1.5  # wait for the provider's own truncation before sending one
# How long the analysis of a taken-over call waits for the learner's page to hand over
# what no worker heard (fill_from_page): the page does so when it learns the call ended,
# within a second or two when the server ended it; captions later than this are still
# stored, but the analysis has already read the transcript.
PAGE_CAPTIONS_GRACE_SECONDS = 10.0


def heard_words(
    text: str, heard_ms: float, total_ms: float | None = None, *, chars_per_second: float = CHARS_PER_SECOND
) -> str:
    """The start of `text` the learner heard in `heard_ms` of an answer `total_ms` long:
    proportional, cut between words, a word kept when at least half of it was heard.

    Without `total_ms` the length is estimated from the speaking rate; an estimate is
    only that, so when nearly all of it fits into `heard_ms` the text is kept whole (it
    is then most likely already just what was heard, as some providers send it).
    """
    text = " ".join(text.split())
    if not text:
        return ""
    estimated = total_ms is None or total_ms <= 0
    if estimated:
        total_ms = len(text) / chars_per_second * 1000
    assert total_ms is not None
    fraction = min(1.0, max(0.0, heard_ms / total_ms))
    if fraction >= (KEEP_ALL_FRACTION if estimated else 1.0):
        return text
    limit = fraction * len(text)
    kept: list[str] = []
    position = 0
    for word in text.split(" "):
        middle = position + len(word) / 2
        if middle > limit:
            break
        kept.append(word)
        position += len(word) + 1
    return " ".join(kept)


# Items are numbered SEQ_STEP apart, so that an item learnt of late (fetched with
# `conversation.item.retrieve` after a take-over) is placed between two known ones.
SEQ_STEP = 1024


class TranscriptRecorder:
    """Writes a call's transcript as it happens: one row per conversation item, in the
    order the items appeared (`seq`), updated in place when an item's text changes.

    Each write commits on its own (in a worker thread), so a crash loses at most the
    item in flight. Rows are found again by provider item id, so a replayed event (after
    a sideband reconnect) updates rather than duplicates; seq continues after the
    highest stored one, and the stored items are known (`load`, before the first event).
    """

    def __init__(self, session_id: uuid.UUID) -> None:
        self.session_id = session_id
        self._seq: dict[str, int] = {}
        self._next = 0

    async def load(self) -> None:
        stored = await off_loop(self._stored_items)
        self._seq.update(stored)
        self._next = max(stored.values(), default=-SEQ_STEP) + SEQ_STEP

    def knows(self, item_id: str) -> bool:
        """True when the item has a place: stored, or noted in this call."""
        return item_id in self._seq

    def note(self, item_id: str | None, *, before: str | None = None) -> None:
        """Remember that an item exists, fixing its place in the conversation: after
        every item known so far, or just before `before` (an item learnt of late)."""
        if not item_id or item_id in self._seq:
            return
        if before is None or before not in self._seq:
            self._seq[item_id] = self._next
            self._next += SEQ_STEP
            return
        upper = self._seq[before]
        lower = max((seq for seq in self._seq.values() if seq < upper), default=upper - SEQ_STEP)
        if upper - lower < 2:
            # No room left between the two (many items learnt of late in one place):
            # keep it, after the others, rather than lose it.
            self._seq[item_id] = self._next
            self._next += SEQ_STEP
            return
        self._seq[item_id] = (lower + upper) // 2

    async def save(
        self,
        *,
        item_id: str,
        speaker: Speaker,
        text: str,
        truncated: bool = False,
        started_ms: int | None = None,
        ended_ms: int | None = None,
    ) -> None:
        self.note(item_id)
        await off_loop(
            self._write,
            item_id=item_id,
            speaker=speaker,
            text=text,
            truncated=truncated,
            started_ms=started_ms,
            ended_ms=ended_ms,
        )

    def _write(
        self,
        *,
        item_id: str,
        speaker: Speaker,
        text: str,
        truncated: bool,
        started_ms: int | None,
        ended_ms: int | None,
    ) -> None:
        with session_scope() as session:
            row = session.exec(
                select(TranscriptItem).where(
                    TranscriptItem.session_id == self.session_id,
                    TranscriptItem.provider_item_id == item_id,
                )
            ).first()
            if row is None:
                row = TranscriptItem(
                    session_id=self.session_id,
                    seq=self._seq[item_id],
                    speaker=speaker.value,
                    provider_item_id=item_id,
                )
            row.text = text
            row.truncated = truncated
            if started_ms is not None:
                row.started_ms = started_ms
            if ended_ms is not None:
                row.ended_ms = ended_ms
            session.add(row)
            try:
                with session.begin_nested():
                    session.flush()
            except IntegrityError:
                # The seq is taken (a row written by an earlier supervisor of this call):
                # move this item, and the ones after it, past the stored rows.
                self._next = max(self._next, self._stored_next_seq(session))
                self._seq[item_id] = self._next
                self._next += SEQ_STEP
                row.seq = self._seq[item_id]
                session.add(row)
                session.flush()

    def _stored_items(self) -> dict[str, int]:
        with session_scope() as session:
            rows = session.execute(
                sa.select(col(TranscriptItem.provider_item_id), col(TranscriptItem.seq)).where(
                    col(TranscriptItem.session_id) == self.session_id
                )
            ).all()
        return {str(item_id): int(seq) for item_id, seq in rows if item_id}

    def _stored_next_seq(self, session: Session) -> int:
        value = session.scalar(
            sa.select(sa.func.max(col(TranscriptItem.seq))).where(
                col(TranscriptItem.session_id) == self.session_id
            )
        )
        return 0 if value is None else int(value) + SEQ_STEP


@dataclass(frozen=True)
class PageCaption:
    """A finished caption as the learner's page showed it: the provider's item id, who
    spoke and the words."""

    item_id: str
    speaker: Speaker
    text: str


def fill_from_page(*, session: Session, session_id: uuid.UUID, captions: Sequence[PageCaption]) -> int:
    """Items of a taken-over call that no worker heard, from the learner's page.

    While a call changes hands nobody follows the sideband; `conversation.item.retrieve`
    recovers an item the next event names, but not two in a row (a retrieved item does
    not say what came before it). The page heard every item on its own data channel, so
    its captions, in the order it showed them, fill the items with an id never stored:
    each goes between the stored items the page showed around it. A stored row is never
    changed. The caller checks that the call was taken over and is the learner's own.
    How many rows were added; does not commit."""
    stored = {
        str(item_id): int(seq)
        for item_id, seq in session.execute(
            sa.select(col(TranscriptItem.provider_item_id), col(TranscriptItem.seq)).where(
                col(TranscriptItem.session_id) == session_id
            )
        ).all()
        if item_id
    }
    page = [c for c in captions if c.text.strip()]
    added = 0
    index = 0
    while index < len(page):
        if page[index].item_id in stored:
            index += 1
            continue
        run_end = index
        while run_end < len(page) and page[run_end].item_id not in stored:
            run_end += 1
        run = [c for c in page[index:run_end] if c.item_id not in stored]
        last = max(stored.values(), default=-SEQ_STEP)
        lower = stored[page[index - 1].item_id] if index > 0 else min(stored.values(), default=0) - SEQ_STEP
        upper = stored[page[run_end].item_id] if run_end < len(page) else last + SEQ_STEP * (len(run) + 1)
        step = (upper - lower) // (len(run) + 1)
        taken = set(stored.values())
        for position, caption in enumerate(run, start=1):
            seq = lower + step * position
            if step < 1 or seq in taken:
                seq = max(taken, default=last) + SEQ_STEP  # no room between: after the rest
            session.add(
                TranscriptItem(
                    session_id=session_id,
                    seq=seq,
                    speaker=caption.speaker.value,
                    text=caption.text,
                    provider_item_id=caption.item_id,
                )
            )
            stored[caption.item_id] = seq
            taken.add(seq)
            added += 1
        index = run_end
    if added:
        session.flush()
    return added


# Our `conversation.item.retrieve` events carry this event id prefix, so that an error
# answering one is recognised.
RETRIEVE_EVENT_PREFIX = "fluentio_retrieve_"


def _spoken(item: dict[str, Any]) -> bool:
    """A message of the learner or the tutor (not a system note, not a tool call)."""
    return item.get("type") == "message" and item.get("role") in ("user", "assistant")


def _said(part: dict[str, Any]) -> str:
    """The words in one content part of a message item (audio: its transcript)."""
    if part.get("type") in ("input_audio", "output_audio", "audio"):
        return str(part.get("transcript") or "")
    if part.get("type") in ("input_text", "output_text", "text"):
        return str(part.get("text") or "")
    return ""


@dataclass
class _TutorItem:
    item_id: str
    response_id: str | None = None
    text: str | None = None
    audio_started: float | None = None  # clock time its audio began playing
    audio_stopped: bool = False  # played to the end (or cleared)
    audio_end_ms: int | None = None  # what was heard, once truncated
    cancelled_at: float | None = None  # clock time the learner cut in
    cancelled: bool = False
    truncated_by_server: bool = False
    started_ms: int | None = None


@dataclass
class _LearnerItem:
    started_ms: int | None = None
    ended_ms: int | None = None


class Conversation:
    """Follows one call's conversation events and records what was said and heard.

    `send` sends an event on the sideband (to truncate an answer the provider did not),
    `spawn` runs a helper task owned by the call, `call_ms` is the call's own time in
    ms (None before it connected) and `clock` a monotonic clock in seconds.
    """

    def __init__(
        self,
        recorder: TranscriptRecorder,
        *,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        call_ms: Callable[[], int | None],
        clock: Callable[[], float] = time.monotonic,
        truncate_grace: float = TRUNCATE_GRACE_SECONDS,
    ) -> None:
        self.recorder = recorder
        self._send = send
        self._spawn = spawn
        self._call_ms = call_ms
        self._clock = clock
        self._truncate_grace = truncate_grace
        self._tutor: dict[str, _TutorItem] = {}
        self._learner: dict[str, _LearnerItem] = {}
        self._response_item: dict[str, str] = {}
        self._heard_any_audio_events = False
        self._rates: list[float] = []
        self._not_spoken: set[str] = set()  # items that are not what either side said
        self._retrieving: set[str] = set()

    @property
    def tutor_spoke(self) -> bool:
        """True once the tutor has produced any audio or words in this call."""
        return any(item.audio_started is not None or item.text for item in self._tutor.values())

    @property
    def chars_per_second(self) -> float:
        if not self._rates:
            return CHARS_PER_SECOND
        ordered = sorted(self._rates)
        return ordered[len(ordered) // 2]

    async def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        recorder = self.recorder
        if kind in ("conversation.item.added", "conversation.item.created", "conversation.item.done"):
            item = event.get("item") or {}
            item_id = item.get("id")
            if _spoken(item):
                self._link(item_id, event.get("previous_item_id"))
                recorder.note(item_id)
            elif item_id:
                self._not_spoken.add(item_id)
        elif kind == "conversation.item.retrieved":
            await self._retrieved(event.get("item") or {})
        elif kind == "error":
            # A retrieve of an item the provider no longer has (deleted): nothing to add.
            client_event = str((event.get("error") or {}).get("event_id") or "")
            if client_event.startswith(RETRIEVE_EVENT_PREFIX):
                self._retrieving.discard(client_event.removeprefix(RETRIEVE_EVENT_PREFIX))
        elif kind == "input_audio_buffer.speech_started":
            cut_in = self._clock()
            item_id = event.get("item_id")
            recorder.note(item_id)
            if item_id:
                self._learner.setdefault(item_id, _LearnerItem()).started_ms = event.get("audio_start_ms")
            for tutor in self._tutor.values():
                # The answer playing when the learner cut in stopped being heard now.
                if tutor.audio_started is not None and not tutor.audio_stopped and tutor.cancelled_at is None:
                    tutor.cancelled_at = cut_in
        elif kind == "input_audio_buffer.speech_stopped":
            item_id = event.get("item_id")
            if item_id:
                self._learner.setdefault(item_id, _LearnerItem()).ended_ms = event.get("audio_end_ms")
        elif kind == "input_audio_buffer.committed":
            self._link(event.get("item_id"), event.get("previous_item_id"))
            recorder.note(event.get("item_id"))
        elif kind == "conversation.item.input_audio_transcription.completed":
            item_id = event.get("item_id")
            text = " ".join(str(event.get("transcript") or "").split())
            if item_id and text:
                times = self._learner.get(item_id, _LearnerItem())
                await recorder.save(
                    item_id=item_id,
                    speaker=Speaker.LEARNER,
                    text=text,
                    started_ms=times.started_ms,
                    ended_ms=times.ended_ms,
                )
                # The recogniser's word confidences: unclear words for the learner's deck.
                await off_loop(
                    unclear.record_for_call,
                    practice_session_id=recorder.session_id,
                    provider_item_id=item_id,
                    logprobs=event.get("logprobs"),
                )
        elif kind == "response.output_item.added":
            item = event.get("item") or {}
            item_id = item.get("id")
            if item_id and item.get("type") == "message":
                recorder.note(item_id)
                response_id = event.get("response_id")
                self._tutor.setdefault(item_id, _TutorItem(item_id)).response_id = response_id
                if response_id:
                    self._response_item[response_id] = item_id
        elif kind == "output_audio_buffer.started":
            self._heard_any_audio_events = True
            playing = self._tutor_for(event)
            if playing is not None and playing.audio_started is None:
                playing.audio_started = self._clock()
                playing.started_ms = self._call_ms()
        elif kind in ("output_audio_buffer.stopped", "output_audio_buffer.cleared"):
            playing = self._tutor_for(event)
            if playing is not None:
                if kind == "output_audio_buffer.cleared" and playing.cancelled_at is None:
                    playing.cancelled_at = self._clock()
                elif kind == "output_audio_buffer.stopped" and not playing.audio_stopped:
                    self._measure_rate(playing)
                playing.audio_stopped = True
        elif kind == "response.output_audio_transcript.done":
            item_id = event.get("item_id")
            if item_id:
                said = self._tutor.setdefault(
                    item_id, _TutorItem(item_id, response_id=event.get("response_id"))
                )
                said.text = str(event.get("transcript") or "")
                await self._save_tutor(said)
        elif kind == "conversation.item.truncated":
            item_id = event.get("item_id")
            if item_id:
                cut = self._tutor.setdefault(item_id, _TutorItem(item_id))
                cut.truncated_by_server = True
                cut.audio_end_ms = positive_int(event.get("audio_end_ms"))
                if cut.text is not None:
                    await self._save_tutor(cut)
        elif kind == "response.done":
            await self._response_done(event.get("response") or {})

    # ------------------------------------------------ items learnt of late

    def _link(self, item_id: object, previous_id: object) -> None:
        """`item_id` follows `previous_id` in the provider's conversation. A previous item
        this call has never seen was said while nobody followed the call (between a
        worker's death and the take-over, or a sideband drop): it gets its place now, just
        before `item_id`, and is fetched from the provider (`conversation.item.retrieve`;
        the answer, `conversation.item.retrieved`, carries its words)."""
        if not isinstance(previous_id, str) or not previous_id or not isinstance(item_id, str):
            return
        if self.recorder.knows(previous_id) or previous_id in self._not_spoken:
            return
        if previous_id in self._retrieving:
            return
        self.recorder.note(previous_id, before=item_id)
        self._retrieving.add(previous_id)
        logger.info(
            "call %s: fetching item %s said while nobody listened", self.recorder.session_id, previous_id
        )
        request = {
            "type": "conversation.item.retrieve",
            "event_id": RETRIEVE_EVENT_PREFIX + previous_id,
            "item_id": previous_id,
        }
        self._spawn(self._send_quietly(request))

    async def _send_quietly(self, event: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            await self._send(event)

    async def _retrieved(self, item: dict[str, Any]) -> None:
        """Store what an item fetched after a gap said (the learner's words are the
        transcript of its audio). A learner's item whose transcription is still running
        is saved by its `…transcription.completed` event instead."""
        item_id = item.get("id")
        if not isinstance(item_id, str) or item_id not in self._retrieving:
            return
        self._retrieving.discard(item_id)
        if not _spoken(item):
            self._not_spoken.add(item_id)
            return
        learner = item.get("role") == "user"
        text = " ".join(" ".join(_said(part) for part in item.get("content") or []).split())
        if not text:
            return
        if learner:
            await self.recorder.save(item_id=item_id, speaker=Speaker.LEARNER, text=text)
            return
        said = self._tutor.setdefault(item_id, _TutorItem(item_id))
        if said.text is None:  # its own transcript event, when it comes, knows best
            said.text = text
            said.truncated_by_server = item.get("status") == "incomplete"
            await self.recorder.save(
                item_id=item_id, speaker=Speaker.TUTOR, text=text, truncated=said.truncated_by_server
            )

    def _tutor_for(self, event: dict[str, Any]) -> _TutorItem | None:
        return self._tutor.get(self._response_item.get(event.get("response_id") or "", ""))

    async def _response_done(self, response: dict[str, Any]) -> None:
        if response.get("status") != "cancelled":
            return
        for output in response.get("output") or []:
            item = self._tutor.get(output.get("id") or "")
            if item is None or item.cancelled or item.truncated_by_server:
                continue
            item.cancelled = True
            if item.audio_started is None:
                if not self._heard_any_audio_events:
                    # No playback events on this connection: wait for the truncation.
                    self._spawn(self._truncate_if_server_does_not(item))
                    continue
                item.audio_end_ms = 0  # cancelled before any of it played
            else:
                item.cancelled_at = item.cancelled_at or self._clock()
                item.audio_end_ms = max(0, int((item.cancelled_at - item.audio_started) * 1000))
            if item.text is not None:
                await self._save_tutor(item)
            self._spawn(self._truncate_if_server_does_not(item))

    async def _truncate_if_server_does_not(self, item: _TutorItem) -> None:
        """Where the provider does not truncate an interrupted answer itself, tell it
        what was heard, so the model's context matches the learner's (and keep what
        is known in the transcript)."""
        await asyncio.sleep(self._truncate_grace)
        if item.truncated_by_server:
            return
        if item.audio_end_ms is not None:
            with contextlib.suppress(Exception):
                await self._send(
                    {
                        "type": "conversation.item.truncate",
                        "item_id": item.item_id,
                        "content_index": 0,
                        "audio_end_ms": item.audio_end_ms,
                    }
                )
        elif item.text is not None:
            # How much was heard is unknown: keep the words, flagged as cut short.
            await self._save_tutor(item)

    def _measure_rate(self, item: _TutorItem) -> None:
        """Learn the tutor's speaking rate from answers that played to the end."""
        if item.audio_started is None or item.text is None or item.cancelled or item.truncated_by_server:
            return
        seconds = self._clock() - item.audio_started
        if seconds >= 1.0 and len(item.text) >= 10:
            self._rates.append(len(item.text) / seconds)

    async def _save_tutor(self, item: _TutorItem) -> None:
        assert item.text is not None
        cut = item.truncated_by_server or item.cancelled
        if cut and item.audio_end_ms is not None:
            text = heard_words(item.text, item.audio_end_ms, chars_per_second=self.chars_per_second)
        else:
            text = " ".join(item.text.split())
        if not text and not cut:
            return
        ended_ms = None
        if cut and item.started_ms is not None and item.audio_end_ms is not None:
            ended_ms = item.started_ms + item.audio_end_ms
        await self.recorder.save(
            item_id=item.item_id,
            speaker=Speaker.TUTOR,
            text=text,
            truncated=cut,
            started_ms=item.started_ms,
            ended_ms=ended_ms,
        )
