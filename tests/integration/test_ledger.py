"""The credit ledger: balances, idempotency, overdraft protection, append-only entries.

Most tests run on both engines inside a rolled-back transaction (`db`). The concurrency
tests commit real transactions from many threads, each with its own Session, on fresh
users so that they never disturb each other.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from fluentio.billing import ledger
from fluentio.billing.ledger import (
    IdempotencyConflictError,
    InsufficientCreditsError,
    LedgerEntryImmutableError,
)
from fluentio.db import engine_for
from fluentio.models import MILLICREDITS_PER_CREDIT, CreditBalance, LedgerEntry, LedgerReason, User
from fluentio.models.billing import Actor
from fluentio.settings import get_settings
from tests.support.factories import make_user

CREDIT = MILLICREDITS_PER_CREDIT
T = TypeVar("T")


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


def give(session: Session, user: User, millicredits: int) -> LedgerEntry:
    return ledger.grant(
        session=session,
        user_id=user.id,
        millicredits=millicredits,
        reason=LedgerReason.ADMIN_GRANT,
        idempotency_key=key(),
        actor=Actor.ADMIN,
    )


def take(session: Session, user: User, millicredits: int, **kwargs: object) -> LedgerEntry | None:
    return ledger.spend(
        session=session,
        user_id=user.id,
        millicredits=millicredits,
        reason=LedgerReason.SESSION_USAGE,
        idempotency_key=str(kwargs.pop("idempotency_key", key())),
        actor=Actor.SYSTEM,
        **kwargs,  # type: ignore[arg-type]
    )


def entries_sum(session: Session, user_id: uuid.UUID) -> int:
    total = session.scalar(
        sa.select(func.coalesce(func.sum(LedgerEntry.millicredits), 0)).where(
            col(LedgerEntry.user_id) == user_id
        )
    )
    return int(total or 0)


def entry_count(session: Session, user_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            sa.select(func.count()).select_from(LedgerEntry).where(col(LedgerEntry.user_id) == user_id)
        )
        or 0
    )


def assert_consistent(session: Session, user_id: uuid.UUID) -> None:
    assert ledger.balance(session=session, user_id=user_id) == entries_sum(session, user_id)


# --- balances, grants and spends (both engines) -----------------------------------------


def test_a_user_without_credits_has_a_zero_balance(db: Session) -> None:
    user = make_user(db)
    assert ledger.balance(session=db, user_id=user.id) == 0
    assert ledger.history(session=db, user_id=user.id) == []


def test_several_balances_are_read_in_one_query(db: Session) -> None:
    rich, poor, never = make_user(db), make_user(db), make_user(db)
    give(db, rich, 10 * CREDIT)
    give(db, poor, CREDIT)
    take(db, poor, CREDIT)
    found = ledger.balances(session=db, user_ids=[rich.id, poor.id, never.id])
    assert found == {rich.id: 10 * CREDIT, poor.id: 0, never.id: 0}


def test_grant_then_spend_moves_the_balance(db: Session) -> None:
    user = make_user(db)
    entry = give(db, user, 10 * CREDIT)
    assert entry.millicredits == 10 * CREDIT
    assert ledger.balance(session=db, user_id=user.id) == 10 * CREDIT

    spent = take(db, user, 2500)
    assert spent is not None
    assert spent.millicredits == -2500
    assert spent.reason == LedgerReason.SESSION_USAGE.value
    assert ledger.balance(session=db, user_id=user.id) == 7500
    db.commit()
    assert_consistent(db, user.id)


def test_a_repeated_grant_key_returns_the_first_entry_and_changes_nothing(db: Session) -> None:
    user = make_user(db)
    k = key()
    args = {
        "session": db,
        "user_id": user.id,
        "millicredits": 5 * CREDIT,
        "reason": LedgerReason.PURCHASE,
        "idempotency_key": k,
        "actor": Actor.PAYMENT_PROVIDER,
    }
    first = ledger.grant(**args)  # type: ignore[arg-type]
    again = ledger.grant(**args)  # type: ignore[arg-type]
    assert again.id == first.id
    assert ledger.balance(session=db, user_id=user.id) == 5 * CREDIT
    assert entry_count(db, user.id) == 1


def test_a_repeated_spend_key_charges_once(db: Session) -> None:
    user = make_user(db)
    give(db, user, 3 * CREDIT)
    k = key()
    first = take(db, user, CREDIT, idempotency_key=k)
    again = take(db, user, CREDIT, idempotency_key=k)
    assert first is not None and again is not None
    assert again.id == first.id
    assert ledger.balance(session=db, user_id=user.id) == 2 * CREDIT


def test_a_key_reused_for_a_different_movement_is_refused(db: Session) -> None:
    user, other = make_user(db), make_user(db)
    entry = give(db, user, CREDIT)
    common = {
        "reason": LedgerReason.ADMIN_GRANT,
        "idempotency_key": entry.idempotency_key,
        "actor": Actor.ADMIN,
    }
    with pytest.raises(IdempotencyConflictError, match="already used"):
        ledger.grant(session=db, user_id=user.id, millicredits=2 * CREDIT, **common)  # type: ignore[arg-type]
    with pytest.raises(IdempotencyConflictError):
        ledger.grant(session=db, user_id=other.id, millicredits=CREDIT, **common)  # type: ignore[arg-type]
    with pytest.raises(IdempotencyConflictError):
        take(db, user, CREDIT, idempotency_key=entry.idempotency_key)
    assert ledger.balance(session=db, user_id=user.id) == CREDIT
    assert ledger.balance(session=db, user_id=other.id) == 0


@pytest.mark.parametrize("amount", [0, -5, 1.5, True])
def test_amounts_must_be_positive_integers(db: Session, amount: object) -> None:
    user = make_user(db)
    with pytest.raises(ValueError, match="positive integer"):
        give(db, user, amount)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive integer"):
        take(db, user, amount)  # type: ignore[arg-type]


def test_spending_more_than_the_balance_is_refused_with_a_human_message(db: Session) -> None:
    user = make_user(db)
    give(db, user, 1500)
    with pytest.raises(InsufficientCreditsError) as caught:
        take(db, user, 2 * CREDIT)
    message = str(caught.value)
    assert "only 1.5 credits left" in message
    assert "needs 2 credits" in message
    assert "Buy a credit pack" in message
    assert (caught.value.available, caught.value.requested) == (1500, 2 * CREDIT)
    assert ledger.balance(session=db, user_id=user.id) == 1500
    assert entry_count(db, user.id) == 1


def test_spending_with_no_credits_at_all_says_so(db: Session) -> None:
    user = make_user(db)
    with pytest.raises(InsufficientCreditsError, match="You have no credits left, and this needs 1 credit"):
        take(db, user, CREDIT)
    assert ledger.balance(session=db, user_id=user.id) == 0
    assert entry_count(db, user.id) == 0


def test_allow_partial_spends_what_is_left_then_nothing(db: Session) -> None:
    user = make_user(db)
    give(db, user, 400)
    k = key()
    last = take(db, user, CREDIT, allow_partial=True, idempotency_key=k)
    assert last is not None
    assert last.millicredits == -400
    assert ledger.balance(session=db, user_id=user.id) == 0
    # The same metering tick again is the recorded partial entry, not a conflict.
    again = take(db, user, CREDIT, allow_partial=True, idempotency_key=k)
    assert again is not None and again.id == last.id
    assert take(db, user, CREDIT, allow_partial=True) is None
    assert entry_count(db, user.id) == 2
    assert_consistent(db, user.id)


def test_allow_partial_spends_the_full_amount_when_there_is_enough(db: Session) -> None:
    user = make_user(db)
    give(db, user, 5 * CREDIT)
    entry = take(db, user, CREDIT, allow_partial=True)
    assert entry is not None and entry.millicredits == -CREDIT
    assert ledger.balance(session=db, user_id=user.id) == 4 * CREDIT


def test_deduct_clamps_to_what_is_left(db: Session) -> None:
    user, admin = make_user(db), make_user(db, role="admin")
    give(db, user, 3 * CREDIT)
    removed = ledger.deduct(
        session=db,
        user_id=user.id,
        millicredits=CREDIT,
        idempotency_key=key(),
        actor=Actor.ADMIN,
        actor_user_id=admin.id,
        note="duplicate grant",
    )
    assert removed is not None
    assert removed.millicredits == -CREDIT
    assert removed.reason == LedgerReason.ADMIN_DEDUCT.value
    assert removed.actor_user_id == admin.id

    refund = ledger.deduct(
        session=db,
        user_id=user.id,
        millicredits=60 * CREDIT,
        idempotency_key=key(),
        actor=Actor.PAYMENT_PROVIDER,
        reason=LedgerReason.REFUND,
    )
    assert refund is not None
    assert refund.millicredits == -2 * CREDIT
    assert ledger.balance(session=db, user_id=user.id) == 0
    nothing = ledger.deduct(
        session=db, user_id=user.id, millicredits=CREDIT, idempotency_key=key(), actor=Actor.ADMIN
    )
    assert nothing is None
    assert_consistent(db, user.id)


def test_the_cached_balance_equals_the_sum_after_a_mix_of_operations(db: Session) -> None:
    user = make_user(db)
    ledger.ensure_signup_bonus(session=db, user_id=user.id)
    give(db, user, 7 * CREDIT)
    take(db, user, 1250)
    take(db, user, 333)
    ledger.deduct(
        session=db, user_id=user.id, millicredits=2 * CREDIT, idempotency_key=key(), actor=Actor.ADMIN
    )
    with pytest.raises(InsufficientCreditsError):
        take(db, user, 10_000 * CREDIT)
    rest = take(db, user, 10_000 * CREDIT, allow_partial=True)
    assert rest is not None
    assert rest.millicredits == -(
        get_settings().signup_credits * CREDIT + 7 * CREDIT - 1250 - 333 - 2 * CREDIT
    )
    give(db, user, 1)
    db.commit()

    assert entries_sum(db, user.id) == 1
    assert ledger.balance(session=db, user_id=user.id) == 1
    stored = db.exec(select(CreditBalance).where(CreditBalance.user_id == user.id)).one()
    assert stored.millicredits == 1


def test_ledger_entries_cannot_be_changed_or_deleted(db: Session) -> None:
    user = make_user(db)
    entry = give(db, user, CREDIT)
    db.commit()

    with pytest.raises(LedgerEntryImmutableError, match="append-only"), db.begin_nested():
        entry.millicredits = 1_000_000
        db.flush()
    db.expire_all()

    with pytest.raises(LedgerEntryImmutableError, match="append-only"), db.begin_nested():
        db.delete(entry)
        db.flush()
    db.expire_all()

    stored = db.get(LedgerEntry, entry.id)
    assert stored is not None and stored.millicredits == CREDIT
    assert ledger.balance(session=db, user_id=user.id) == CREDIT


# --- the signup bonus --------------------------------------------------------------------


def test_the_signup_bonus_is_granted_exactly_once(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_SIGNUP_CREDITS", "30")
    get_settings.cache_clear()
    user = make_user(db)
    results = [ledger.ensure_signup_bonus(session=db, user_id=user.id) for _ in range(3)]
    assert all(r is not None for r in results)
    assert len({r.id for r in results if r is not None}) == 1
    entry = results[0]
    assert entry is not None
    assert entry.idempotency_key == f"signup:{user.id}"
    assert entry.reason == LedgerReason.SIGNUP_BONUS.value
    assert entry.actor == Actor.SYSTEM.value
    assert ledger.balance(session=db, user_id=user.id) == 30 * CREDIT
    assert entry_count(db, user.id) == 1
    assert ledger.describe(entry) == "Welcome bonus: +30 credits"


def test_the_signup_bonus_follows_the_setting(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_SIGNUP_CREDITS", "7")
    get_settings.cache_clear()
    user = make_user(db)
    entry = ledger.ensure_signup_bonus(session=db, user_id=user.id)
    assert entry is not None and entry.millicredits == 7 * CREDIT

    # A later change of the setting neither grants again nor trips the key check.
    monkeypatch.setenv("FLUENTIO_SIGNUP_CREDITS", "50")
    get_settings.cache_clear()
    again = ledger.ensure_signup_bonus(session=db, user_id=user.id)
    assert again is not None and again.id == entry.id
    assert ledger.balance(session=db, user_id=user.id) == 7 * CREDIT


def test_no_signup_bonus_when_the_setting_is_zero(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_SIGNUP_CREDITS", "0")
    get_settings.cache_clear()
    user = make_user(db)
    assert ledger.ensure_signup_bonus(session=db, user_id=user.id) is None
    assert ledger.balance(session=db, user_id=user.id) == 0
    assert entry_count(db, user.id) == 0


# --- history and wording -------------------------------------------------------------------


def test_history_is_newest_first_and_pages(db: Session) -> None:
    user, other = make_user(db), make_user(db)
    first = give(db, user, 3 * CREDIT)
    second = take(db, user, CREDIT)
    third = give(db, user, 2 * CREDIT)
    give(db, other, CREDIT)
    assert second is not None

    assert [e.id for e in ledger.history(session=db, user_id=user.id)] == [third.id, second.id, first.id]
    assert [e.id for e in ledger.history(session=db, user_id=user.id, limit=2)] == [third.id, second.id]
    assert [e.id for e in ledger.history(session=db, user_id=user.id, limit=2, offset=2)] == [first.id]


@pytest.mark.parametrize(
    ("millicredits", "text"),
    [
        (30_000, "30 credits"),
        (2_500, "2.5 credits"),
        (1_000, "1 credit"),
        (1_004, "1 credit"),
        (50, "0.05 credits"),
        (1_234, "1.23 credits"),
        (1_235, "1.24 credits"),
        (999_995, "1000 credits"),
        (0, "0 credits"),
        (4, "less than 0.01 credits"),
        (-2_500, "−2.5 credits"),
        (-1_000, "−1 credit"),
    ],
)
def test_format_credits(millicredits: int, text: str) -> None:
    assert ledger.format_credits(millicredits) == text


@pytest.mark.parametrize(
    ("reason", "millicredits", "note", "text"),
    [
        (LedgerReason.SIGNUP_BONUS, 30_000, "", "Welcome bonus: +30 credits"),
        (LedgerReason.SESSION_USAGE, -2_500, "", "Practice session: −2.5 credits"),
        (
            LedgerReason.ADMIN_GRANT,
            10_000,
            "sorry for the outage",
            "Added by an admin: +10 credits (sorry for the outage)",
        ),
        (LedgerReason.ADMIN_DEDUCT, -1_000, "", "Removed by an admin: −1 credit"),
        (LedgerReason.PURCHASE, 60_000, "", "Credit pack purchase: +60 credits"),
        (LedgerReason.REFUND, -60_000, "", "Payment refunded: −60 credits"),
        ("goodwill_gesture", 1_000, "", "Goodwill gesture: +1 credit"),
    ],
)
def test_describe(reason: str, millicredits: int, note: str, text: str) -> None:
    entry = LedgerEntry(
        user_id=uuid.uuid4(),
        millicredits=millicredits,
        reason=str(reason),
        note=note,
        actor=Actor.SYSTEM.value,
        idempotency_key=key(),
    )
    assert ledger.describe(entry) == text


# --- concurrency: real committed transactions from many threads ----------------------------


def run_together(count: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Run `work(i)` in `count` threads released at the same moment; collect results or errors."""
    barrier = threading.Barrier(count, timeout=60)

    def one(i: int) -> T | BaseException:
        barrier.wait()
        try:
            return work(i)
        except BaseException as exc:  # collected so the test can count each kind
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def committed_user_with(url: str, millicredits: int) -> uuid.UUID:
    with Session(engine_for(url), expire_on_commit=False) as session:
        user = make_user(session)
        if millicredits:
            give(session, user, millicredits)
        session.commit()
        return user.id


