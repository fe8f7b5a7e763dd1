"""The credit ledger: the only code that moves credits.

Every movement is one append-only `LedgerEntry` (signed millicredits) written in the
same transaction as the change to the user's cached `CreditBalance`, so the balance
always equals the sum of the entries. The caller owns the transaction: these functions
flush but never commit.

Concurrency:
- Each movement first makes sure the balance row exists (INSERT … ON CONFLICT DO
  NOTHING), then locks it (`SELECT … FOR UPDATE` on PostgreSQL). Movements for one user
  are therefore serialised, and a spend decides against the real, current balance.
- SQLite has no row locks, but the INSERT above is a write, so it takes the database's
  single writer lock for the rest of the transaction: the same serialisation.
- The balance itself changes through a conditional UPDATE (`… WHERE millicredits +
  delta >= 0`), a second guard that can never let a balance go below zero, backed by
  the table's CHECK constraint.

Idempotency: every movement carries a unique `idempotency_key`. Repeating a call with a
key that is already recorded returns the recorded entry and changes nothing; two
transactions racing with the same key meet at the unique index, and the loser recovers
inside a savepoint and returns the winner's entry.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fluentio.db import insert_unless_exists
from fluentio.models.base import utcnow
from fluentio.models.billing import MILLICREDITS_PER_CREDIT, Actor, CreditBalance, LedgerEntry, LedgerReason
from fluentio.settings import get_settings


class InsufficientCreditsError(Exception):
    """A spend asked for more credits than the user has left."""

    def __init__(self, *, available: int, requested: int) -> None:
        self.available = available
        self.requested = requested
        if available <= 0:
            left = "You have no credits left"
        else:
            left = f"You have only {format_credits(available)} left"
        super().__init__(
            f"{left}, and this needs {format_credits(requested)}. "
            "Buy a credit pack on the Pricing page to keep practising."
        )


class IdempotencyConflictError(ValueError):
    """An idempotency key was reused for a different movement: a bug in the caller."""


class LedgerEntryImmutableError(RuntimeError):
    """Something tried to change or delete a ledger entry, which are append-only."""


def balance(*, session: Session, user_id: uuid.UUID) -> int:
    """The user's balance in millicredits (0 for a user who never had credits)."""
    value = session.scalar(
        sa.select(col(CreditBalance.millicredits)).where(col(CreditBalance.user_id) == user_id)
    )
    return int(value or 0)


