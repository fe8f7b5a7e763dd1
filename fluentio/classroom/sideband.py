"""Following live calls over the Realtime sideband: connect, dispatch, hang up, finalise.

For every call the server opens the sideband WebSocket (`{OPENAI_BASE_URL}/realtime?
call_id=…`, with the openai SDK's realtime client) and dispatches what arrives:
conversation events to the transcript (transcript.py), each `response.done`'s tokens
to the call's `Usage`; the meter (meter.py) runs beside it. The tutor is asked to greet
first (`response.create`).

Ending is always the same, whoever asks (the learner, the meter, shutdown): hang up,
wait until the provider has acknowledged it, keep listening until the provider closes
the sideband (its last `response.done` comes just before), then finalise once
(lifecycle.py). The charge runs to the moment the provider confirmed the hang-up (or
closed the call itself), the same clock as the provider's own connected time: when the
web process hung up for the learner, the moment it stored (`hung_up_at`), never the
later moment at which this owner, busy with hundreds of calls, saw the sideband close.

One `CallSupervisor` (an asyncio task) runs per live call this process owns, in this
module's registry (in-memory: only this process's calls). Which process owns which call
is a lease on the session row (ownership.py): a worker that takes a call over from a
dead or stopping one starts its supervisor with `Resumed` (what was stored: the clock's
start, the last heartbeat, the token counts; the transcript is loaded by
`TranscriptRecorder.load`) and re-attaches to the same call id without greeting again.
A supervisor that hands its call over (`detach`) stops following without hanging up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import openai

# The SDK imports its WebSocket client on the first sideband connect; imported here, with
# the app, so the first learner's call does not pay for it on the event loop.
import openai.lib._websocket
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus

from fluentio.billing import ledger
from fluentio.classroom import lifecycle
from fluentio.classroom.meter import Meter, MeterLimits, shared_balance_reads
from fluentio.classroom.provider import hangup, hangup_acknowledged_at, provider_client, sideband_options
from fluentio.classroom.reasons import EndReason
from fluentio.classroom.transcript import TRUNCATE_GRACE_SECONDS, Conversation, TranscriptRecorder
from fluentio.classroom.usage import Usage
from fluentio.db import in_transaction
from fluentio.models.base import utcnow
from fluentio.models.billing import MILLICREDITS_PER_CREDIT
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallTimings:
    """How long each step of following a call may take (tests pass shorter ones)."""

    greeting_delay: float = 0.8  # let the browser finish connecting before the tutor speaks
    truncate_grace: float = TRUNCATE_GRACE_SECONDS
    # After the provider acknowledged a hang-up, how long it may take to close the
    # sideband before we close it ourselves.
    close_wait: float = 2.0
    reconnects: int = 3  # attempts after the sideband drops abnormally


# How long an owner waits for the web's acknowledged hang-up to be stored (see
# CallSupervisor._await_hangup_elsewhere) before charging up to what it saw itself: the
# web, ending hundreds of calls at once, may take seconds to store it.
HANGUP_RECORD_WAIT = 6.0

# At shutdown the hang-up may go to our own listener (the built-in simulator), which is
# closing: do not wait for it as long as during a lesson.
SHUTDOWN_HANGUP_SECONDS = 1.0

_REGISTRY: dict[uuid.UUID, CallSupervisor] = {}
_SHUTDOWN_HOOKS: list[Callable[[], Awaitable[None]]] = []


def get_supervisor(session_id: uuid.UUID) -> CallSupervisor | None:
    return _REGISTRY.get(session_id)


def supervised_ids() -> set[uuid.UUID]:
    return set(_REGISTRY)


async def _acknowledged(timed: asyncio.Task[datetime | None]) -> bool:
    return await asyncio.shield(timed) is not None


class HeartbeatBatch:
    """The heartbeats of this process's calls, written together: each call's meter asks
    for one, and whatever is asked within `window` seconds goes to the database in one
    worker thread and two statements (`lifecycle.heartbeat_many`), so that a worker
    holding hundreds of calls does not run a hundred transactions a second beside its
    event loop."""

    def __init__(self, window: float = 0.25) -> None:
        self.window = window
        self._waiting: dict[uuid.UUID, tuple[Usage, list[asyncio.Future[bool]]]] = {}
        self._flush: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def beat(self, session_id: uuid.UUID, usage: Usage) -> bool:
        """Record that the call is followed, with its token counts; False when it is no
        longer live (ended elsewhere)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests run one each): start afresh
            self._loop, self._waiting, self._flush = loop, {}, None
        future: asyncio.Future[bool] = loop.create_future()
        _, futures = self._waiting.setdefault(session_id, (usage, []))
        self._waiting[session_id] = (Usage(**usage.columns()), futures)
        futures.append(future)
        if self._flush is None or self._flush.done():
            self._flush = asyncio.create_task(self._write_soon())
        return await future

    async def _write_soon(self) -> None:
        await asyncio.sleep(self.window)
        waiting, self._waiting = self._waiting, {}
        try:
            live = await in_transaction(
                lifecycle.heartbeat_many,
                now=utcnow(),
                usages={session_id: usage for session_id, (usage, _) in waiting.items()},
            )
        except Exception as exc:
            for _, futures in waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        for session_id, (_, futures) in waiting.items():
            for future in futures:
                if not future.done():
                    future.set_result(session_id in live)


