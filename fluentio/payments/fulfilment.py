"""Turning Dodo payments into credits, exactly once, and refunds into deductions.

Webhooks, the reconcile command and the admin's "release a held payment" all come here.
Each payment has one `Payment` row (unique provider payment id) that is created with
INSERT … ON CONFLICT DO NOTHING and then locked, so every event about one payment is
applied one at a time. The purchase grant's idempotency key is the provider payment id,
so however many events (or reconcile runs) report the same payment, it is credited once.

A payment is *held* for the admin, never dropped, when it can't be matched to a live
account or doesn't match its pack (product, currency or amount).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from fluentio.billing import ledger
from fluentio.billing.packs import CreditPack, find_pack
from fluentio.db import insert_unless_exists
from fluentio.models import User
from fluentio.models.base import utcnow
from fluentio.models.billing import (
    MILLICREDITS_PER_CREDIT,
    Actor,
    LedgerReason,
    Payment,
    PaymentStatus,
    WebhookEvent,
)
from fluentio.payments.checkout import pack_for_product, product_id_for
from fluentio.payments.client import ProviderPayment

logger = logging.getLogger(__name__)

PROVIDER = "dodo"
REFUND_EVENT = "refund.succeeded"
CREDITED = {PaymentStatus.SUCCEEDED.value, PaymentStatus.REFUNDED.value}


def purchase_key(provider_payment_id: str) -> str:
    return f"dodo-payment:{provider_payment_id}"


def refund_key(refund_id: str) -> str:
    return f"dodo-refund:{refund_id}"


def locked_payment(session: Session, provider_payment_id: str) -> Payment:
    """The payment's row, created if new, locked until the transaction ends."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "provider": PROVIDER,
        "provider_payment_id": provider_payment_id,
        "pack_id": "",
        "credits": 0,
        "amount_cents": 0,
        "currency": "USD",
        "status": PaymentStatus.PENDING.value,
        "product_id": "",
        "customer_email": "",
        "note": "",
        "refunded_cents": 0,
        "created_at": now,
        "updated_at": now,
    }
    insert_unless_exists(session, Payment, values, index_elements=["provider_payment_id"])
    payment = session.exec(
        select(Payment)
        .where(col(Payment.provider_payment_id) == provider_payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return payment


def live_user(session: Session, raw_user_id: str | None) -> tuple[User | None, str]:
    """The live account named in a payment's metadata, or None and why not."""
    if not raw_user_id:
        return None, "The payment carries no Fluentio user id, so it can't be matched to an account."
    try:
        user_id = uuid.UUID(raw_user_id)
    except ValueError:
        return None, f"The payment names an invalid user id ({raw_user_id[:60]})."
    user = session.get(User, user_id)
    if user is None:
        return None, f"No Fluentio account has the id {user_id}."
    if user.deleted_at is not None:
        return None, f"The account {user_id} was deleted before the payment arrived."
    return user, ""


def check_against_pack(payment: ProviderPayment) -> tuple[CreditPack | None, str]:
    """The pack this payment buys, or None and what doesn't match."""
    pack_id = payment.metadata.get("pack_id", "")
    pack = find_pack(pack_id) if pack_id else None
    if pack is None and len(payment.product_cart) == 1:
        pack = pack_for_product(payment.product_cart[0][0])
    if pack is None:
        return None, f"The payment is for no known credit pack (pack {pack_id or '—'})."
    expected = product_id_for(pack)
    if payment.product_cart and payment.product_cart != [(expected, 1)]:
        bought = ", ".join(f"{q} × {p}" for p, q in payment.product_cart)
        return (
            pack,
            f"Product mismatch: the payment bought {bought}, but the {pack.name} pack is 1 × {expected}.",
        )
    if payment.currency != pack.currency.upper() or payment.total_amount < pack.price_cents:
        return pack, (
            f"Amount mismatch: paid {payment.total_amount / 100:.2f} {payment.currency}, but the "
            f"{pack.name} pack costs {pack.price_cents / 100:.2f} {pack.currency}."
        )
    return pack, ""


def _record_details(session: Session, row: Payment, payment: ProviderPayment) -> None:
    row.amount_cents = payment.total_amount
    row.currency = (payment.currency or row.currency)[:3]
    row.customer_email = payment.customer_email[:320]
    row.checkout_session_id = payment.checkout_session_id or row.checkout_session_id
    row.invoice_url = payment.invoice_url or row.invoice_url
    if payment.product_cart:
        row.product_id = payment.product_cart[0][0][:100]
    row.pack_id = (payment.metadata.get("pack_id") or row.pack_id)[:50]
    if row.user_id is None:
        user, _ = live_user(session, payment.metadata.get("user_id"))
        row.user_id = user.id if user else None
    row.updated_at = utcnow()


def apply_succeeded(session: Session, payment: ProviderPayment) -> tuple[str, str]:
    """Credit a succeeded payment once. Returns (payment status, a note for the record)."""
    row = locked_payment(session, payment.payment_id)
    if row.status in CREDITED:
        return row.status, "Already credited."
    _record_details(session, row, payment)
    user, user_problem = live_user(session, payment.metadata.get("user_id"))
    pack, pack_problem = check_against_pack(payment)
    problem = user_problem or pack_problem
    if problem or user is None or pack is None:
        row.status = PaymentStatus.HELD.value
        row.user_id = user.id if user else None
        row.note = problem[:500]
        session.add(row)
        logger.warning("payment %s held for the admin: %s", payment.payment_id, problem)
        return row.status, problem
    credit(session, row, user=user, pack=pack)
    return row.status, f"Granted {pack.credits} credits to {user.id}."


def credit(
    session: Session,
    row: Payment,
    *,
    user: User,
    pack: CreditPack,
    actor: Actor = Actor.PAYMENT_PROVIDER,
    actor_user_id: uuid.UUID | None = None,
    note: str = "",
) -> None:
    """Grant the pack's credits for a locked payment row, then apply any refunds already seen."""
    ledger.grant(
        session=session,
        user_id=user.id,
        millicredits=pack.credits * MILLICREDITS_PER_CREDIT,
        reason=LedgerReason.PURCHASE,
        idempotency_key=purchase_key(row.provider_payment_id),
        actor=actor,
        actor_user_id=actor_user_id,
        note=note or f"{pack.name} pack",
        payment_id=row.id,
    )
    row.user_id = user.id
    row.pack_id = pack.id
    row.credits = pack.credits
    row.status = PaymentStatus.SUCCEEDED.value
    row.note = ""
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    apply_refunds(session, row)
    logger.info("payment %s credited: %s credits to user %s", row.provider_payment_id, pack.credits, user.id)


def apply_failed(session: Session, payment: ProviderPayment, *, note: str = "") -> tuple[str, str]:
    row = locked_payment(session, payment.payment_id)
    _record_details(session, row, payment)
    if row.status == PaymentStatus.PENDING.value:
        row.status = PaymentStatus.FAILED.value
        row.note = note[:500]
    session.add(row)
    return row.status, note or "Payment failed."


def apply_pending(session: Session, payment: ProviderPayment) -> tuple[str, str]:
    row = locked_payment(session, payment.payment_id)
    _record_details(session, row, payment)
    session.add(row)
    return row.status, "Payment in progress."


def apply_refund(session: Session, provider_payment_id: str) -> tuple[str, str]:
    """A refund succeeded. Deduct now if the payment was credited; otherwise the refund
    waits in the inbox and is applied when (if ever) the payment is credited."""
    row = locked_payment(session, provider_payment_id)
    if row.status not in CREDITED:
        row.refunded_cents = sum(_refund_amounts(session, row).values())
        if not row.note and row.status == PaymentStatus.PENDING.value:
            row.note = "A refund arrived before the payment was confirmed."
        session.add(row)
        return row.status, "Refund recorded; it will be applied if the payment is credited."
    apply_refunds(session, row)
    return row.status, "Refund applied."


def apply_refunds(session: Session, row: Payment) -> None:
    """Deduct each refund of a credited payment once (keyed by refund id), in proportion."""
    refunds = _refund_amounts(session, row)
    if not refunds or row.user_id is None or row.status not in CREDITED:
        row.refunded_cents = sum(refunds.values())
        return
    granted = row.credits * MILLICREDITS_PER_CREDIT
    for refund_id, cents in refunds.items():
        share = granted if row.amount_cents <= 0 else min(granted, round(granted * cents / row.amount_cents))
        if share > 0:
            ledger.deduct(
                session=session,
                user_id=row.user_id,
                millicredits=share,
                idempotency_key=refund_key(refund_id),
                actor=Actor.PAYMENT_PROVIDER,
                reason=LedgerReason.REFUND,
                note=f"refund {refund_id}",
                payment_id=row.id,
            )
    row.refunded_cents = min(sum(refunds.values()), row.amount_cents) if row.amount_cents else 0
    if row.amount_cents > 0 and row.refunded_cents >= row.amount_cents:
        row.status = PaymentStatus.REFUNDED.value
    row.updated_at = utcnow()
    session.add(row)
    session.flush()


def _refund_amounts(session: Session, row: Payment) -> dict[str, int]:
    """Every verified refund of this payment seen so far: refund id → amount in cents."""
    payment_ref = col(WebhookEvent.payload)[("data", "payment_id")].as_string()
    events = session.exec(
        select(WebhookEvent).where(
            col(WebhookEvent.provider) == PROVIDER,
            col(WebhookEvent.event_type) == REFUND_EVENT,
            payment_ref == row.provider_payment_id,
        )
    ).all()
    amounts: dict[str, int] = {}
    for event in events:
        data = event.payload.get("data")
        if not isinstance(data, Mapping) or not isinstance(data.get("refund_id"), str):
            continue
        amount = data.get("amount")
        full = not data.get("is_partial")
        if isinstance(amount, int) and not isinstance(amount, bool):
            amounts[data["refund_id"]] = amount
        elif full:
            amounts[data["refund_id"]] = row.amount_cents
    return amounts
