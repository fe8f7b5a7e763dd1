"""Server-side control of live calls: the sideband, the meter, transcripts and the bill.

For every call the server follows the call over the Realtime sideband WebSocket
(`{OPENAI_BASE_URL}/realtime?call_id=…`, opened with the openai SDK's realtime client):

- it asks the tutor to greet first (`response.create`);
- it records the authoritative transcript of both sides, in conversation order, keeping
  for the tutor only the words the learner heard when they interrupted;
- it sums the token usage from each `response.done`;
- it meters connected time against the learner's balance (re-read every few seconds, so
  a purchase mid-call extends it), flags the last minute, and hangs up when the balance
  or FLUENTIO_MAX_SESSION_MINUTES runs out;
- it writes a heartbeat (`last_seen_at`) so that a call whose server died can be charged
  up to that moment at the next start-up (see recovery.py);
- when the call ends, whichever way, it finalises the session exactly once.

One `CallSupervisor` (an asyncio task) runs per live call inside the server process, in
the module-level registry below. The app runs ONE backend worker (one event loop), so
this registry sees every call this server started; recovery.py handles calls left behind
by a process that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import openai
import sqlalchemy as sa
from openai import AsyncOpenAI
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus

from fluentio.billing import ledger
from fluentio.classroom.usage import (
    Usage,
    billable_seconds,
    cost_estimate_microusd,
    positive_int,
    usage_millicredits,
)
from fluentio.db import session_scope
from fluentio.feedback.jobs import enqueue_analysis
from fluentio.models import PracticeSession, SessionStatus, Speaker, TranscriptItem
from fluentio.models.base import utcnow
from fluentio.models.billing import MILLICREDITS_PER_CREDIT, Actor, LedgerReason
from fluentio.openai_client import openai_client
from fluentio.settings import Settings, get_settings
from fluentio.vocabulary import unclear

logger = logging.getLogger(__name__)

OPEN_STATUSES = (SessionStatus.STARTING.value, SessionStatus.LIVE.value)

# Timings (module constants so tests can shorten them).
TICK_SECONDS = 0.25  # how often the meter looks at the clock
BALANCE_REFRESH_SECONDS = 2.0  # how often it re-reads the balance
HEARTBEAT_SECONDS = 5.0  # how often last_seen_at (and the token counts) are written
LOW_BALANCE_SECONDS = 60  # "one minute left"
GREETING_DELAY_SECONDS = 0.8  # let the browser finish connecting before the tutor speaks
PROVIDER_TIMEOUT_SECONDS = 15.0  # HTTP calls to the provider
HANGUP_TIMEOUT_SECONDS = 5.0
CLOSE_WAIT_SECONDS = 2.0  # after a hangup, how long to wait for the sideband to close
SIDEBAND_RECONNECTS = 3  # attempts after the sideband drops abnormally
TRUNCATE_GRACE_SECONDS = 1.5  # wait for the server's own truncation before sending one
# The tutor's speaking rate, used to turn "heard N ms" into "heard these words" when the
# provider does not say how long the whole answer was (over WebRTC the audio never
# passes through the sideband). About 170 words a minute.
CHARS_PER_SECOND = 15.0
KEEP_ALL_FRACTION = 0.8

# Why a call ended (practice_sessions.end_reason).
END_BY_LEARNER = "ended_by_learner"
END_OUT_OF_CREDITS = "out_of_credits"
END_TIME_LIMIT = "time_limit"
END_PEER_LEFT = "peer_left"
END_CONNECT_FAILED = "connect_failed"
END_SERVER_SHUTDOWN = "server_shutdown"
END_SERVER_RESTART = "server_restart"
END_ELSEWHERE = "ended_elsewhere"


def provider_client(*, timeout: float | None = None, settings: Settings | None = None) -> AsyncOpenAI:
    """The shared OpenAI client for the classroom (see fluentio/openai_client.py).

    No automatic retries: a failed start must answer quickly and honestly.
    """
    return openai_client(timeout=PROVIDER_TIMEOUT_SECONDS if timeout is None else timeout, settings=settings)


async def hangup(call_id: str, *, wait_seconds: float | None = None) -> bool:
    """Hang up a call at the provider. True when it is gone (or was already)."""
    try:
        client = provider_client(timeout=wait_seconds or HANGUP_TIMEOUT_SECONDS)
        await client.realtime.calls.hangup(call_id)
    except openai.NotFoundError:
        return True
    except openai.OpenAIError as exc:
        logger.warning("hangup of call %s failed: %s", call_id, type(exc).__name__)
        return False
    return True


_BACKGROUND: set[asyncio.Task[bool]] = set()


def spawn_hangup(call_id: str, *, wait_seconds: float | None = None) -> None:
    """Hang up in the background (from synchronous code running on the event loop)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        logger.warning("no event loop to hang up call %s from", call_id)
        return
    task = loop.create_task(hangup(call_id, wait_seconds=wait_seconds))
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


