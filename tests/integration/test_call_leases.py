"""The lease rules of call ownership (fluentio/classroom/ownership.py, lifecycle.py), on
PostgreSQL and SQLite, with an injected clock: one owner at a time, renewal, take-over
after expiry, hand-over, stale orphans left to recovery, and recovery never ending a
call whose owner still holds it."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta

import pytest

from fluentio.classroom import lifecycle, recovery
from fluentio.classroom.ownership import CallOwnership, Claimed, LeaseTimings
from fluentio.classroom.reasons import EndReason
from fluentio.classroom.usage import Usage
from fluentio.db import session_scope
from fluentio.models import PracticeSession, WorkerProcess
from fluentio.models.base import utcnow
from fluentio.settings import get_settings
from tests.support.factories import make_user

TIMINGS = LeaseTimings(lease=6.0, renew=1.5, poll=0.5)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(use_database: str) -> Clock:
    return Clock()


def owner(name: str, clock: Clock, role: str = "worker") -> CallOwnership:
    return CallOwnership(owner_id=f"{name}-{uuid.uuid4().hex[:6]}", role=role, timings=TIMINGS, clock=clock)


def open_call(
    *, status: str = "starting", seen: datetime | None = None, created: datetime | None = None
) -> uuid.UUID:
    with session_scope() as session:
        user = make_user(session)
        row = PracticeSession(
            user_id=user.id,
            status=status,
            topic="small_talk",
            level="B1",
            provider_call_id=f"rtc_lease_{uuid.uuid4().hex[:10]}",
            answered_at=seen or utcnow(),
            started_at=(seen or utcnow()) if status == "live" else None,
            last_seen_at=seen if status == "live" else None,
            output_audio_tokens=500,
        )
        if created is not None:
            row.created_at = created
        session.add(row)
    return row.id


def ids(claimed: list[Claimed]) -> set[uuid.UUID]:
    return {c.session_id for c in claimed}


def mine(claimed: list[Claimed], session_id: uuid.UUID) -> Claimed:
    """The claim of `session_id` among `claimed` (other tests' orphans may be there too)."""
    found = [c for c in claimed if c.session_id == session_id]
    assert len(found) == 1, claimed
    return found[0]


def lease_row(session_id: uuid.UUID) -> PracticeSession:
    with session_scope() as session:
        row = session.get(PracticeSession, session_id)
        assert row is not None
        return row


def test_one_worker_claims_a_new_call_and_others_find_nothing(clock: Clock) -> None:
    a, b = owner("a", clock), owner("b", clock)
    sid = open_call()
    claimed = mine(a.claim_orphans(), sid)
    assert claimed.resumed is None  # nobody supervised it before: a fresh start
    assert sid not in ids(b.claim_orphans())
    row = lease_row(sid)
    assert row.owner_id == a.owner_id and row.lease_expires_at == clock.now + timedelta(seconds=TIMINGS.lease)
    # Claiming is one conditional UPDATE: a second claim of the same row finds it held.
    with session_scope() as session:
        assert lifecycle.claim_call(session=session, session_id=sid, lease=b.lease(), now=clock.now) is None


def test_renewal_keeps_the_call_and_expiry_lets_another_take_it_over(clock: Clock) -> None:
    a, b = owner("a", clock), owner("b", clock)
    a.register()
    sid = open_call(status="live", seen=clock.now)
    mine(a.claim_orphans(), sid)
    # A call a holds but no longer follows (its supervisor failed to finalise it).
    unfollowed = open_call(status="live", seen=clock.now)
    mine(a.claim_orphans(), unfollowed)

    for _ in range(5):  # a renews every 1.5 s: b never gets what a follows
        clock.advance(TIMINGS.renew)
        assert a.beat({sid}) == set()
        assert sid not in ids(b.claim_orphans())
    assert lease_row(sid).owner_id == a.owner_id
    assert lease_row(unfollowed).owner_id == b.owner_id  # not renewed: it expired, b took it

    # a dies: just before its lease runs out nothing changes, just after b takes over.
    clock.advance(TIMINGS.lease - 0.1)
    assert sid not in ids(b.claim_orphans())
    clock.advance(0.2)
    taken = mine(b.claim_orphans(), sid)
    assert taken.resumed is not None and taken.resumed.started_at is not None
    assert taken.resumed.usage.output_audio_tokens == 500  # metering carries on from the row
    assert lease_row(sid).owner_id == b.owner_id
    # a wakes up (a long pause, not a death): its next beat says it lost the call.
    assert a.beat({sid}) == {sid}
    assert lease_row(sid).owner_id == b.owner_id


def test_a_stale_orphan_is_left_to_recovery_and_a_held_call_never_ended(clock: Clock) -> None:
    a, b = owner("a", clock), owner("b", clock)
    # Orphaned 40 s ago (older than recovery's 30 s): not taken over.
    stale = open_call(status="live", seen=clock.now - timedelta(seconds=40))
    assert stale not in ids(b.claim_orphans())
    # A held call whose heartbeat looks old is still its owner's: recovery leaves it alone,
    # even at its most eager (start-up in role "all").
    held = open_call(status="live", seen=clock.now - timedelta(seconds=1))
    mine(a.claim_orphans(), held)
    with session_scope() as session:
        session.get(PracticeSession, held).last_seen_at = clock.now - timedelta(hours=1)  # type: ignore[union-attr]
    finalised = recovery.finalise_stale_calls(stale_after=0, starting_ttl=0)
    assert held not in finalised and stale in finalised
    assert lease_row(held).status == "live" and lease_row(stale).status == "ended"


def test_hand_over_releases_the_lease_with_the_usage_so_far(clock: Clock) -> None:
    a, b = owner("a", clock), owner("b", clock)
    sid = open_call(status="live", seen=clock.now)
    a.claim_orphans()
    assert not b.release(sid, Usage())  # only the owner can hand it over
    assert a.release(sid, Usage(output_audio_tokens=900, input_audio_tokens=300))
    row = lease_row(sid)
    assert row.owner_id is None and row.lease_expires_at is None
    assert row.output_audio_tokens == 900 and row.input_audio_tokens == 300
    # At once claimable by another worker, without waiting for any expiry.
    taken = mine(b.claim_orphans(), sid)
    assert taken.resumed is not None and taken.resumed.usage.output_audio_tokens == 900


def test_finalising_frees_the_lease_and_a_requested_reason_wins(clock: Clock) -> None:
    a = owner("a", clock)
    sid = open_call(status="live", seen=clock.now - timedelta(seconds=10))
    a.claim_orphans()
    with session_scope() as session:
        assert lifecycle.request_end(session=session, session_id=sid, reason=EndReason.ENDED_BY_LEARNER)
    with session_scope() as session:
        done = lifecycle.finalise(
            session=session,
            session_id=sid,
            reason=EndReason.PEER_LEFT,
            settings=get_settings(),
            requested_first=True,
        )
        assert done is not None
    row = lease_row(sid)
    assert row.status == "ended" and row.end_reason == "ended_by_learner"
    assert row.owner_id is None and row.lease_expires_at is None
    assert sid not in ids(a.claim_orphans())  # an ended call is nobody's
    with session_scope() as session:
        assert not lifecycle.request_end(session=session, session_id=sid, reason=EndReason.ENDED_BY_LEARNER)


def test_the_charge_runs_to_the_hang_up_the_web_stored_not_to_when_the_owner_saw_the_close(
    clock: Clock,
) -> None:
    """The web hangs up for the learner and stores when the provider acknowledged it; the
    owner, busy, sees the sideband close 8 s later: it charges up to the acknowledgement
    (the earliest one stored), and nothing is recorded once the call is finalised."""
    started = clock.now - timedelta(seconds=60)
    sid = open_call(status="live", seen=started)
    acknowledged = started + timedelta(seconds=42)
    with session_scope() as session:
        assert lifecycle.request_end(session=session, session_id=sid, reason=EndReason.ENDED_BY_LEARNER)
        assert lifecycle.hangup_state(session=session, session_id=sid) == (True, None)
        assert lifecycle.record_hangup(session=session, session_id=sid, at=acknowledged)
        assert not lifecycle.record_hangup(
            session=session, session_id=sid, at=acknowledged + timedelta(seconds=3)
        )
    with session_scope() as session:
        requested, stored = lifecycle.hangup_state(session=session, session_id=sid)
        assert requested and stored == acknowledged
        done = lifecycle.finalise(
            session=session,
            session_id=sid,
            reason=EndReason.PEER_LEFT,
            settings=get_settings(),
            until=acknowledged + timedelta(seconds=8),
            requested_first=True,
        )
        assert done is not None
    row = lease_row(sid)
    assert row.billable_seconds == 42 and row.end_reason == "ended_by_learner"
    with session_scope() as session:
        assert not lifecycle.record_hangup(session=session, session_id=sid, at=started)


def test_heartbeats_of_many_calls_are_written_together_and_tell_which_are_still_live(
    clock: Clock,
) -> None:
    seen = clock.now - timedelta(seconds=20)
    live = open_call(status="live", seen=seen)
    other = open_call(status="live", seen=seen)
    ended = open_call(status="live", seen=seen)
    with session_scope() as session:
        lifecycle.finalise(
            session=session, session_id=ended, reason=EndReason.PEER_LEFT, settings=get_settings()
        )
    with session_scope() as session:
        still = lifecycle.heartbeat_many(
            session=session,
            now=clock.now,
            usages={live: Usage(output_audio_tokens=900), other: Usage(input_text_tokens=7), ended: Usage()},
        )
    assert still == {live, other}
    assert lease_row(live).last_seen_at == clock.now and lease_row(live).output_audio_tokens == 900
    assert lease_row(other).input_text_tokens == 7 and lease_row(other).last_seen_at == clock.now
    assert lease_row(ended).status == "ended"


def test_a_requested_end_stops_a_call_from_going_live(clock: Clock) -> None:
    sid = open_call()
    with session_scope() as session:
        lifecycle.request_end(session=session, session_id=sid, reason=EndReason.ENDED_BY_LEARNER)
    with session_scope() as session:
        assert not lifecycle.mark_live(session=session, session_id=sid, now=clock.now)


def test_workers_table_heartbeats_and_who_is_alive(clock: Clock) -> None:
    a, b = owner("a", clock), owner("b", clock)
    everyone = owner("all", clock, role="all")
    for process in (a, b, everyone):
        process.register()
    assert b.owner_id in a.others_alive()
    assert everyone.owner_id not in a.others_alive()  # role "all" never takes calls over
    clock.advance(TIMINGS.lease + 1)
    a.beat(set())
    assert b.owner_id not in a.others_alive()  # b stopped beating
    assert a.owner_id in everyone.others_alive()
    clock.advance(120)
    a.beat(set())
    assert a.forget_dead_workers() >= 2  # b and "all" were silent for two minutes
    with session_scope() as session:
        assert session.get(WorkerProcess, a.owner_id) is not None
        assert session.get(WorkerProcess, b.owner_id) is None
    a.unregister()
    with session_scope() as session:
        assert session.get(WorkerProcess, a.owner_id) is None


async def test_a_new_call_is_announced_to_listening_workers(
    monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    """PostgreSQL: recording an unowned call NOTIFYs the workers, so they claim it without
    waiting for their poll (the bound here is far above a NOTIFY, far below no wake-up)."""
    import asyncio

    from fluentio.classroom.ownership import _Wakeup

    monkeypatch.setenv("DATABASE_URL", pg_url)
    get_settings.cache_clear()
    wakeup = _Wakeup()
    listening = asyncio.create_task(wakeup.listen_forever())
    try:
        sid = open_call()
        await asyncio.wait_for(wakeup.listening.wait(), 10)
        assert not wakeup.event.is_set()
        with session_scope() as session:
            lifecycle.record_call_id(session=session, session_id=sid, call_id=f"rtc_n_{uuid.uuid4().hex[:8]}")
        await asyncio.wait_for(wakeup.event.wait(), 10)
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
