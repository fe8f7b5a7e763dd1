"""What learners (and admins) read about credits and payments: ledger lines with who made
each movement, payment lines with invoice links, and the state of a just-paid checkout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, or_, select

from fluentio.billing import ledger
from fluentio.billing.packs import find_pack
from fluentio.models import User
from fluentio.models.billing import Actor, LedgerEntry, Payment, PaymentStatus

DATE_FORMAT = "%d %b %Y, %H:%M UTC"
STATUS_LABELS = {
    PaymentStatus.PENDING.value: "Processing",
    PaymentStatus.SUCCEEDED.value: "Paid",
    PaymentStatus.FAILED.value: "Failed",
    PaymentStatus.REFUNDED.value: "Refunded",
    PaymentStatus.HELD.value: "On hold (we're checking it)",
}
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
ACTOR_LABELS = {
    Actor.SYSTEM.value: "Fluentio",
    Actor.LEARNER.value: "Learner",
    Actor.ADMIN.value: "Admin",
    Actor.PAYMENT_PROVIDER.value: "Payment provider",
}


def format_money(cents: int, currency: str) -> str:
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    amount = f"{cents / 100:,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency.upper()}"


def pack_name(pack_id: str) -> str:
    pack = find_pack(pack_id) if pack_id else None
    return pack.name if pack else (pack_id or "Credit pack")


def actor_names(session: Session, entries: list[LedgerEntry]) -> dict[uuid.UUID, str]:
    ids = {e.actor_user_id for e in entries if e.actor_user_id is not None}
    if not ids:
        return {}
    users = session.exec(select(User).where(col(User.id).in_(ids))).all()
    return {u.id: u.display_name or u.email for u in users}


def ledger_rows(session: Session, user_id: uuid.UUID, *, limit: int = 100) -> list[dict[str, str]]:
    """The user's credit movements, newest first, each naming the admin who made it (if any)."""
    entries = ledger.history(session=session, user_id=user_id, limit=limit)
    names = actor_names(session, entries)
    rows = []
    for entry in entries:
        by = names.get(entry.actor_user_id) if entry.actor_user_id else None
        what = ledger.describe(entry)
        rows.append(
            {
                "when": entry.created_at.strftime(DATE_FORMAT),
                "what": f"{what} · by {by}" if by else what,
                "reason": entry.reason,
                "actor": ACTOR_LABELS.get(entry.actor, entry.actor.replace("_", " ").capitalize()),
                "by": by or "",
                "amount": ledger.format_credits(entry.millicredits),
                "note": entry.note,
            }
        )
    return rows


def payment_row(payment: Payment) -> dict[str, str]:
    status = STATUS_LABELS.get(payment.status, payment.status)
    if payment.status == PaymentStatus.SUCCEEDED.value and payment.refunded_cents:
        status = "Paid (partly refunded)"
    has_invoice = payment.status in (PaymentStatus.SUCCEEDED.value, PaymentStatus.REFUNDED.value)
    return {
        "id": str(payment.id),
        "when": payment.created_at.strftime(DATE_FORMAT),
        "pack": pack_name(payment.pack_id),
        "credits": str(payment.credits) if payment.credits else "",
        "amount": format_money(payment.amount_cents, payment.currency) if payment.amount_cents else "",
        "status": payment.status,
        "status_label": status,
        "invoice": f"/api/invoices/{payment.id}" if has_invoice else "",
        "provider_id": payment.provider_payment_id,
        "email": payment.customer_email,
        "note": payment.note,
    }


def payment_rows(session: Session, user_id: uuid.UUID, *, limit: int = 50) -> list[dict[str, str]]:
    payments = session.exec(
        select(Payment)
        .where(col(Payment.user_id) == user_id)
        .order_by(col(Payment.created_at).desc())
        .limit(limit)
    ).all()
    return [payment_row(p) for p in payments]


@dataclass(frozen=True)
class ReturnStatus:
    """Where a learner's checkout stands, for the return page."""

    phase: str  # waiting | credited | held | failed | refunded
    credits: int = 0
    balance: str = ""


def checkout_status(
    session: Session, *, user_id: uuid.UUID, provider_payment_id: str, checkout_session_id: str
) -> ReturnStatus:
    """The state of the learner's payment named by the return URL (only ever their own)."""
    wanted = []
    if provider_payment_id:
        wanted.append(col(Payment.provider_payment_id) == provider_payment_id)
    if checkout_session_id:
        wanted.append(col(Payment.checkout_session_id) == checkout_session_id)
    payment = None
    if wanted:
        payment = session.exec(select(Payment).where(col(Payment.user_id) == user_id, or_(*wanted))).first()
    balance = ledger.format_credits(ledger.balance(session=session, user_id=user_id))
    if payment is None or payment.status == PaymentStatus.PENDING.value:
        return ReturnStatus("waiting", balance=balance)
    phases = {
        PaymentStatus.SUCCEEDED.value: "credited",
        PaymentStatus.HELD.value: "held",
        PaymentStatus.FAILED.value: "failed",
        PaymentStatus.REFUNDED.value: "refunded",
    }
    return ReturnStatus(phases.get(payment.status, "waiting"), credits=payment.credits, balance=balance)