_HEARTBEATS = HeartbeatBatch()


@dataclass(frozen=True)
class Resumed:
    """A call taken over from another process: what its row had stored."""

    started_at: datetime | None  # None: it never went live
    last_seen_at: datetime | None
    usage: Usage


def start_supervision(
    *,
    session_id: uuid.UUID,
    user_id: uuid.UUID,
    call_id: str,
    answered_at: datetime | None = None,
    limits: MeterLimits | None = None,
    timings: CallTimings | None = None,
    resumed: Resumed | None = None,
) -> CallSupervisor:
    """Start following a call (idempotent per session). `answered_at` is when the
    provider created the call: its connected time, and ours, run from there."""
    existing = _REGISTRY.get(session_id)
    if existing is not None:
        return existing
    supervisor = CallSupervisor(
        session_id=session_id,
        user_id=user_id,
        call_id=call_id,
        answered_at=answered_at or utcnow(),
        limits=limits or MeterLimits.from_settings(get_settings()),
        timings=timings or CallTimings(),
        resumed=resumed,
    )
    if resumed is not None:
        supervisor.usage = Usage(**resumed.usage.columns())
        supervisor.started_at = resumed.started_at
        supervisor._greeted = resumed.started_at is not None
    _REGISTRY[session_id] = supervisor
    supervisor.task = asyncio.create_task(supervisor.run(), name=f"call-supervisor:{session_id}")
    return supervisor


def on_shutdown(hook: Callable[[], Awaitable[None]]) -> None:
    """Run `hook` when the server stops, after every followed call was told to end: a
    provider running in this process (the simulator) closes its calls there."""
    _SHUTDOWN_HOOKS.append(hook)


async def shutdown_all(reason: EndReason = EndReason.SERVER_SHUTDOWN, wait_seconds: float = 10.0) -> None:
    """Hang up and finalise every call this process follows (server stopping): each is
    told why first, then an in-process provider closes its side, so the sidebands end at
    once and every call is finalised once with `reason`."""
    supervisors = list(_REGISTRY.values())
    if supervisors:
        logger.info("ending %d live call(s): %s", len(supervisors), reason.value)
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


async def detach_all() -> list[CallSupervisor]:
    """Stop following every call without hanging up (a graceful hand-over); the
    supervisors, whose `usage` the caller stores with the released lease."""
    supervisors = list(_REGISTRY.values())
    await asyncio.gather(*(s.detach() for s in supervisors), return_exceptions=True)
    return supervisors


