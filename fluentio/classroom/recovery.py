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

from fluentio.classroom import supervisor
from fluentio.db import session_scope
from fluentio.models import PracticeSession, SessionStatus
from fluentio.models.base import utcnow

logger = logging.getLogger(__name__)

# A followed call writes a heartbeat every supervisor.HEARTBEAT_SECONDS: six missed
# beats mean nobody follows it any more.
STALE_AFTER_SECONDS = 30.0
# A start that never connected (the browser went away after a relay answer, or never
# used its ephemeral secret, which lasts 60 s).
STARTING_TTL_SECONDS = 90.0
SWEEP_SECONDS = 15.0

END_NEVER_CONNECTED = "never_connected"


def finalise_stale_calls(
    *,
    user_id: uuid.UUID | None = None,
    stale_after: float = STALE_AFTER_SECONDS,
    starting_ttl: float = STARTING_TTL_SECONDS,
    hang_up: bool = True,
) -> list[uuid.UUID]:
    """Finalise open sessions this process does not follow and that look abandoned.

    A live one is charged up to its last heartbeat; a start that never connected costs
    nothing. With `hang_up`, their provider calls are hung up in the background (needs
    a running event loop). Returns the ids of the sessions this call finalised.
    """
    now = utcnow()
    query = select(PracticeSession).where(col(PracticeSession.status).in_(supervisor.OPEN_STATUSES))
    if user_id is not None:
        query = query.where(PracticeSession.user_id == user_id)
    with session_scope() as session:
        rows = list(session.exec(query))
    followed = supervisor.supervised_ids()
    finalised: list[uuid.UUID] = []
    for row in rows:
        if row.id in followed:
            continue
        if row.status == SessionStatus.LIVE.value and row.started_at is not None:
            last_seen = max(row.last_seen_at or row.started_at, row.started_at)
            if now - last_seen < timedelta(seconds=stale_after):
                continue
            done = supervisor.finalise_session(row.id, reason=supervisor.END_SERVER_RESTART, until=last_seen)
        else:
            if now - row.created_at < timedelta(seconds=starting_ttl):
                continue
            done = supervisor.finalise_session(row.id, reason=END_NEVER_CONNECTED, charge=False)
        if done:
            finalised.append(row.id)
            if hang_up and row.provider_call_id:
                supervisor.spawn_hangup(row.provider_call_id)
    if finalised:
        logger.info("finalised %d abandoned call(s)", len(finalised))
    return finalised


def recover_at_startup() -> list[uuid.UUID]:
    """At start-up nothing is followed yet: finalise every open session (one worker)."""
    return finalise_stale_calls(stale_after=0, starting_ttl=0)


async def _sweep_forever() -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            finalise_stale_calls()
        except Exception:
            logger.exception("sweep of abandoned calls failed")


@contextlib.asynccontextmanager
async def classroom_lifespan() -> AsyncIterator[None]:
    """Reflex lifespan task: recovery at start-up, the sweep, clean shutdown."""
    try:
        recover_at_startup()
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
        await supervisor.shutdown_all(supervisor.END_SERVER_SHUTDOWN)
