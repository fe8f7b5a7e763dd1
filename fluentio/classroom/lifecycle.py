"""A call's session row from Start to its bill: THE only writer of `PracticeSession`.

Every write takes a keyword-only `session` and the caller owns the transaction, as in
billing/ledger.py. The states a row goes through:

    open_session (starting) → record_call_id / attach_call_id → mark_live (live, the
    clock starts) → heartbeat … → finalise (ended or failed, charged once)

Ownership (README "Process types and call ownership"): the worker process supervising a
call holds a lease on its row (`owner_id`, `lease_expires_at`). `record_call_id` /
`attach_call_id` hand a new call to this process or leave it unowned for a worker to
`claim_call` (PostgreSQL also NOTIFYs `CALLS_CHANNEL`); `renew_leases` keeps them;
`release_call` hands one over at a graceful stop; a call whose lease ran out is claimed
by another worker. Another process asks the owner to end a call with `request_end`, then
hangs up and stores when the provider acknowledged it (`record_hangup`): the charge runs
to that moment, whoever finalises.

`finalise` is one conditional UPDATE (`… WHERE status IN ('starting', 'live')`): callers
that race to end a call (the End button, the sideband closing, recovery) meet there and
all but one get None. Token counts that arrive after the race is lost are kept by
`store_usage`. Account deletion scrubs a learner's rows through `scrub_learner`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from fluentio.billing import ledger
from fluentio.classroom import errors
from fluentio.classroom.reasons import EndReason
from fluentio.classroom.transcript import PAGE_CAPTIONS_GRACE_SECONDS
from fluentio.classroom.usage import Usage, billable_seconds, cost_estimate_microusd, usage_millicredits
from fluentio.feedback.jobs import enqueue_analysis
from fluentio.models import PracticeSession, SessionStatus, TranscriptItem
from fluentio.models.base import utcnow
from fluentio.models.billing import Actor, LedgerReason
from fluentio.settings import Settings

logger = logging.getLogger(__name__)

OPEN_STATUSES = (SessionStatus.STARTING.value, SessionStatus.LIVE.value)

# The table itself: the single-row UPDATEs below are Core statements on it. Through the
# mapped class, SQLAlchemy runs its ORM bulk-update path (compiling the ORM context and
# matching the identity map) for each, about twice the CPU, and every start and end
# runs several of them; whoever needs the row afterwards reads it (`finalise` does).
_TABLE: sa.Table = PracticeSession.__table__  # type: ignore[attr-defined]
_C = _TABLE.c


def open_session(
    *,
    session: Session,
    user_id: uuid.UUID,
    topic: str,
    level: str,
    vocabulary: Sequence[str],
    signaling: str,
    instructions: str,
    settings: Settings,
    language: str = "en",
    explanation_language: str = "en",
) -> PracticeSession:
    """A new session in `starting`; `already_in_call` when the learner has one open.
    `language` is practised in it, `explanation_language` is the feedback's."""
    row = PracticeSession(
        user_id=user_id,
        status=SessionStatus.STARTING.value,
        topic=topic,
        level=level,
        language=language,
        explanation_language=explanation_language,
        target_vocabulary=list(vocabulary),
        signaling=signaling,
        model=settings.realtime_model,
        voice=settings.realtime_voice,
        simulated=settings.openai_simulated,
        instructions=instructions,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise errors.already_in_call() from None
    return row


# PostgreSQL channel on which a new unowned call is announced to the workers.
CALLS_CHANNEL = "fluentio_calls"


@dataclass(frozen=True)
class Lease:
    """Who supervises a call, until when (renewed every few seconds)."""

    owner_id: str
    expires_at: datetime


def record_call_id(
    *,
    session: Session,
    session_id: uuid.UUID,
    call_id: str,
    answered_at: datetime | None = None,
    lease: Lease | None = None,
) -> None:
    """Relay: the provider's id for the call we started, when it answered, and its
    supervisor (`lease`: this process; None: the first worker to claim it)."""
    session.execute(
        sa.update(_TABLE)
        .where(_C.id == session_id)
        .values(
            provider_call_id=call_id,
            answered_at=answered_at,
            owner_id=lease.owner_id if lease else None,
            lease_expires_at=lease.expires_at if lease else None,
        )
    )
    if lease is None:
        announce_call(session=session, session_id=session_id)


def announce_call(*, session: Session, session_id: uuid.UUID) -> None:
    """Tell listening workers (PostgreSQL) that a call waits for a supervisor; sent at
    commit. Elsewhere the workers' poll finds it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_notify(CALLS_CHANNEL, str(session_id))))


def attach_call_id(
    *, session: Session, row: PracticeSession, call_id: str, now: datetime, lease: Lease | None = None
) -> None:
    """Ephemeral: the call id the browser reports, once, for a session still starting,
    and its supervisor (as in `record_call_id`)."""
    if row.status != SessionStatus.STARTING.value or row.provider_call_id is not None:
        raise errors.CallRefused(
            errors.RefusalCode.NOT_STARTABLE, "This lesson can no longer be joined. Start a new one.", 409
        )
    row.provider_call_id = call_id
    row.answered_at = now
    row.owner_id = lease.owner_id if lease else None
    row.lease_expires_at = lease.expires_at if lease else None
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise errors.CallRefused(
            errors.RefusalCode.CALL_ID_USED,
            "That call is already attached to another lesson. Start a new one.",
            409,
        ) from None
    if lease is None:
        announce_call(session=session, session_id=row.id)


def _orphaned(now: datetime) -> sa.ColumnElement[bool]:
    """Nobody holds the call: never owned, released, or its owner stopped renewing."""
    return sa.or_(
        col(PracticeSession.lease_expires_at).is_(None), col(PracticeSession.lease_expires_at) < now
    )


def orphaned_calls(*, session: Session, now: datetime, limit: int = 50) -> list[PracticeSession]:
    """Open calls with a provider call id that no live process holds (oldest first)."""
    return list(
        session.exec(
            select(PracticeSession)
            .where(
                col(PracticeSession.status).in_(OPEN_STATUSES),
                col(PracticeSession.provider_call_id).is_not(None),
                _orphaned(now),
            )
            .order_by(col(PracticeSession.created_at))
            .limit(limit)
        )
    )


def claim_call(
    *, session: Session, session_id: uuid.UUID, lease: Lease, now: datetime
) -> PracticeSession | None:
    """Take an orphaned open call (one conditional UPDATE: one winner); the row, or None
    when another process holds it or it has ended."""
    won = session.execute(
        sa.update(PracticeSession)
        .where(
            col(PracticeSession.id) == session_id,
            col(PracticeSession.status).in_(OPEN_STATUSES),
            col(PracticeSession.provider_call_id).is_not(None),
            _orphaned(now),
        )
        .values(
            owner_id=lease.owner_id,
            lease_expires_at=lease.expires_at,
            # Live under another supervisor before: a take-over (a fresh start is not).
            takeovers=col(PracticeSession.takeovers)
            + sa.case((col(PracticeSession.started_at).is_not(None), 1), else_=0),
        )
    )
    if not _changed(won):
        return None
    return session.get(PracticeSession, session_id, populate_existing=True)


def renew_leases(*, session: Session, lease: Lease, followed: Collection[uuid.UUID] = ()) -> set[uuid.UUID]:
    """Extend the leases `lease.owner_id` holds on the calls it follows (`followed`: a
    call it holds but no longer follows, say after a failed finalisation, expires and is
    recovered); of those, the ones it no longer holds while they are still open (lost
    to another process: its supervisor must let go, without hanging up)."""
    if not followed:
        return set()
    session.execute(
        sa.update(PracticeSession)
        .where(
            col(PracticeSession.id).in_(list(followed)),
            col(PracticeSession.owner_id) == lease.owner_id,
            col(PracticeSession.status).in_(OPEN_STATUSES),
        )
        .values(lease_expires_at=lease.expires_at)
    )
    lost = session.exec(
        select(PracticeSession.id).where(
            col(PracticeSession.id).in_(list(followed)),
            col(PracticeSession.status).in_(OPEN_STATUSES),
            sa.or_(col(PracticeSession.owner_id).is_(None), col(PracticeSession.owner_id) != lease.owner_id),
        )
    )
    return set(lost)


def release_call(*, session: Session, session_id: uuid.UUID, owner_id: str, usage: Usage) -> bool:
    """Hand a call over (graceful stop): its token counts so far are kept and its lease
    freed, so another worker claims it at once. False if `owner_id` did not hold it."""
    row = session.get(PracticeSession, session_id, populate_existing=True)
    if row is None or row.owner_id != owner_id or row.status not in OPEN_STATUSES:
        return False
    _keep_usage(row, usage)
    row.owner_id = None
    row.lease_expires_at = None
    session.add(row)
    session.flush()
    announce_call(session=session, session_id=session_id)
    return True


def request_end(*, session: Session, session_id: uuid.UUID, reason: EndReason) -> bool:
    """Another process (the learner's page) asks the call's owner to end it: the reason
    is kept for the owner's `finalise`, which happens when the provider closes the call
    after the caller's hang-up. False if the call is no longer open."""
    result = session.execute(
        sa.update(_TABLE)
        .where(_C.id == session_id, _C.status.in_(OPEN_STATUSES))
        .values(end_requested=reason.value)
    )
    return _changed(result)


def record_hangup(*, session: Session, session_id: uuid.UUID, at: datetime) -> bool:
    """The provider acknowledged at `at` a hang-up that this process (not the call's owner)
    sent: the owner's `finalise` charges up to it (the earliest such moment is kept).
    False if the call was already finalised."""
    result = session.execute(
        sa.update(_TABLE)
        .where(
            _C.id == session_id,
            _C.status.in_(OPEN_STATUSES),
            sa.or_(_C.hung_up_at.is_(None), _C.hung_up_at > at),
        )
        .values(hung_up_at=at)
    )
    return _changed(result)


def hangup_state(*, session: Session, session_id: uuid.UUID) -> tuple[bool, datetime | None]:
    """Whether another process asked the call to end, and when the provider acknowledged
    that process's hang-up (None: not yet, or not recorded)."""
    found = session.execute(sa.select(_C.end_requested, _C.hung_up_at).where(_C.id == session_id)).first()
    if found is None:
        return False, None
    return found[0] is not None, found[1]


def mark_live(*, session: Session, session_id: uuid.UUID, now: datetime) -> bool:
    """The call connected: start its clock. False when it was ended meanwhile."""
    result = session.execute(
        sa.update(_TABLE)
        .where(
            _C.id == session_id,
            _C.status == SessionStatus.STARTING.value,
            _C.end_requested.is_(None),
        )
        .values(status=SessionStatus.LIVE.value, started_at=now, last_seen_at=now)
    )
    return _changed(result)


def heartbeat(*, session: Session, session_id: uuid.UUID, now: datetime, usage: Usage) -> bool:
    """The call is still followed (recovery charges a dead server's calls up to here),
    with its token counts so far. False when the call was ended elsewhere."""
    result = session.execute(
        sa.update(_TABLE)
        .where(_C.id == session_id, _C.status == SessionStatus.LIVE.value)
        .values(last_seen_at=now, **usage.columns())
    )
    return _changed(result)


def heartbeat_many(*, session: Session, now: datetime, usages: dict[uuid.UUID, Usage]) -> set[uuid.UUID]:
    """`heartbeat` for many calls of one process in two statements (a worker holding
    hundreds of calls writes them together); the calls still live."""
    if not usages:
        return set()
    statement = (
        sa.update(_TABLE)
        .where(_C.id == sa.bindparam("b_id"), _C.status == SessionStatus.LIVE.value)
        .values(last_seen_at=now, **{name: sa.bindparam(f"b_{name}") for name in Usage().columns()})
    )
    session.connection().execute(
        statement,
        [
            {"b_id": session_id, **{f"b_{name}": value for name, value in usage.columns().items()}}
            for session_id, usage in usages.items()
        ],
    )
    live = session.exec(
        select(PracticeSession.id).where(
            col(PracticeSession.id).in_(list(usages)),
            col(PracticeSession.status) == SessionStatus.LIVE.value,
        )
    )
    return set(live)


def flag_low_balance(*, session: Session, session_id: uuid.UUID) -> None:
    session.execute(sa.update(_TABLE).where(_C.id == session_id).values(low_balance_warned=True))


def finalise(
    *,
    session: Session,
    session_id: uuid.UUID,
    reason: EndReason,
    settings: Settings,
    until: datetime | None = None,
    usage: Usage | None = None,
    charge: bool = True,
    requested_first: bool = False,
) -> PracticeSession | None:
    """End a call's session and bill it, once; the row for the caller that did it.

    With it: the connected seconds up to `until` (the moment the provider's call ended,
    as near as we know it), the charge (ledger key `session-usage:{id}`, at most what is
    left, so the balance never goes below 0), the token counts and cost estimate, and
    the feedback job. A session that never connected, or with `charge=False`, ends as
    failed and costs nothing. With `requested_first` (the owner, ending for want of a
    reason of its own), a reason another process asked for (`request_end`) wins.
    """
    now = utcnow()
    won = session.execute(
        sa.update(_TABLE)
        .where(_C.id == session_id, _C.status.in_(OPEN_STATUSES))
        .values(status=SessionStatus.ENDED.value, ended_at=now, end_reason=reason.value)
    )
    if not _changed(won):
        return None
    row = session.get(PracticeSession, session_id, populate_existing=True)
    assert row is not None
    if requested_first and row.end_requested:
        reason = EndReason.parse(row.end_requested, reason)
        row.end_reason = reason.value
    row.owner_id = None
    row.lease_expires_at = None
    if usage is not None:
        _keep_usage(row, usage)
    # The provider's call ended no later than it acknowledged a hang-up another process
    # sent (record_hangup): the same clock as its connected time.
    until = until or now
    if row.hung_up_at is not None:
        until = min(until, _aware(row.hung_up_at))
    connected = charge and row.started_at is not None
    row.status = SessionStatus.ENDED.value if connected else SessionStatus.FAILED.value
    row.billable_seconds = billable_seconds(row.started_at, until) if connected else 0
    row.charged_millicredits = _charge(session, row, reason, settings) if connected else 0
    row.cost_estimate_microusd = cost_estimate_microusd(row, settings)
    session.add(row)
    session.flush()
    if connected:
        # A taken-over call's page may still hand over items no worker heard: wait for it.
        wait = PAGE_CAPTIONS_GRACE_SECONDS if row.takeovers > 0 else 0.0
        enqueue_analysis(session=session, practice_session_id=row.id, delay_seconds=wait)
    logger.info(
        "call %s finalised: %s, %s s, %s millicredits",
        session_id,
        reason.value,
        row.billable_seconds,
        row.charged_millicredits,
    )
    return row


def store_usage(*, session: Session, session_id: uuid.UUID, usage: Usage, settings: Settings) -> None:
    """Keep token counts that arrive after someone else finalised the call (say, a free
    abandoned start): the admin's cost figure must include every call the provider ran."""
    row = session.get(PracticeSession, session_id)
    if row is None:
        return
    _keep_usage(row, usage)
    row.cost_estimate_microusd = cost_estimate_microusd(row, settings)
    session.add(row)


def scrub_learner(*, session: Session, user_id: uuid.UUID) -> None:
    """Account deletion: drop the learner's transcripts and the words they chose (and the
    instructions built from them); the sessions stay as the record of what was spent."""
    practice_ids = sa.select(col(PracticeSession.id)).where(col(PracticeSession.user_id) == user_id)
    session.exec(delete(TranscriptItem).where(col(TranscriptItem.session_id).in_(practice_ids)))
    session.execute(
        sa.update(PracticeSession)
        .where(col(PracticeSession.user_id) == user_id)
        .values(target_vocabulary=[], instructions="")
    )


def _keep_usage(row: PracticeSession, usage: Usage) -> None:
    # Counts only grow: a replayed heartbeat or a late store never lowers them.
    for name, value in usage.columns().items():
        setattr(row, name, max(value, getattr(row, name)))


def _aware(moment: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; every stored moment is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _changed(result: object) -> bool:
    return getattr(result, "rowcount", 0) == 1


def _charge(session: Session, row: PracticeSession, reason: EndReason, settings: Settings) -> int:
    amount = usage_millicredits(row.billable_seconds, settings)
    if reason is EndReason.OUT_OF_CREDITS:
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
