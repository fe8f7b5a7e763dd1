"""Helpers for the payment tests: Dodo-shaped events, signed deliveries, quick look-ups."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from typing import Any

import httpx
from sqlmodel import col, select

from fluentio.billing import ledger
from fluentio.billing.packs import find_pack
from fluentio.models.billing import LedgerEntry, Payment, WebhookEvent
from fluentio.payments.checkout import product_id_for
from fluentio.simulator.dodo import signed_headers, webhook_event
from tests.support.databases import session_on
from tests.support.factories import make_user

WEBHOOK_KEY = "whsec_" + base64.b64encode(b"fluentio-integration-webhook-key!").decode()


def new_payment_id() -> str:
    return "pay_test_" + secrets.token_hex(8)


def payment_data(
    *,
    payment_id: str,
    user_id: uuid.UUID | str | None,
    pack_id: str = "starter",
    total_amount: int | None = None,
    currency: str | None = None,
    product_id: str | None = None,
    status: str = "succeeded",
) -> dict[str, Any]:
    pack = find_pack(pack_id)
    assert pack is not None
    metadata = {"pack_id": pack_id}
    if user_id is not None:
        metadata["user_id"] = str(user_id)
    return {
        "payload_type": "Payment",
        "payment_id": payment_id,
        "business_id": "bus_test",
        "status": status,
        "total_amount": pack.price_cents if total_amount is None else total_amount,
        "currency": currency or pack.currency,
        "tax": 0,
        "created_at": "2026-01-01T00:00:00Z",
        "customer": {"customer_id": "cus_test", "email": "buyer@example.test", "name": "Buyer"},
        "metadata": metadata,
        "product_cart": [{"product_id": product_id or product_id_for(pack), "quantity": 1}],
        "checkout_session_id": "cks_test_" + payment_id[-8:],
        "invoice_url": None,
    }


def refund_data(
    *, payment_id: str, refund_id: str, amount: int | None, partial: bool = False
) -> dict[str, Any]:
    return {
        "payload_type": "Refund",
        "refund_id": refund_id,
        "payment_id": payment_id,
        "business_id": "bus_test",
        "amount": amount,
        "currency": "USD",
        "is_partial": partial,
        "status": "succeeded",
        "created_at": "2026-01-01T00:00:00Z",
        "metadata": {},
        "customer": {"customer_id": "cus_test", "email": "buyer@example.test", "name": "Buyer"},
    }


async def deliver(
    client: httpx.AsyncClient,
    event_type: str,
    data: dict[str, Any],
    *,
    msg_id: str | None = None,
    key: str = WEBHOOK_KEY,
) -> httpx.Response:
    body = json.dumps(webhook_event(event_type, data))
    headers = signed_headers(body, key=key, msg_id=msg_id)
    return await client.post("/api/webhooks/dodo", content=body, headers=headers)


def make_committed_user(url: str, **kwargs: Any) -> uuid.UUID:
    with session_on(url) as session:
        user = make_user(session, **kwargs)
        session.commit()
        return user.id


def balance_of(url: str, user_id: uuid.UUID) -> int:
    with session_on(url) as session:
        return ledger.balance(session=session, user_id=user_id)


def entries_of(url: str, user_id: uuid.UUID) -> list[LedgerEntry]:
    with session_on(url) as session:
        return list(session.exec(select(LedgerEntry).where(col(LedgerEntry.user_id) == user_id)))


def payment_row(url: str, provider_payment_id: str) -> Payment | None:
    with session_on(url) as session:
        return session.exec(
            select(Payment).where(col(Payment.provider_payment_id) == provider_payment_id)
        ).first()


def inbox_row(url: str, event_id: str) -> WebhookEvent | None:
    with session_on(url) as session:
        return session.exec(select(WebhookEvent).where(col(WebhookEvent.event_id) == event_id)).first()
