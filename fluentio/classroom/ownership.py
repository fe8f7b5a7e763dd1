"""Which process supervises which live call: leases, take-over and graceful hand-over.

Every process that supervises calls (role "all", or each "worker") registers in the
`workers` table (this module is its only writer) with a heartbeat, and holds a lease on
each call it follows (`practice_sessions.owner_id` / `lease_expires_at`, written through
lifecycle.py), renewed every `renew` seconds. A call whose lease is free or has run out
is orphaned:

- a worker claims it at once (one conditional UPDATE, one winner): new calls the web
  process started (announced by PostgreSQL NOTIFY, with a short poll as fallback), and
  calls of a worker that died (its lease ran out, `lease` seconds after its last
  renewal) or stopped gracefully (it released them). The new owner re-attaches to the
  provider's sideband by call id and meters on from what was stored (sideband.Resumed);
- recovery.py finalises an orphaned call whose heartbeat is old (no worker took it), and
  never a call whose owner still renews its lease.

`call_supervision()` is what a process enters to do all this: a Reflex lifespan task in
role "all", one of the worker process's parts in role "worker" (worker_process.py). On
leaving it, a worker hands its calls over when another worker is alive; otherwise (and
always in role "all", where nobody else could follow them) its calls are ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from fluentio.classroom import lifecycle, recovery, sideband
from fluentio.classroom.lifecycle import Lease
from fluentio.classroom.meter import MeterLimits
from fluentio.classroom.provider import provider_client
from fluentio.classroom.reasons import EndReason
from fluentio.classroom.usage import Usage
from fluentio.db import get_engine, off_loop, session_scope
from fluentio.models import PracticeSession, WorkerProcess
from fluentio.models.base import utcnow
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseTimings:
    """How long a lease lasts, how often it is renewed and orphans are looked for."""

    lease: float = 6.0  # a dead worker's calls are taken over this long after its last renewal
    renew: float = 1.5
    poll: float = 0.5  # fallback when no NOTIFY arrives (SQLite, or a lost connection)


# Orphans looked at per claim round; a full round is followed at once by another.
CLAIM_BATCH = 20

_IDENTITY: tuple[int, str] | None = None


def worker_id() -> str:
    """This process's id in the `workers` table and on the calls it owns (host, pid and
    a random part, so a restarted process with the same pid is someone else)."""
    global _IDENTITY
    pid = os.getpid()
    if _IDENTITY is None or _IDENTITY[0] != pid:
        _IDENTITY = (pid, f"{socket.gethostname()[:40]}:{pid}:{secrets.token_hex(4)}")
    return _IDENTITY[1]


def new_call_lease(now: datetime | None = None, timings: LeaseTimings | None = None) -> Lease:
    """The lease a process takes on a call it starts and supervises itself (role "all")."""
    timings = timings or LeaseTimings()
    return Lease(worker_id(), (now or utcnow()) + timedelta(seconds=timings.lease))


@dataclass(frozen=True)
class Claimed:
    """A call this worker has just claimed: what it needs to supervise it."""

    session_id: uuid.UUID
    user_id: uuid.UUID
    call_id: str
    answered_at: datetime | None
    resumed: sideband.Resumed | None  # None: it has not gone live yet (a fresh start)
    topic: str | None = None  # the scenario, for its own time cap (the placement call)


class CallOwnership:
    """The database side of ownership for one process (blocking: run in threads).

    The clock is injected so that the lease rules are tested without waiting."""

    def __init__(
        self,
        *,
        owner_id: str,
        role: str,
        timings: LeaseTimings | None = None,
        clock: Callable[[], datetime] = utcnow,
        stale_after: float = recovery.STALE_AFTER_SECONDS,
    ) -> None:
        self.owner_id = owner_id
        self.role = role
        self.timings = timings or LeaseTimings()
        self.clock = clock
        self.stale_after = stale_after

    def lease(self) -> Lease:
        return Lease(self.owner_id, self.clock() + timedelta(seconds=self.timings.lease))

    # ----------------------------------------------------------- workers table

    def register(self) -> None:
        now = self.clock()
        with session_scope() as session:
            row = session.get(WorkerProcess, self.owner_id)
            if row is None:
                row = WorkerProcess(
                    id=self.owner_id,
                    role=self.role,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                )
            row.heartbeat_at = now
            session.add(row)

    def unregister(self) -> None:
        with session_scope() as session:
            session.execute(sa.delete(WorkerProcess).where(col(WorkerProcess.id) == self.owner_id))

    def others_alive(self) -> list[str]:
        """Other worker processes whose heartbeat is fresh (they can take calls over)."""
        since = self.clock() - timedelta(seconds=self.timings.lease)
        with session_scope() as session:
            return list(
                session.exec(
                    select(WorkerProcess.id).where(
                        col(WorkerProcess.id) != self.owner_id,
                        WorkerProcess.role == "worker",
                        col(WorkerProcess.heartbeat_at) >= since,
                    )
                )
            )

    def forget_dead_workers(self) -> int:
        """Delete rows of processes silent for a long time (they died): the table stays small."""
        before = self.clock() - timedelta(seconds=max(60.0, 10 * self.timings.lease))
        with session_scope() as session:
            result = session.execute(sa.delete(WorkerProcess).where(col(WorkerProcess.heartbeat_at) < before))
        return int(getattr(result, "rowcount", 0) or 0)

    # ------------------------------------------------------------------ leases

    def beat(self, followed: set[uuid.UUID]) -> set[uuid.UUID]:
        """Heartbeat and renewal of every lease held; the followed calls lost meanwhile."""
        with session_scope() as session:
            row = session.get(WorkerProcess, self.owner_id)
            if row is not None:
                row.heartbeat_at = self.clock()
                session.add(row)
            lost = lifecycle.renew_leases(session=session, lease=self.lease(), followed=followed)
        if row is None:  # deleted as dead after a long pause: come back
            self.register()
        return lost

    def claim_orphans(self, *, limit: int = 20, skip: set[uuid.UUID] | None = None) -> list[Claimed]:
        """Claim orphaned calls that are still fresh (stale ones are recovery's)."""
        now = self.clock()
        fresh_since = now - timedelta(seconds=self.stale_after)
        with session_scope() as session:
            candidates = lifecycle.orphaned_calls(session=session, now=now, limit=limit)
        claimed: list[Claimed] = []
        for candidate in candidates:
            if skip and candidate.id in skip:
                continue
            seen = candidate.last_seen_at or candidate.answered_at or candidate.created_at
            if seen < fresh_since:
                continue
            with session_scope() as session:
                row = lifecycle.claim_call(
                    session=session, session_id=candidate.id, lease=self.lease(), now=now
                )
                if row is not None:
                    claimed.append(_claimed(row))
        return claimed

    def release(self, session_id: uuid.UUID, usage: Usage) -> bool:
        with session_scope() as session:
            return lifecycle.release_call(
                session=session, session_id=session_id, owner_id=self.owner_id, usage=usage
            )


def _claimed(row: PracticeSession) -> Claimed:
    assert row.provider_call_id is not None
    resumed = None
    if row.started_at is not None:  # it went live under another supervisor
        resumed = sideband.Resumed(
            started_at=row.started_at,
            last_seen_at=row.last_seen_at,
            usage=Usage(
                input_text_tokens=row.input_text_tokens,
                input_audio_tokens=row.input_audio_tokens,
                cached_input_tokens=row.cached_input_tokens,
                output_text_tokens=row.output_text_tokens,
                output_audio_tokens=row.output_audio_tokens,
            ),
        )
    return Claimed(row.id, row.user_id, row.provider_call_id, row.answered_at, resumed, row.topic)


def supervise(claim: Claimed) -> None:
    sideband.start_supervision(
        session_id=claim.session_id,
        user_id=claim.user_id,
        call_id=claim.call_id,
        answered_at=claim.answered_at,
        resumed=claim.resumed,
        limits=MeterLimits.for_scenario(get_settings(), claim.topic),
    )


# ------------------------------------------------------------------ the loops


class _Wakeup:
    """Listens on PostgreSQL for new calls (NOTIFY) and wakes the claim loop."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.listening = asyncio.Event()

    async def listen_forever(self) -> None:
        url = get_engine().url
        if url.get_backend_name() != "postgresql":
            return
        import psycopg

        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {lifecycle.CALLS_CHANNEL}")
                    self.listening.set()
                    async for _ in conn.notifies():
                        self.event.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.info("call announcements unavailable (%s); polling", type(exc).__name__)
                await asyncio.sleep(5)


class Supervision:
    """The running loops of one process: heartbeat and renewal, claims (workers), sweep."""

    def __init__(self, ownership: CallOwnership, *, claims: bool) -> None:
        self.ownership = ownership
        self.claims = claims
        self.wakeup = _Wakeup()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._renew_forever(), name="call-leases"))
        self._tasks.append(asyncio.create_task(self._sweep_forever(), name="classroom-sweeper"))
        if self.claims:
            self._tasks.append(asyncio.create_task(self.wakeup.listen_forever(), name="call-announcements"))
            self._tasks.append(asyncio.create_task(self._claim_forever(), name="call-claims"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def claim_once(self) -> int:
        claimed = await off_loop(
            self.ownership.claim_orphans, limit=CLAIM_BATCH, skip=sideband.supervised_ids()
        )
        for claim in claimed:
            logger.info(
                "call %s %s", claim.session_id, "taken over" if claim.resumed is not None else "claimed"
            )
            supervise(claim)
        return len(claimed)

    async def _claim_forever(self) -> None:
        while True:
            try:
                if await self.claim_once() >= CLAIM_BATCH:
                    continue  # a burst of starts: claim the rest at once
            except Exception:
                logger.exception("could not claim calls")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.event.wait(), self.ownership.timings.poll)
            self.wakeup.event.clear()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ownership.timings.renew)
            try:
                await self.renew_once()
            except Exception:
                logger.exception("could not renew call leases")

    async def renew_once(self) -> None:
        lost = await off_loop(self.ownership.beat, sideband.supervised_ids())
        for session_id in lost:
            running = sideband.get_supervisor(session_id)
            if running is not None:
                logger.warning("call %s: lease lost to another process; letting go", session_id)
                await running.detach()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(recovery.SWEEP_SECONDS)
            try:
                await recovery.sweep()
                await off_loop(self.ownership.forget_dead_workers)
            except Exception:
                logger.exception("sweep of abandoned calls failed")

    async def hand_over_or_end(self) -> None:
        """Leaving: hand the calls to another live worker, else end them."""
        others = await off_loop(self.ownership.others_alive) if self.claims else []
        if not others or not sideband.supervised_ids():
            await sideband.shutdown_all(EndReason.SERVER_SHUTDOWN)
            return
        supervisors = [s for s in await sideband.detach_all() if s.detached]
        for supervisor in supervisors:
            await off_loop(self.ownership.release, supervisor.session_id, supervisor.usage)
        logger.info("handed %d call(s) over to %d other worker(s)", len(supervisors), len(others))
        # Calls that were already ending are finished here, as they would have been.
        await sideband.shutdown_all(EndReason.SERVER_SHUTDOWN)


@contextlib.asynccontextmanager
async def call_supervision() -> AsyncIterator[None]:
    """Call supervision for this process (see the module docstring): start-up recovery,
    the lease loops and, in role "worker", claims; on leaving, hand-over or shutdown."""
    settings = get_settings()
    role = settings.process_role
    ownership = CallOwnership(owner_id=worker_id(), role=role)
    try:
        provider_client()  # built now, so that no learner's start waits for it
        await off_loop(ownership.register)
        # Role "all" is the only process: any call it does not hold was left by an earlier
        # run. A worker leaves fresh orphans to the claims (they are taken over).
        await recovery.recover_at_startup(only_process=role == "all")
    except Exception:
        # The database may be unreachable or not migrated yet; /healthz reports that.
        logger.exception("could not recover calls left open by an earlier run")
    supervision = Supervision(ownership, claims=role == "worker")
    supervision.start()
    try:
        yield
    finally:
        await supervision.stop()
        await supervision.hand_over_or_end()
        with contextlib.suppress(Exception):
            await off_loop(ownership.unregister)
