"""The meter on a clock the test moves: what ends a call, and when the database is asked."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from fluentio.classroom.meter import BalanceReads, Meter, MeterLimits
from fluentio.classroom.reasons import EndReason
from fluentio.settings import Settings


@dataclass
class Books:
    """The meter's view of the database: a balance in seconds, and what it was asked."""

    seconds: float = 600.0
    live: bool = True
    fail: bool = False
    balance_reads: int = 0
    beats: int = 0
    warnings: int = 0
    now: float = 1_000.0
    log: list[str] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def allowed_seconds(self) -> float:
        if self.fail:
            raise ConnectionError("database gone")
        self.balance_reads += 1
        return self.seconds

    async def heartbeat(self) -> bool:
        self.beats += 1
        return self.live

    async def warn(self) -> None:
        self.warnings += 1


async def advance(meter: Meter, books: Books, seconds: float) -> EndReason | None:
    """Move the books' clock by `seconds`, then let the meter look at it."""
    books.now += seconds
    return await meter.check()


def running_meter(books: Books, **limits: float) -> Meter:
    """A meter on `books` whose call has connected."""
    meter = meter_on(books, **limits)
    meter.start()
    return meter


def meter_on(books: Books, **limits: float) -> Meter:
    return Meter(
        limits=MeterLimits(**{"max_seconds": 1_800.0, **limits}),
        allowed_seconds=books.allowed_seconds,
        heartbeat=books.heartbeat,
        warn=books.warn,
        clock=books.clock,
    )


async def test_nothing_is_metered_before_the_call_connects() -> None:
    books = Books()
    meter = meter_on(books)
    assert await advance(meter, books, 5_000) is None
    assert (books.balance_reads, books.beats, meter.elapsed) == (0, 0, 0.0)


async def test_the_balance_ends_the_call_when_its_seconds_are_used() -> None:
    books = Books(seconds=90)
    meter = running_meter(books)
    assert await advance(meter, books, 89.9) is None
    assert await advance(meter, books, 0.1) is EndReason.OUT_OF_CREDITS


async def test_the_balance_is_reread_only_every_refresh_and_a_purchase_extends_the_call() -> None:
    books = Books(seconds=10)
    meter = running_meter(books, balance_refresh=2.0)
    assert await meter.check() is None
    books.seconds = 20  # bought more
    assert await advance(meter, books, 1.9) is None
    assert books.balance_reads == 1
    assert await advance(meter, books, 0.1) is None
    assert books.balance_reads == 2
    books.now += 10  # 12 s: past the old balance, inside the new one
    assert await meter.check() is None
    assert await advance(meter, books, 8) is EndReason.OUT_OF_CREDITS


async def test_the_time_limit_ends_the_call() -> None:
    books = Books(seconds=10_000)
    meter = running_meter(books, max_seconds=1_800)
    assert await advance(meter, books, 1_799) is None
    assert await advance(meter, books, 1) is EndReason.TIME_LIMIT


async def test_one_warning_a_minute_before_the_balance_runs_out() -> None:
    books = Books(seconds=100)
    meter = running_meter(books, low_balance=60)
    assert await advance(meter, books, 39) is None
    assert books.warnings == 0
    await advance(meter, books, 1)
    await advance(meter, books, 10)
    assert books.warnings == 1


async def test_heartbeats_are_spaced_and_a_session_ended_elsewhere_stops_the_meter() -> None:
    books = Books()
    meter = running_meter(books, heartbeat=5)
    await meter.check()
    for _ in range(9):
        books.now += 1
        await meter.check()
    assert books.beats == 2  # at 0 s and 5 s
    books.live = False
    assert await advance(meter, books, 0.5) is None  # 9.5 s: not yet a beat
    assert await advance(meter, books, 0.5) is EndReason.ENDED_ELSEWHERE


async def test_a_database_outage_keeps_the_time_limit() -> None:
    books = Books(fail=True)
    meter = running_meter(books, max_seconds=30)
    assert await advance(meter, books, 29) is None
    assert await advance(meter, books, 1) is EndReason.TIME_LIMIT


async def test_run_checks_every_tick_until_a_reason() -> None:
    books = Books(seconds=1.0)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        books.now += seconds

    meter = Meter(
        limits=MeterLimits(max_seconds=60, tick=0.25),
        allowed_seconds=books.allowed_seconds,
        heartbeat=books.heartbeat,
        warn=books.warn,
        clock=books.clock,
        sleep=sleep,
    )
    meter.start()
    assert await meter.run() is EndReason.OUT_OF_CREDITS
    assert slept == [0.25] * 4


def test_limits_come_from_validated_settings() -> None:
    settings = Settings.model_validate({"FLUENTIO_MAX_SESSION_MINUTES": 2})
    assert MeterLimits.from_settings(settings).max_seconds == 120


async def test_a_call_taken_over_meters_on_from_when_it_connected() -> None:
    """A worker taking a call over starts its meter `already` seconds in: the balance and
    the time limit count the whole call, not just this worker's part of it."""
    books = Books(seconds=100)
    meter = meter_on(books, max_seconds=1_800)
    meter.start(already=95)
    assert meter.elapsed == 95
    assert await meter.check() is None
    books.now += 5
    assert await meter.check() is EndReason.OUT_OF_CREDITS


async def test_with_plenty_left_the_balance_is_reread_seldom_then_often_near_the_end() -> None:
    books = Books(seconds=400)
    meter = meter_on(books, balance_refresh=2.0, balance_refresh_plenty=20.0, plenty=300.0)
    meter.start()
    await meter.check()
    for _ in range(19):
        books.now += 1
        await meter.check()
    assert books.balance_reads == 1  # 19 s in, 381 s left: not re-read yet
    books.now += 1
    await meter.check()
    assert books.balance_reads == 2  # 20 s
    books.now += 90  # 110 s in, 290 s left: near enough to re-read every 2 s
    await meter.check()
    books.now += 2
    await meter.check()
    assert books.balance_reads == 4


# ------------------------------------------------------------- shared balance reads


async def test_meters_that_ask_together_share_one_balance_query() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    queries: list[list[uuid.UUID]] = []

    async def read(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        queries.append(sorted(user_ids))
        return {first: 5_000}  # `second` never had credits

    reads = BalanceReads(read, window=0.01)
    answers = await asyncio.gather(
        reads.millicredits(first), reads.millicredits(second), reads.millicredits(first)
    )
    assert answers == [5_000, 0, 5_000]
    assert queries == [sorted([first, second])]
    # A later ask is a fresh read (a purchase mid-call is seen).
    assert await reads.millicredits(first) == 5_000
    assert len(queries) == 2


async def test_a_failed_balance_query_reaches_every_meter_that_waited() -> None:
    async def read(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
        raise ConnectionError("database gone")

    reads = BalanceReads(read, window=0.01)
    outcomes = await asyncio.gather(
        reads.millicredits(uuid.uuid4()), reads.millicredits(uuid.uuid4()), return_exceptions=True
    )
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