# --------------------------------------------------------------------- finalising


def finalise_session(
    session_id: uuid.UUID,
    *,
    reason: str,
    until: datetime | None = None,
    usage: Usage | None = None,
    charge: bool = True,
) -> bool:
    """End a call's session and bill it, once. True for the caller that did it.

    One conditional UPDATE (`… WHERE status IN ('starting', 'live')`) decides who
    finalises: concurrent callers (the End button, the sideband closing, recovery) meet
    there and all but one get False. In the same transaction: the connected seconds up
    to `until`, the charge (ledger key `session-usage:{id}`, taking at most what is left,
    so the balance never goes below 0), the token counts and cost estimate, and the
    feedback job. A session that never connected, or with `charge=False`, ends as
    failed and costs nothing.
    """
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        won = session.execute(
            sa.update(PracticeSession)
            .where(col(PracticeSession.id) == session_id, col(PracticeSession.status).in_(OPEN_STATUSES))
            .values(status=SessionStatus.ENDED.value, ended_at=now, end_reason=reason[:32])
        )
        if getattr(won, "rowcount", 0) != 1:
            return False
        row = session.get(PracticeSession, session_id, populate_existing=True)
        assert row is not None
        if usage is not None:
            for name, value in usage.columns().items():
                setattr(row, name, max(value, getattr(row, name)))
        connected = charge and row.started_at is not None
        row.status = SessionStatus.ENDED.value if connected else SessionStatus.FAILED.value
        row.billable_seconds = billable_seconds(row.started_at, until or now) if connected else 0
        row.charged_millicredits = _charge(session, row, reason, settings) if connected else 0
        row.cost_estimate_microusd = cost_estimate_microusd(row, settings)
        session.add(row)
        session.flush()
        if connected:
            enqueue_analysis(session=session, practice_session_id=row.id)
    logger.info(
        "call %s finalised: %s, %s s, %s millicredits",
        session_id,
        reason,
        row.billable_seconds,
        row.charged_millicredits,
    )
    return True


def store_usage(session_id: uuid.UUID, usage: Usage) -> None:
    """Keep token counts that arrive after someone else finalised the call (say, a free
    abandoned start): the admin's cost figure must include every call the provider ran."""
    with session_scope() as session:
        row = session.get(PracticeSession, session_id)
        if row is None:
            return
        for name, value in usage.columns().items():
            setattr(row, name, max(value, getattr(row, name)))
        row.cost_estimate_microusd = cost_estimate_microusd(row, get_settings())
        session.add(row)


def _charge(session: Session, row: PracticeSession, reason: str, settings: Settings) -> int:
    amount = usage_millicredits(row.billable_seconds, settings)
    if reason == END_OUT_OF_CREDITS:
        # The meter hung up because the time the balance bought was used up; rounding
        # to whole seconds must not leave a few millicredits behind.
        amount = max(amount, ledger.balance(session=session, user_id=row.user_id))
    if amount <= 0:
        return 0
    entry = ledger.spend(
        session=session,
        user_id=row.user_id,
        millicredits=amount,
        reason=LedgerReason.SESSION_USAGE,
        idempotency_key=f"session-usage:{row.id}",
        actor=Actor.SYSTEM,
        note=f"{row.billable_seconds} s",
        practice_session_id=row.id,
        allow_partial=True,
    )
    return -entry.millicredits if entry is not None else 0