def balances(*, session: Session, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Several users' balances in one query (0 for a user who never had credits)."""
    rows = session.execute(
        sa.select(col(CreditBalance.user_id), col(CreditBalance.millicredits)).where(
            col(CreditBalance.user_id).in_(user_ids)
        )
    )
    found = {user_id: int(millicredits) for user_id, millicredits in rows}
    return {user_id: found.get(user_id, 0) for user_id in user_ids}


def grant(
    *,
    session: Session,
    user_id: uuid.UUID,
    millicredits: int,
    reason: LedgerReason | str,
    idempotency_key: str,
    actor: Actor | str,
    actor_user_id: uuid.UUID | None = None,
    note: str = "",
    payment_id: uuid.UUID | None = None,
    practice_session_id: uuid.UUID | None = None,
) -> LedgerEntry:
    """Add `millicredits` (> 0) to the user's balance, once per idempotency key."""
    _require_positive(millicredits)
    entry = _post(
        session=session,
        user_id=user_id,
        millicredits=millicredits,
        direction=1,
        allow_partial=False,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
        actor_user_id=actor_user_id,
        note=note,
        payment_id=payment_id,
        practice_session_id=practice_session_id,
    )
    assert entry is not None  # a grant is never partial
    return entry


def spend(
    *,
    session: Session,
    user_id: uuid.UUID,
    millicredits: int,
    reason: LedgerReason | str,
    idempotency_key: str,
    actor: Actor | str,
    actor_user_id: uuid.UUID | None = None,
    note: str = "",
    payment_id: uuid.UUID | None = None,
    practice_session_id: uuid.UUID | None = None,
    allow_partial: bool = False,
) -> LedgerEntry | None:
    """Take `millicredits` (> 0) from the user's balance, once per idempotency key.

    Raises InsufficientCreditsError when the balance is too low. With `allow_partial`
    it takes whatever is left instead (call metering charges the last seconds of a call
    this way) and returns None, recording nothing, when nothing is left.
    """
    _require_positive(millicredits)
    return _post(
        session=session,
        user_id=user_id,
        millicredits=millicredits,
        direction=-1,
        allow_partial=allow_partial,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
        actor_user_id=actor_user_id,
        note=note,
        payment_id=payment_id,
        practice_session_id=practice_session_id,
    )


def deduct(
    *,
    session: Session,
    user_id: uuid.UUID,
    millicredits: int,
    idempotency_key: str,
    actor: Actor | str,
    reason: LedgerReason | str = LedgerReason.ADMIN_DEDUCT,
    actor_user_id: uuid.UUID | None = None,
    note: str = "",
    payment_id: uuid.UUID | None = None,
) -> LedgerEntry | None:
    """Remove up to `millicredits` (> 0) for an admin deduction or a refund.

    Clamps rather than refuses: when the user has already spent part of what is being
    taken back (say a refunded pack that was half used), it removes what is left and the
    entry records the amount actually removed. Refusing would leave a refund webhook
    failing for ever. Returns None, recording nothing, when the balance is already 0.
    """
    return spend(
        session=session,
        user_id=user_id,
        millicredits=millicredits,
        reason=reason,
        idempotency_key=idempotency_key,
        actor=actor,
        actor_user_id=actor_user_id,
        note=note,
        payment_id=payment_id,
        allow_partial=True,
    )


def signup_bonus_key(user_id: uuid.UUID) -> str:
    return f"signup:{user_id}"


def ensure_signup_bonus(*, session: Session, user_id: uuid.UUID) -> LedgerEntry | None:
    """Grant the welcome credits (FLUENTIO_SIGNUP_CREDITS) exactly once per user.

    Every way into an account (password signup, OAuth, admin creation) may call this;
    the fixed key makes the later calls no-ops. An existing bonus is returned as it is
    even if the setting has changed since. Returns None when the setting is 0.
    """
    credits = get_settings().signup_credits
    if credits <= 0:
        return None
    key = signup_bonus_key(user_id)
    existing = _entry_by_key(session, key)
    if existing is not None:
        return existing
    return grant(
        session=session,
        user_id=user_id,
        millicredits=credits * MILLICREDITS_PER_CREDIT,
        reason=LedgerReason.SIGNUP_BONUS,
        idempotency_key=key,
        actor=Actor.SYSTEM,
    )


def history(*, session: Session, user_id: uuid.UUID, limit: int = 50, offset: int = 0) -> list[LedgerEntry]:
    """The user's entries, newest first."""
    statement = (
        select(LedgerEntry)
        .where(col(LedgerEntry.user_id) == user_id)
        .order_by(col(LedgerEntry.created_at).desc(), col(LedgerEntry.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.exec(statement))


_REASON_LABELS = {
    LedgerReason.SIGNUP_BONUS.value: "Welcome bonus",
    LedgerReason.PURCHASE.value: "Credit pack purchase",
    LedgerReason.SESSION_USAGE.value: "Practice session",
    LedgerReason.ADMIN_GRANT.value: "Added by an admin",
    LedgerReason.ADMIN_DEDUCT.value: "Removed by an admin",
    LedgerReason.REFUND.value: "Payment refunded",
}


def describe(entry: LedgerEntry) -> str:
    """Plain words for the account page, e.g. "Practice session: −2.5 credits"."""
    label = _REASON_LABELS.get(entry.reason, entry.reason.replace("_", " ").capitalize())
    sign = "+" if entry.millicredits > 0 else ""
    text = f"{label}: {sign}{format_credits(entry.millicredits)}"
    return f"{text} ({entry.note})" if entry.note else text


def format_credits(millicredits: int) -> str:
    """Millicredits as people read them: "30 credits", "2.5 credits", "1 credit".

    Rounded half-up to at most two decimals without trailing zeros; an amount too small
    to show is "less than 0.01 credits" rather than a misleading "0 credits".
    """
    minus = "−" if millicredits < 0 else ""
    credits = (Decimal(abs(millicredits)) / MILLICREDITS_PER_CREDIT).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    if credits == 0 and millicredits != 0:
        return f"{minus}less than 0.01 credits"
    number = format(credits.normalize(), "f")
    return f"{minus}{number} {'credit' if credits == 1 else 'credits'}"


def _require_positive(millicredits: int) -> None:
    if isinstance(millicredits, bool) or not isinstance(millicredits, int) or millicredits <= 0:
        raise ValueError(f"millicredits must be a positive integer, got {millicredits!r}")


def _post(
    *,
    session: Session,
    user_id: uuid.UUID,
    millicredits: int,
    direction: int,
    allow_partial: bool,
    reason: LedgerReason | str,
    idempotency_key: str,
    actor: Actor | str,
    actor_user_id: uuid.UUID | None,
    note: str,
    payment_id: uuid.UUID | None,
    practice_session_id: uuid.UUID | None,
) -> LedgerEntry | None:
    """Record one movement and apply it to the balance (see the module docstring)."""
    reason, actor = str(reason), str(actor)
    existing = _entry_by_key(session, idempotency_key)
    if existing is not None:
        return _same_movement(existing, user_id, reason, direction * millicredits, allow_partial)

    _ensure_balance_row(session, user_id)
    current = _lock_balance(session, user_id)
    amount = millicredits
    if direction < 0 and current < millicredits:
        if not allow_partial:
            raise InsufficientCreditsError(available=current, requested=millicredits)
        if current <= 0:
            return None
        amount = current
    delta = direction * amount

    entry = LedgerEntry(
        user_id=user_id,
        millicredits=delta,
        reason=reason,
        note=note,
        actor=actor,
        actor_user_id=actor_user_id,
        idempotency_key=idempotency_key,
        payment_id=payment_id,
        practice_session_id=practice_session_id,
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
            _apply_to_balance(session, user_id, delta, available=current)
    except IntegrityError:
        # Another transaction recorded this key first (it committed while we waited
        # at the unique index); the savepoint undid only our attempt.
        existing = _entry_by_key(session, idempotency_key)
        if existing is None:
            raise
        return _same_movement(existing, user_id, reason, direction * millicredits, allow_partial)
    return entry


def _entry_by_key(session: Session, idempotency_key: str) -> LedgerEntry | None:
    return session.exec(
        select(LedgerEntry).where(col(LedgerEntry.idempotency_key) == idempotency_key)
    ).first()


def _same_movement(
    existing: LedgerEntry, user_id: uuid.UUID, reason: str, delta: int, allow_partial: bool
) -> LedgerEntry:
    """Return the recorded entry if it is this movement again, or refuse a reused key."""
    if allow_partial:
        # A partial movement may have recorded less than was asked for, never more.
        amount_matches = (existing.millicredits > 0) == (delta > 0) and abs(existing.millicredits) <= abs(
            delta
        )
    else:
        amount_matches = existing.millicredits == delta
    if existing.user_id != user_id or existing.reason != reason or not amount_matches:
        raise IdempotencyConflictError(
            f"Idempotency key {existing.idempotency_key!r} is already used by a different ledger entry "
            f"({existing.millicredits} millicredits, {existing.reason}, user {existing.user_id}); "
            f"refusing to reuse it for {delta} millicredits, {reason}, user {user_id}."
        )
    return existing


def _ensure_balance_row(session: Session, user_id: uuid.UUID) -> None:
    """Create the user's balance row at 0 unless it exists, safely under concurrency."""
    values: dict[str, Any] = {"user_id": user_id, "millicredits": 0, "updated_at": utcnow()}
    insert_unless_exists(session, CreditBalance, values)


def _lock_balance(session: Session, user_id: uuid.UUID) -> int:
    """Read the balance, holding its row lock until the transaction ends.

    On SQLite `with_for_update()` renders nothing; the writer lock taken by
    `_ensure_balance_row` does the job there.
    """
    value = session.scalar(
        sa.select(col(CreditBalance.millicredits))
        .where(col(CreditBalance.user_id) == user_id)
        .with_for_update()
    )
    return int(value or 0)


def _apply_to_balance(session: Session, user_id: uuid.UUID, delta: int, *, available: int) -> None:
    """Add `delta` to the cached balance, refusing anything that would go below zero."""
    statement = (
        sa.update(CreditBalance)
        .where(col(CreditBalance.user_id) == user_id)
        .where(col(CreditBalance.millicredits) + delta >= 0)
        .values(millicredits=col(CreditBalance.millicredits) + delta, updated_at=utcnow())
    )
    result: Any = session.execute(statement)
    if result.rowcount != 1:
        raise InsufficientCreditsError(available=available, requested=-delta)


def _refuse_change(_mapper: Any, _connection: Any, target: LedgerEntry) -> None:
    raise LedgerEntryImmutableError(
        f"Ledger entry {target.id} cannot be changed or deleted: the ledger is append-only. "
        "Record a correcting entry (grant or deduct) instead."
    )


sa.event.listen(LedgerEntry, "before_update", _refuse_change)
sa.event.listen(LedgerEntry, "before_delete", _refuse_change)
