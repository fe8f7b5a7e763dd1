"""The meter: connected time against what the learner may use, for one live call.

It looks at its clock every `tick`, re-reads the balance every `balance_refresh` (so a
purchase mid-call extends the call; every `balance_refresh_plenty` while far more than
the warning's minute is left), writes a heartbeat every `heartbeat` (recovery
charges a dead server's calls up to it), warns once when `low_balance` seconds are left,
and answers the reason to end: the balance or the lesson's time limit ran out, or the
session was ended elsewhere. The clock, the limits and every database step are given
to it, so tests drive it with their own clock and never sleep.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fluentio.classroom.reasons import EndReason
from fluentio.classroom.scenarios import get_scenario
from fluentio.settings import Settings

logger = logging.getLogger(__name__)

# "One minute left": the meter warns the learner and the tutor; the page shows it from then.
LOW_BALANCE_SECONDS = 60.0


@dataclass(frozen=True)
class MeterLimits:
    max_seconds: float
    tick: float = 0.25
    balance_refresh: float = 2.0
    # With more than `plenty` seconds left the balance is re-read only every
    # `balance_refresh_plenty`: a worker holding 500 calls would otherwise read 250
    # balances a second (threads contending with its event loop) for nothing.
    balance_refresh_plenty: float = 20.0
    plenty: float = 300.0
    heartbeat: float = 5.0
    low_balance: float = LOW_BALANCE_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> MeterLimits:
        return cls(max_seconds=settings.max_session_minutes * 60)

    @classmethod
    def for_scenario(cls, settings: Settings, scenario_id: str | None) -> MeterLimits:
        """The settings' limits, shortened to the scenario's own cap (the placement call's
        five minutes) where it has one."""
        return cls(max_seconds=max_call_minutes(settings, scenario_id) * 60)


def max_call_minutes(settings: Settings, scenario_id: str | None) -> int:
    """How long a call of this scenario may last: the lesson limit, or its own shorter cap."""
    scenario = get_scenario((scenario_id or "").strip())
    cap = scenario.max_minutes if scenario is not None else None
    return min(settings.max_session_minutes, cap) if cap else settings.max_session_minutes


class Meter:
    """One call's meter (see the module docstring).

    `allowed_seconds` answers how many seconds the balance buys now; `heartbeat` answers
    False when the session is no longer live; `warn` tells the learner and the tutor that
    about a minute is left.
    """

    def __init__(
        self,
        *,
        limits: MeterLimits,
        allowed_seconds: Callable[[], Awaitable[float]],
        heartbeat: Callable[[], Awaitable[bool]],
        warn: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self._allowed_seconds = allowed_seconds
        self._heartbeat = heartbeat
        self._warn = warn
        self._clock = clock
        self._sleep = sleep
        self._started: float | None = None
        self._allowed: float | None = None
        self._last_balance = self._last_beat = 0.0
        self._warned = False

    def start(self, *, already: float = 0.0) -> None:
        """The call connected: the clock starts (once), `already` seconds ago when the
        call was taken over from another process."""
        if self._started is None:
            self._started = self._clock() - already

    @property
    def started(self) -> bool:
        return self._started is not None

    @property
    def elapsed(self) -> float:
        return 0.0 if self._started is None else self._clock() - self._started

    async def check(self) -> EndReason | None:
        """One look at the clock: the reason to end the call now, or None."""
        if self._started is None:
            return None
        now = self._clock()
        elapsed = now - self._started
        try:
            if self._allowed is None or now - self._last_balance >= self._refresh_every(elapsed):
                self._allowed = await self._allowed_seconds()
                self._last_balance = now
            if now - self._last_beat >= self.limits.heartbeat:
                self._last_beat = now
                if not await self._heartbeat():
                    return EndReason.ENDED_ELSEWHERE
            if not self._warned and self._allowed - elapsed <= self.limits.low_balance:
                self._warned = True
                await self._warn()
        except Exception:
            # A database hiccup: keep metering on what is known; the time limit below
            # still applies.
            logger.exception("the meter could not reach the database")
        if self._allowed is not None and elapsed >= self._allowed:
            return EndReason.OUT_OF_CREDITS
        if elapsed >= self.limits.max_seconds:
            return EndReason.TIME_LIMIT
        return None

    def _refresh_every(self, elapsed: float) -> float:
        if self._allowed is not None and self._allowed - elapsed > self.limits.plenty:
            return self.limits.balance_refresh_plenty
        return self.limits.balance_refresh

    async def run(self) -> EndReason:
        """Check every tick until the call must end; the reason why."""
        while True:
            await self._sleep(self.limits.tick)
            reason = await self.check()
            if reason is not None:
                return reason


class BalanceReads:
    """The balance reads of every meter on one event loop, coalesced: the meters that ask
    within `window` seconds of each other share one query (`read` takes the user ids and
    answers their balances). A class of 100 in their lessons re-reads its balances about
    as often as one learner does, instead of 50 transactions a second.
    """

    def __init__(
        self,
        read: Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, int]]],
        *,
        window: float = 0.1,
    ) -> None:
        self._read = read
        self._window = window
        self._waiting: dict[uuid.UUID, list[asyncio.Future[int]]] = {}
        self._reading: set[asyncio.Task[None]] = set()

    async def millicredits(self, user_id: uuid.UUID) -> int:
        """`user_id`'s balance, read at most `window` seconds from now."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int] = loop.create_future()
        if not self._waiting:
            loop.call_later(self._window, self._flush)
        self._waiting.setdefault(user_id, []).append(answer)
        return await answer

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, {}
        task = asyncio.get_running_loop().create_task(self._answer(waiting))
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)

    async def _answer(self, waiting: dict[uuid.UUID, list[asyncio.Future[int]]]) -> None:
        try:
            found = await self._read(list(waiting))
        except Exception as exc:
            for answers in waiting.values():
                for answer in answers:
                    if not answer.done():
                        answer.set_exception(exc)
            return
        for user_id, answers in waiting.items():
            for answer in answers:
                if not answer.done():
                    answer.set_result(found.get(user_id, 0))


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BalanceReads] = weakref.WeakKeyDictionary()


def shared_balance_reads(
    read: Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, int]]],
) -> BalanceReads:
    """The running event loop's `BalanceReads` (created with `read` on first use)."""
    loop = asyncio.get_running_loop()
    reads = _SHARED.get(loop)
    if reads is None:
        reads = _SHARED[loop] = BalanceReads(read)
    return reads