def concurrent_spends(url: str, *, threads: int, credits: int) -> None:
    engine = engine_for(url)
    user_id = committed_user_with(url, credits * CREDIT)

    def spend_one_credit(i: int) -> LedgerEntry | None:
        with Session(engine, expire_on_commit=False) as session:
            entry = ledger.spend(
                session=session,
                user_id=user_id,
                millicredits=CREDIT,
                reason=LedgerReason.SESSION_USAGE,
                idempotency_key=f"race:{user_id}:{i}",
                actor=Actor.SYSTEM,
            )
            session.commit()
            return entry

    results = run_together(threads, spend_one_credit)

    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, InsufficientCreditsError)
    ]
    assert unexpected == []
    assert sum(isinstance(r, LedgerEntry) for r in results) == credits
    assert sum(isinstance(r, InsufficientCreditsError) for r in results) == threads - credits
    with Session(engine) as session:
        assert ledger.balance(session=session, user_id=user_id) == 0
        assert entries_sum(session, user_id) == 0
        assert entry_count(session, user_id) == credits + 1


def test_concurrent_spends_never_overdraw_on_postgresql(pg_url: str) -> None:
    concurrent_spends(pg_url, threads=50, credits=10)


def test_concurrent_spends_never_overdraw_on_sqlite(sqlite_url: str) -> None:
    concurrent_spends(sqlite_url, threads=10, credits=3)


@pytest.mark.parametrize("url_fixture", ["pg_url", "sqlite_url"])
def test_concurrent_grants_with_one_key_create_one_entry(
    url_fixture: str, request: pytest.FixtureRequest
) -> None:
    url = str(request.getfixturevalue(url_fixture))
    engine = engine_for(url)
    # No balance row yet either: its creation races too.
    user_id = committed_user_with(url, 0)
    shared_key = f"purchase:{uuid.uuid4().hex}"

    def grant_once(_: int) -> uuid.UUID:
        with Session(engine, expire_on_commit=False) as session:
            entry = ledger.grant(
                session=session,
                user_id=user_id,
                millicredits=5 * CREDIT,
                reason=LedgerReason.PURCHASE,
                idempotency_key=shared_key,
                actor=Actor.PAYMENT_PROVIDER,
            )
            session.commit()
            return entry.id

    results = run_together(20 if url_fixture == "pg_url" else 8, grant_once)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(set(results)) == 1
    with Session(engine) as session:
        assert entry_count(session, user_id) == 1
        assert ledger.balance(session=session, user_id=user_id) == 5 * CREDIT
