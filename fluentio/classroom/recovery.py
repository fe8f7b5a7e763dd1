"""Calls left behind: finalised at start-up and by a sweep while running.

A call is left behind when nobody holds its lease (ownership.py: its process died, or
it was never claimed) and nobody took it over: its heartbeat (`last_seen_at`, written
every few seconds by its supervisor) is old. Each is finalised once, charged up to that
last heartbeat, and its call is hung up at the provider in case it is still running. A
start that never connected (no call, or no claim, within `STARTING_TTL_SECONDS`) ends
free. A call whose owner still renews its lease is never touched, whatever its age.

At start-up in role "all" (the only process) every orphaned call belongs to an earlier
run, so none waits for the heartbeat to age; a worker leaves fresh orphans to be taken
over. Ending the calls a process follows when it stops is ownership.py's job.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from fluentio.classroom import lifecycle, sideband
from fluentio.classroom.provider import spawn_hangup
from fluentio.classroom.reasons import EndReason
from fluentio.db import off_loop, session_scope
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
    """Finalise open sessions nobody holds (lease free or run out) that look abandoned.

    A live one is charged up to its last heartbeat; a start that never connected costs
    nothing. Blocking (the database); `sweep` runs it off the event loop and hangs up.
    Returns the sessions this call finalised, with their provider call ids.
    """
    now = utcnow()
    settings = get_settings()
    query = select(PracticeSession).where(
        col(PracticeSession.status).in_(lifecycle.OPEN_STATUSES),
        sa.or_(col(PracticeSession.lease_expires_at).is_(None), col(PracticeSession.lease_expires_at) < now),
    )
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
    finalised = await off_loop(
        finalise_stale_calls, user_id=user_id, stale_after=stale_after, starting_ttl=starting_ttl
    )
    for call_id in finalised.values():
        if call_id:
            spawn_hangup(call_id)
    return list(finalised)


async def recover_at_startup(*, only_process: bool = True) -> list[uuid.UUID]:
    """Calls an earlier run left: with `only_process` (role "all"), every orphaned open
    session at once; else (a worker among others) only the stale ones."""
    if only_process:
        return await sweep(stale_after=0, starting_ttl=0)
    return await sweep()


def classroom_lifespan() -> contextlib.AbstractAsyncContextManager[None]:
    """The Reflex lifespan task of role "all": ownership.call_supervision()."""
    from fluentio.classroom.ownership import call_supervision

    return call_supervision()