# -------------------------------------------------------------------- transcripts


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


class TranscriptRecorder:
    """Writes a call's transcript as it happens: one row per conversation item, in the
    order the items appeared (`seq`), updated in place when an item's text changes.

    Each write commits on its own, so a crash loses at most the item in flight. Rows are
    found again by provider item id, so a replayed event (after a sideband reconnect)
    updates rather than duplicates; seq continues after the highest stored one.
    """

    def __init__(self, session_id: uuid.UUID) -> None:
        self.session_id = session_id
        self._seq: dict[str, int] = {}
        self._next: int | None = None

    def note(self, item_id: str | None) -> None:
        """Remember that an item exists, fixing its place in the conversation."""
        if item_id and item_id not in self._seq:
            if self._next is None:
                self._next = self._stored_next_seq()
            self._seq[item_id] = self._next
            self._next += 1

    def save(
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
                self._next = self._stored_next_seq(session)
                self._seq[item_id] = self._next
                self._next += 1
                row.seq = self._seq[item_id]
                session.add(row)
                session.flush()

    def _stored_next_seq(self, session: Session | None = None) -> int:
        query = sa.select(sa.func.max(col(TranscriptItem.seq))).where(
            col(TranscriptItem.session_id) == self.session_id
        )
        if session is not None:
            value = session.scalar(query)
        else:
            with session_scope() as own:
                value = own.scalar(query)
        return 0 if value is None else int(value) + 1


@dataclass
class _TutorItem:
    item_id: str
    response_id: str | None = None
    text: str | None = None
    audio_started: float | None = None  # monotonic time its audio began playing
    audio_stopped: bool = False  # played to the end (or cleared)
    audio_end_ms: int | None = None  # what was heard, once truncated
    cancelled_at: float | None = None  # monotonic time the learner cut in
    cancelled: bool = False
    truncated_by_server: bool = False
    started_ms: int | None = None


@dataclass
class _LearnerItem:
    started_ms: int | None = None
    ended_ms: int | None = None


# ----------------------------------------------------------------- the supervisor


_REGISTRY: dict[uuid.UUID, CallSupervisor] = {}


def get_supervisor(session_id: uuid.UUID) -> CallSupervisor | None:
    return _REGISTRY.get(session_id)


def supervised_ids() -> set[uuid.UUID]:
    return set(_REGISTRY)


def start_supervision(*, session_id: uuid.UUID, user_id: uuid.UUID, call_id: str) -> CallSupervisor:
    """Start following a call (idempotent per session)."""
    existing = _REGISTRY.get(session_id)
    if existing is not None:
        return existing
    supervisor = CallSupervisor(session_id=session_id, user_id=user_id, call_id=call_id)
    _REGISTRY[session_id] = supervisor
    supervisor.task = asyncio.create_task(supervisor.run(), name=f"call-supervisor:{session_id}")
    return supervisor


_SHUTDOWN_HOOKS: list[Callable[[], Awaitable[None]]] = []
# At shutdown the hang-up may go to our own listener (the built-in simulator), which is
# closing: do not wait for it as long as during a lesson.
SHUTDOWN_HANGUP_SECONDS = 1.0


def on_shutdown(hook: Callable[[], Awaitable[None]]) -> None:
    """Run `hook` when the server stops, after every followed call was told to end: a
    provider running in this process (the simulator) closes its calls there."""
    _SHUTDOWN_HOOKS.append(hook)


async def shutdown_all(reason: str = END_SERVER_SHUTDOWN, wait_seconds: float = 10.0) -> None:
    """Hang up and finalise every call this process follows (server stopping): each is
    told why first, then an in-process provider closes its side, so the sidebands end at
    once and every call is finalised once with `reason`."""
    supervisors = list(_REGISTRY.values())
    if supervisors:
        logger.info("ending %d live call(s): %s", len(supervisors), reason)
    for running in supervisors:
        running.hangup_wait = SHUTDOWN_HANGUP_SECONDS
        running.request_end(reason)
    for hook in _SHUTDOWN_HOOKS:
        try:
            await asyncio.wait_for(hook(), wait_seconds)
        except Exception:
            logger.exception("a shutdown hook failed")
    if not supervisors:
        return
    results = await asyncio.gather(
        *(asyncio.wait_for(s.stop(reason), wait_seconds) for s in supervisors), return_exceptions=True
    )
    for supervisor, result in zip(supervisors, results, strict=True):
        if isinstance(result, BaseException):
            logger.warning("call %s did not stop cleanly: %r", supervisor.session_id, result)
            if supervisor.task is not None and not supervisor.task.done():
                supervisor.task.cancel()
                with contextlib.suppress(BaseException):
                    await supervisor.task


@dataclass
class CallSupervisor:
    """Follows one call from connection to finalisation (see the module docstring)."""

    session_id: uuid.UUID
    user_id: uuid.UUID
    call_id: str
    task: asyncio.Task[None] | None = None
    usage: Usage = field(default_factory=Usage)
    hangup_wait: float = HANGUP_TIMEOUT_SECONDS
    finalised: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: str | None = None
    started_at: datetime | None = None
    _started_mono: float | None = None
    _ended_at: datetime | None = None
    _closed_at: datetime | None = None
    _hangup: asyncio.Task[bool] | None = None
    _end_requested: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: asyncio.Event = field(default_factory=asyncio.Event)
    _connection: Any = None
    _greeted: bool = False
    _helpers: set[asyncio.Task[Any]] = field(default_factory=set)
    _recorder: TranscriptRecorder | None = None
    _tutor: dict[str, _TutorItem] = field(default_factory=dict)
    _learner: dict[str, _LearnerItem] = field(default_factory=dict)
    _response_item: dict[str, str] = field(default_factory=dict)
    _speech_started: float | None = None
    _heard_any_audio_events: bool = False
    _rates: list[float] = field(default_factory=list)

    # ------------------------------------------------------------ control

    def request_end(self, reason: str) -> None:
        """Hang up (once) and let the supervisor finalise; returns at once."""
        if self.end_reason is not None:
            return
        self.end_reason = reason
        self._ended_at = utcnow()
        self._end_requested.set()
        self._spawn(self._hang_up_and_close())

    async def stop(self, reason: str) -> None:
        """Hang up and wait until the call is finalised."""
        self.request_end(reason)
        if self.task is None:
            return
        try:
            await asyncio.wait_for(
                asyncio.shield(self.finalised.wait()), CLOSE_WAIT_SECONDS + HANGUP_TIMEOUT_SECONDS + 5
            )
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task

    @property
    def tutor_spoke(self) -> bool:
        """True once the tutor has produced any audio in this call."""
        return self.usage.output_audio_tokens > 0 or any(
            item.audio_started is not None or item.text for item in self._tutor.values()
        )

    @property
    def seconds_connected(self) -> float:
        if self._started_mono is None:
            return 0.0
        return time.monotonic() - self._started_mono

    # --------------------------------------------------------------- run

    async def run(self) -> None:
        meter: asyncio.Task[None] | None = None
        try:
            self._recorder = TranscriptRecorder(self.session_id)
            meter = asyncio.create_task(self._meter())
            await self._follow()
        except asyncio.CancelledError:
            if self.end_reason is None:
                self.end_reason = END_SERVER_SHUTDOWN
            raise
        except Exception:
            logger.exception("supervisor of call %s failed", self.session_id)
        finally:
            if meter is not None:
                meter.cancel()
            await self._finish()

    async def _follow(self) -> None:
        failures = 0
        client = provider_client()
        while not self._end_requested.is_set():
            try:
                async with client.realtime.connect(call_id=self.call_id) as connection:
                    self._connection = connection
                    failures = 0
                    if not self._mark_live():
                        return
                    if not self._greeted:
                        self._greeted = True
                        self._spawn(self._greet(connection))
                    await self._pump(connection)
                    return  # closed cleanly: the call is over
            except ConnectionClosedOK:
                return
            except InvalidStatus as exc:
                # The provider refuses the sideband: the call is gone (or never was).
                logger.info(
                    "sideband for call %s refused: HTTP %s", self.session_id, exc.response.status_code
                )
                return
            except (ConnectionClosed, OSError, TimeoutError, openai.OpenAIError) as exc:
                failures += 1
                if failures > SIDEBAND_RECONNECTS or self._end_requested.is_set():
                    logger.warning("sideband for call %s lost: %r", self.session_id, exc)
                    return
                logger.info("sideband for call %s dropped (%r); reconnecting", self.session_id, exc)
                await asyncio.sleep(0.5 * failures)
            finally:
                self._connection = None

    async def _pump(self, connection: Any) -> None:
        while True:
            raw = await connection.recv_bytes()
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            try:
                await self._handle(event)
            except Exception:
                logger.exception("call %s: could not handle %s", self.session_id, event.get("type"))

    async def _finish(self) -> None:
        self._closed_at = utcnow()
        self._closed.set()
        for helper in list(self._helpers):
            helper.cancel()
        try:
            if self._hangup is None:
                # Never leave a call running unsupervised (and unbilled).
                self._hangup = asyncio.create_task(hangup(self.call_id))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._hangup), self.hangup_wait)
            reason = self.end_reason or (END_PEER_LEFT if self.started_at else END_CONNECT_FAILED)
            until = min(t for t in (self._ended_at, self._closed_at) if t is not None)
            won = await asyncio.to_thread(
                finalise_session, self.session_id, reason=reason, until=until, usage=self.usage
            )
            if not won:
                await asyncio.to_thread(store_usage, self.session_id, self.usage)
        except Exception:
            logger.exception("could not finalise call %s", self.session_id)
        finally:
            _REGISTRY.pop(self.session_id, None)
            self.finalised.set()

    async def _hang_up_and_close(self) -> None:
        """Hang up; the provider then closes the sideband (after its last events). If it
        has not within CLOSE_WAIT_SECONDS, close it from this side: the hangup may itself
        be waiting for that close (some servers only finish closing a WebSocket once the
        peer answers)."""
        self._hangup = asyncio.create_task(hangup(self.call_id))
        try:
            await asyncio.wait_for(asyncio.shield(self._closed.wait()), CLOSE_WAIT_SECONDS)
        except TimeoutError:
            connection = self._connection
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def _greet(self, connection: Any) -> None:
        await asyncio.sleep(GREETING_DELAY_SECONDS)
        with contextlib.suppress(Exception):
            await connection.send({"type": "response.create"})

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    # ------------------------------------------------------------ metering

    def _mark_live(self) -> bool:
        """The call is connected: start the clock (once). False if the session was
        ended meanwhile (e.g. the learner gave up), which ends the supervision."""
        if self.started_at is not None:
            return True
        now = utcnow()
        with session_scope() as session:
            result = session.execute(
                sa.update(PracticeSession)
                .where(
                    col(PracticeSession.id) == self.session_id,
                    col(PracticeSession.status) == SessionStatus.STARTING.value,
                )
                .values(status=SessionStatus.LIVE.value, started_at=now, last_seen_at=now)
            )
            if getattr(result, "rowcount", 0) != 1:
                self.request_end(END_ELSEWHERE)
                return False
        self.started_at = now
        self._started_mono = time.monotonic()
        return True

    async def _meter(self) -> None:
        settings = get_settings()
        limit_seconds = settings.max_session_minutes * 60
        allowed: float | None = None
        last_balance = last_beat = 0.0
        warned = False
        while self.end_reason is None:
            await asyncio.sleep(TICK_SECONDS)
            if self._started_mono is None:
                continue
            now = time.monotonic()
            elapsed = now - self._started_mono
            try:
                if allowed is None or now - last_balance >= BALANCE_REFRESH_SECONDS:
                    allowed = self._allowed_seconds(settings)
                    last_balance = now
                if now - last_beat >= HEARTBEAT_SECONDS:
                    last_beat = now
                    if not self._heartbeat():
                        self.request_end(END_ELSEWHERE)
                        return
                if not warned and allowed - elapsed <= LOW_BALANCE_SECONDS:
                    warned = True
                    self._warn_low_balance()
            except Exception:
                # A database hiccup: keep metering on what is known; the time limit
                # below still applies.
                logger.exception("meter of call %s could not reach the database", self.session_id)
            if allowed is not None and elapsed >= allowed:
                self.request_end(END_OUT_OF_CREDITS)
                return
            if elapsed >= limit_seconds:
                self.request_end(END_TIME_LIMIT)
                return

    def _allowed_seconds(self, settings: Settings) -> float:
        with session_scope() as session:
            millicredits = ledger.balance(session=session, user_id=self.user_id)
        return millicredits * settings.seconds_per_credit / MILLICREDITS_PER_CREDIT

    def _heartbeat(self) -> bool:
        with session_scope() as session:
            result = session.execute(
                sa.update(PracticeSession)
                .where(
                    col(PracticeSession.id) == self.session_id,
                    col(PracticeSession.status) == SessionStatus.LIVE.value,
                )
                .values(last_seen_at=utcnow(), **self.usage.columns())
            )
            return getattr(result, "rowcount", 0) == 1

    def _warn_low_balance(self) -> None:
        with session_scope() as session:
            session.execute(
                sa.update(PracticeSession)
                .where(col(PracticeSession.id) == self.session_id)
                .values(low_balance_warned=True)
            )
        connection = self._connection
        if connection is not None:
            # The page shows the warning; the tutor also starts wrapping up kindly.
            note = {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "system",
                    "content": [
                        {
                            "type": "input_text",
                            "text": "The learner has about one minute of credit left. At a natural "
                            "moment, start wrapping up the conversation kindly.",
                        }
                    ],
                },
            }
            self._spawn(connection.send(note))

    # ---------------------------------------------------------------- events

    def _call_ms(self) -> int | None:
        if self._started_mono is None:
            return None
        return int((time.monotonic() - self._started_mono) * 1000)

    async def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        recorder = self._recorder
        assert recorder is not None
        if kind in ("conversation.item.added", "conversation.item.created"):
            item = event.get("item") or {}
            if item.get("type") == "message" and item.get("role") in ("user", "assistant"):
                recorder.note(item.get("id"))
        elif kind == "input_audio_buffer.speech_started":
            self._speech_started = time.monotonic()
            item_id = event.get("item_id")
            recorder.note(item_id)
            if item_id:
                self._learner.setdefault(item_id, _LearnerItem()).started_ms = event.get("audio_start_ms")
            for tutor in self._tutor.values():
                # The answer playing when the learner cut in stopped being heard now.
                if tutor.audio_started is not None and not tutor.audio_stopped and tutor.cancelled_at is None:
                    tutor.cancelled_at = self._speech_started
        elif kind == "input_audio_buffer.speech_stopped":
            item_id = event.get("item_id")
            if item_id:
                self._learner.setdefault(item_id, _LearnerItem()).ended_ms = event.get("audio_end_ms")
        elif kind == "input_audio_buffer.committed":
            recorder.note(event.get("item_id"))
        elif kind == "conversation.item.input_audio_transcription.completed":
            item_id = event.get("item_id")
            text = " ".join(str(event.get("transcript") or "").split())
            if item_id and text:
                times = self._learner.get(item_id, _LearnerItem())
                await asyncio.to_thread(
                    recorder.save,
                    item_id=item_id,
                    speaker=Speaker.LEARNER,
                    text=text,
                    started_ms=times.started_ms,
                    ended_ms=times.ended_ms,
                )
                await asyncio.to_thread(
                    unclear.record_for_call,
                    practice_session_id=self.session_id,
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
            item = self._tutor.get(self._response_item.get(event.get("response_id") or "", ""))
            if item is not None and item.audio_started is None:
                item.audio_started = time.monotonic()
                item.started_ms = self._call_ms()
        elif kind in ("output_audio_buffer.stopped", "output_audio_buffer.cleared"):
            item = self._tutor.get(self._response_item.get(event.get("response_id") or "", ""))
            if item is not None:
                if kind == "output_audio_buffer.cleared" and item.cancelled_at is None:
                    item.cancelled_at = time.monotonic()
                elif kind == "output_audio_buffer.stopped" and not item.audio_stopped:
                    self._measure_rate(item)
                item.audio_stopped = True
        elif kind == "response.output_audio_transcript.done":
            item_id = event.get("item_id")
            if item_id:
                item = self._tutor.setdefault(
                    item_id, _TutorItem(item_id, response_id=event.get("response_id"))
                )
                item.text = str(event.get("transcript") or "")
                await self._save_tutor(item)
        elif kind == "conversation.item.truncated":
            item_id = event.get("item_id")
            if item_id:
                item = self._tutor.setdefault(item_id, _TutorItem(item_id))
                item.truncated_by_server = True
                item.audio_end_ms = positive_int(event.get("audio_end_ms"))
                if item.text is not None:
                    await self._save_tutor(item)
        elif kind == "response.done":
            await self._response_done(event.get("response") or {})
        elif kind == "error":
            error = event.get("error") or {}
            logger.info(
                "call %s: provider error %s: %s", self.session_id, error.get("code"), error.get("message")
            )

    async def _response_done(self, response: dict[str, Any]) -> None:
        self.usage.add(response.get("usage"))
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
                item.cancelled_at = item.cancelled_at or time.monotonic()
                item.audio_end_ms = max(0, int((item.cancelled_at - item.audio_started) * 1000))
            if item.text is not None:
                await self._save_tutor(item)
            self._spawn(self._truncate_if_server_does_not(item))

    async def _truncate_if_server_does_not(self, item: _TutorItem) -> None:
        """Where the provider does not truncate an interrupted answer itself, tell it
        what was heard, so the model's context matches the learner's (and keep what
        is known in the transcript)."""
        await asyncio.sleep(TRUNCATE_GRACE_SECONDS)
        if item.truncated_by_server:
            return
        connection = self._connection
        if item.audio_end_ms is not None and connection is not None:
            with contextlib.suppress(Exception):
                await connection.conversation.item.truncate(
                    item_id=item.item_id, content_index=0, audio_end_ms=item.audio_end_ms
                )
        elif item.text is not None:
            # How much was heard is unknown: keep the words, flagged as cut short.
            await self._save_tutor(item)

    def _measure_rate(self, item: _TutorItem) -> None:
        """Learn the tutor's speaking rate from answers that played to the end."""
        if item.audio_started is None or item.text is None or item.cancelled or item.truncated_by_server:
            return
        seconds = time.monotonic() - item.audio_started
        if seconds >= 1.0 and len(item.text) >= 10:
            self._rates.append(len(item.text) / seconds)

    @property
    def chars_per_second(self) -> float:
        if not self._rates:
            return CHARS_PER_SECOND
        ordered = sorted(self._rates)
        return ordered[len(ordered) // 2]

    async def _save_tutor(self, item: _TutorItem) -> None:
        assert self._recorder is not None and item.text is not None
        cut = item.truncated_by_server or item.cancelled
        if cut and item.audio_end_ms is not None:
            text = heard_words(item.text, item.audio_end_ms, chars_per_second=self.chars_per_second)
        else:
            text = " ".join(item.text.split())
        if not text and not cut:
            return
        known = cut and item.started_ms is not None and item.audio_end_ms is not None
        ended_ms = item.started_ms + item.audio_end_ms if known else None  # type: ignore[operator]
        await asyncio.to_thread(
            self._recorder.save,
            item_id=item.item_id,
            speaker=Speaker.TUTOR,
            text=text,
            truncated=cut,
            started_ms=item.started_ms,
            ended_ms=ended_ms,
        )
