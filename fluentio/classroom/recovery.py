"""Calls left behind: finalised at start-up, swept while running, ended at shutdown.

The app runs ONE backend worker, so at start-up every session still `starting` or
`live` belongs to a process that died (a crash, a deploy, a power cut). Each is
finalised once, charged up to its last heartbeat (`last_seen_at`, written every few
seconds by its supervisor), and its call is hung up at the provider in case it is still
running. While the app runs, a sweep does the same for sessions nobody follows any
more whose heartbeat is old (and for starts that never connected), which also frees
the learner's "one live call" slot. On shutdown every followed call is hung up and
finalised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlmodel import col, select

from fluentio.classroom import lifecycle, sideband
from fluentio.classroom.provider import provider_client, spawn_hangup
from fluentio.classroom.reasons import EndReason
from fluentio.db import session_scope
from fluentio.models import PracticeSession, SessionStatus
from fluentio.models.base import utcnow
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

# A followed call writes a heartbeat every MeterLimits.heartbeat (5 s): six missed
# beats mean nobody follows it any more.
STALE_AFTER_SECONDS = 30.0
# A start that never connected (the browser went away after a relay answer, or never
# used its ephemeral secret, which lasts 60 s).
STARTING_TTL_SECONDS = 90.0
SWEEP_SECONDS = 15.0


def finalise_stale_calls(
    *,
    user_id: uuid.UUID | None = None,
    stale_after: float = STALE_AFTER_SECONDS,
    starting_ttl: float = STARTING_TTL_SECONDS,
) -> dict[uuid.UUID, str | None]:
    """Finalise open sessions this process does not follow and that look abandoned.

    A live one is charged up to its last heartbeat; a start that never connected costs
    nothing. Blocking (the database); `sweep` runs it off the event loop and hangs up.
    Returns the sessions this call finalised, with their provider call ids.
    """
    now = utcnow()
    settings = get_settings()
    query = select(PracticeSession).where(col(PracticeSession.status).in_(lifecycle.OPEN_STATUSES))
    if user_id is not None:
        query = query.where(PracticeSession.user_id == user_id)
    with session_scope() as session:
        rows = list(session.exec(query))
    followed = sideband.supervised_ids()
    finalised: dict[uuid.UUID, str | None] = {}
    for row in rows:
        if row.id in followed:
            continue
        with session_scope() as session:
            if row.status == SessionStatus.LIVE.value and row.started_at is not None:
                last_seen = max(row.last_seen_at or row.started_at, row.started_at)
                if now - last_seen < timedelta(seconds=stale_after):
                    continue
                done = lifecycle.finalise(
                    session=session,
                    session_id=row.id,
                    reason=EndReason.SERVER_RESTART,
                    settings=settings,
                    until=last_seen,
                )
            else:
                if now - row.created_at < timedelta(seconds=starting_ttl):
                    continue
                done = lifecycle.finalise(
                    session=session,
                    session_id=row.id,
                    reason=EndReason.NEVER_CONNECTED,
                    settings=settings,
                    charge=False,
                )
        if done is not None:
            finalised[row.id] = row.provider_call_id
    if finalised:
        logger.info("finalised %d abandoned call(s)", len(finalised))
    return finalised


async def sweep(
    *,
    user_id: uuid.UUID | None = None,
    stale_after: float = STALE_AFTER_SECONDS,
    starting_ttl: float = STARTING_TTL_SECONDS,
) -> list[uuid.UUID]:
    """`finalise_stale_calls` in a worker thread, then their provider calls hung up in
    the background (in case they still run). The ids of the sessions finalised."""
    finalised = await asyncio.to_thread(
        finalise_stale_calls, user_id=user_id, stale_after=stale_after, starting_ttl=starting_ttl
    )
    for call_id in finalised.values():
        if call_id:
            spawn_hangup(call_id)
    return list(finalised)


async def recover_at_startup() -> list[uuid.UUID]:
    """At start-up nothing is followed yet: finalise every open session (one worker)."""
    return await sweep(stale_after=0, starting_ttl=0)


async def _sweep_forever() -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            await sweep()
        except Exception:
            logger.exception("sweep of abandoned calls failed")


@contextlib.asynccontextmanager
async def classroom_lifespan() -> AsyncIterator[None]:
    """Reflex lifespan task: recovery at start-up, the sweep, clean shutdown."""
    try:
        # Built now, so that no learner's start waits for it.
        provider_client()
        await recover_at_startup()
    except Exception:
        # The database may be unreachable or not migrated yet; /healthz reports that.
        logger.exception("could not recover calls left open by an earlier run")
    sweeper = asyncio.create_task(_sweep_forever(), name="classroom-sweeper")
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await sideband.shutdown_all(EndReason.SERVER_SHUTDOWN)