async def _read_balances(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    return await in_transaction(ledger.balances, user_ids=user_ids)


@dataclass
class CallSupervisor:
    """Follows one call from connection to finalisation (see the module docstring)."""

    session_id: uuid.UUID
    user_id: uuid.UUID
    call_id: str
    answered_at: datetime
    limits: MeterLimits
    timings: CallTimings
    task: asyncio.Task[None] | None = None
    resumed: Resumed | None = None
    usage: Usage = field(default_factory=Usage)
    hangup_wait: float | None = None
    finalised: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: EndReason | None = None
    started_at: datetime | None = None
    _meter: Meter | None = None
    _conversation: Conversation | None = None
    _hung_up_at: datetime | None = None
    _closed_at: datetime | None = None
    _hangup: asyncio.Task[bool] | None = None
    _ending: asyncio.Task[None] | None = None
    _end_requested: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: asyncio.Event = field(default_factory=asyncio.Event)
    _connection: Any = None
    _greeted: bool = False
    _detached: bool = False
    _attached: bool = False
    _helpers: set[asyncio.Task[Any]] = field(default_factory=set)

    # ------------------------------------------------------------ control

    def request_end(self, reason: EndReason) -> None:
        """Hang up (once) and let the supervisor finalise; returns at once."""
        if self.end_reason is not None:
            return
        self.end_reason = reason
        self._end_requested.set()
        self._ending = asyncio.create_task(self._hang_up_and_listen())

    async def stop(self, reason: EndReason) -> None:
        """Hang up and wait until the call is finalised."""
        self.request_end(reason)
        if self.task is None:
            return
        settings = get_settings()
        try:
            await asyncio.wait_for(
                asyncio.shield(self.finalised.wait()),
                self.timings.close_wait + settings.provider_timeout_seconds + 5,
            )
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task

    async def detach(self) -> None:
        """Let go of the call without hanging up or finalising: another process takes
        it over (graceful hand-over, or this process lost the lease)."""
        if self.end_reason is not None or self.task is None or self.task.done():
            return
        self._detached = True
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task

    @property
    def detached(self) -> bool:
        return self._detached

    @property
    def tutor_spoke(self) -> bool:
        """True once the tutor has produced any audio in this call."""
        spoke = self._conversation is not None and self._conversation.tutor_spoke
        return spoke or self.usage.output_audio_tokens > 0

    @property
    def seconds_connected(self) -> float:
        return 0.0 if self._meter is None else self._meter.elapsed

    # --------------------------------------------------------------- run

    async def run(self) -> None:
        meter_task: asyncio.Task[None] | None = None
        try:
            recorder = TranscriptRecorder(self.session_id)
            if self.resumed is not None:
                # Taken over: what the last supervisor stored. A call that never went
                # live has no transcript (items are written only after `_mark_live`),
                # so a fresh start skips the database round trip.
                await recorder.load()
            self._conversation = Conversation(
                recorder,
                send=self._send,
                spawn=self._spawn,
                call_ms=self._call_ms,
                truncate_grace=self.timings.truncate_grace,
            )
            self._meter = Meter(
                limits=self.limits,
                allowed_seconds=self._allowed_seconds,
                heartbeat=self._heartbeat,
                warn=self._warn_low_balance,
            )
            if self.started_at is not None:  # taken over: the clock runs on
                self._meter.start(already=max(0.0, (utcnow() - self.started_at).total_seconds()))
            meter_task = asyncio.create_task(self._run_meter(self._meter))
            await self._follow()
        except asyncio.CancelledError:
            if self.end_reason is None and not self._detached:
                self.end_reason = EndReason.SERVER_SHUTDOWN
            raise
        except Exception:
            logger.exception("supervisor of call %s failed", self.session_id)
        finally:
            if meter_task is not None:
                meter_task.cancel()
            await self._finish()

    async def _follow(self) -> None:
        failures = 0
        client = provider_client()
        while not self._end_requested.is_set():
            try:
                async with client.realtime.connect(
                    call_id=self.call_id, websocket_connection_options=sideband_options()
                ) as connection:
                    self._connection = connection
                    self._attached = True
                    failures = 0
                    if not await self._mark_live():
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
                if failures > self.timings.reconnects or self._end_requested.is_set():
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
                await self.dispatch(event)
            except Exception:
                logger.exception("call %s: could not handle %s", self.session_id, event.get("type"))

    async def dispatch(self, event: dict[str, Any]) -> None:
        """One sideband event: tokens to the usage, the rest to the conversation."""
        if event.get("type") == "response.done":
            self.usage.add((event.get("response") or {}).get("usage"))
        elif event.get("type") == "error":
            error = event.get("error") or {}
            logger.info(
                "call %s: provider error %s: %s", self.session_id, error.get("code"), error.get("message")
            )
        assert self._conversation is not None
        await self._conversation.handle(event)

    # ------------------------------------------------------------ ending

    def _mark_closed(self) -> None:
        if self._closed_at is None:
            self._closed_at = utcnow()
        self._closed.set()

    async def _hang_up_and_listen(self) -> None:
        """Hang up, and keep the sideband open until the provider has acknowledged it
        and closed the sideband after its last events. Only if it has not closed
        within `close_wait` of the acknowledgement (or the hang-up failed) is it closed
        from this side."""
        timed = asyncio.create_task(hangup_acknowledged_at(self.call_id, wait_seconds=self.hangup_wait))
        self._hangup = asyncio.create_task(_acknowledged(timed))
        ended_at = await asyncio.shield(timed)
        if ended_at is not None:
            self._hung_up_at = min(self._hung_up_at or ended_at, ended_at)
        try:
            await asyncio.wait_for(asyncio.shield(self._closed.wait()), self.timings.close_wait)
        except TimeoutError:
            connection = self._connection
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()

    async def _finish(self) -> None:
        self._mark_closed()
        for helper in list(self._helpers):
            helper.cancel()
        if self._detached:
            logger.info("call %s handed over", self.session_id)
            _REGISTRY.pop(self.session_id, None)
            self.finalised.set()
            return
        try:
            if self._hangup is None:
                # Never leave a call running unsupervised (and unbilled).
                self._hangup = asyncio.create_task(hangup(self.call_id, wait_seconds=self.hangup_wait))
            with contextlib.suppress(TimeoutError):
                acknowledged = await asyncio.wait_for(
                    asyncio.shield(self._hangup), get_settings().provider_timeout_seconds
                )
                if acknowledged and self._hung_up_at is None:
                    self._hung_up_at = utcnow()
            reason = self.end_reason or (EndReason.PEER_LEFT if self.started_at else EndReason.CONNECT_FAILED)
            # The provider's call ended at the earliest trustworthy moment we know: its
            # acknowledgement of a hang-up (ours, or the web's stored on the row, which
            # `finalise` applies), or the sideband's close as we saw it.
            await self._await_hangup_elsewhere()
            until = min(t for t in (self._hung_up_at, self._closed_at) if t is not None)
            if self.resumed is not None and not self._attached and self.started_at is not None:
                # Taken over, but the provider's call was already gone: charged up to
                # the last heartbeat, as recovery would.
                until = max(self.resumed.last_seen_at or self.started_at, self.started_at)
            settings = get_settings()
            won = await in_transaction(
                lifecycle.finalise,
                session_id=self.session_id,
                reason=reason,
                settings=settings,
                until=until,
                usage=self.usage,
                requested_first=self.end_reason in (None, EndReason.ENDED_ELSEWHERE),
            )
            if won is None:
                await in_transaction(
                    lifecycle.store_usage, session_id=self.session_id, usage=self.usage, settings=settings
                )
        except Exception:
            logger.exception("could not finalise call %s", self.session_id)
        finally:
            _REGISTRY.pop(self.session_id, None)
            self.finalised.set()

    async def _await_hangup_elsewhere(self) -> None:
        """When another process (the web, for the learner) asked this call to end, it
        hung up and stores when the provider acknowledged that: under load this owner
        may see the sideband close before that moment is stored, so wait a little for
        it (finalise charges up to it)."""
        if self.end_reason not in (None, EndReason.ENDED_ELSEWHERE) or self.started_at is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANGUP_RECORD_WAIT
        while True:
            requested, hung_up_at = await in_transaction(lifecycle.hangup_state, session_id=self.session_id)
            if not requested or hung_up_at is not None or loop.time() >= deadline:
                return
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------ helpers

    async def _greet(self, connection: Any) -> None:
        await asyncio.sleep(self.timings.greeting_delay)
        with contextlib.suppress(Exception):
            await connection.send({"type": "response.create"})

    async def _send(self, event: dict[str, Any]) -> None:
        connection = self._connection
        if connection is not None:
            await connection.send(event)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coroutine)
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    def _call_ms(self) -> int | None:
        if self._meter is None or not self._meter.started:
            return None
        return int(self._meter.elapsed * 1000)

    # ------------------------------------------------------------ metering

    async def _mark_live(self) -> bool:
        """The call is connected: start the clock (once), from when the provider
        answered. False if the session was ended meanwhile (the learner gave up)."""
        if self.started_at is not None:
            return True
        if not await in_transaction(lifecycle.mark_live, session_id=self.session_id, now=self.answered_at):
            self.request_end(EndReason.ENDED_ELSEWHERE)
            return False
        self.started_at = self.answered_at
        assert self._meter is not None
        self._meter.start()
        return True

    async def _run_meter(self, meter: Meter) -> None:
        self.request_end(await meter.run())

    async def _allowed_seconds(self) -> float:
        millicredits = await shared_balance_reads(_read_balances).millicredits(self.user_id)
        return millicredits * get_settings().seconds_per_credit / MILLICREDITS_PER_CREDIT

    async def _heartbeat(self) -> bool:
        return await _HEARTBEATS.beat(self.session_id, self.usage)

    async def _warn_low_balance(self) -> None:
        await in_transaction(lifecycle.flag_low_balance, session_id=self.session_id)
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
        self._spawn(self._send(note))
