"""Dodo's webhooks: verify the signature, store the event in the inbox, process it once.

1. Verify the Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
   `webhook-signature`) on the raw body with the `standardwebhooks` library and
   DODO_PAYMENTS_WEBHOOK_KEY, refusing timestamps more than five minutes off.
2. Parse the body; store it in `webhook_events` under its unique `webhook-id`
   (INSERT … ON CONFLICT DO NOTHING), committed on its own so nothing verified is lost.
3. Process it in a second transaction that first locks the inbox row, so concurrent
   deliveries of one event queue up and all but the first see it already handled.

Answers: 401 bad or missing signature, 400 malformed body (including amounts out of
range), 413 a body over MAX_BODY_BYTES (refused before it is read or verified), 200
processed or duplicate, 500 when processing failed (the event stays in the inbox as
`failed`; Dodo retries).
"""

from __future__ import annotations

import binascii
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fluentio.db import insert_unless_exists, session_scope
from fluentio.models.base import utcnow
from fluentio.models.billing import PaymentStatus, WebhookEvent, WebhookStatus
from fluentio.payments import fulfilment
from fluentio.payments.client import parse_payment
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

TOLERANCE_SECONDS = 5 * 60
# Dodo's events are a few kilobytes; a bigger body is not read, let alone verified.
MAX_BODY_BYTES = 64 * 1024
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
HANDLED = {WebhookStatus.PROCESSED.value, WebhookStatus.IGNORED.value, WebhookStatus.HELD.value}
PAYMENT_EVENTS = {"payment.succeeded", "payment.failed", "payment.cancelled", "payment.processing"}


class SignatureError(Exception):
    """The delivery is not signed with our key (or the signature is stale or malformed)."""


class MalformedEventError(Exception):
    """A correctly signed body that is not an event Fluentio can read."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, str]


def signing_key() -> str | None:
    """DODO_PAYMENTS_WEBHOOK_KEY; with the local stand-in, its random per-install key."""
    settings = get_settings()
    if settings.dodo_webhook_key is not None:
        return settings.dodo_webhook_key.get_secret_value()
    if settings.dodo_simulated:
        return settings.local_dodo_webhook_key
    return None


def verify_signature(body: bytes, headers: Mapping[str, str], key: str) -> str:
    """Check a delivery's signature; returns its webhook-id. Raises SignatureError."""
    lowered = {k.lower(): v for k, v in headers.items()}
    missing = [name for name in HEADERS if not lowered.get(name)]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    try:
        timestamp = int(lowered["webhook-timestamp"])
    except ValueError as exc:
        raise SignatureError("webhook-timestamp is not a Unix time") from exc
    # The library has its own five-minute window; this keeps ours even if its default moves.
    if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
        raise SignatureError("webhook-timestamp is more than five minutes from now")
    try:
        Webhook(key).verify(body, {name: lowered[name] for name in HEADERS}, json_parse=False)
    except WebhookVerificationError as exc:
        raise SignatureError(str(exc)) from exc
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SignatureError("malformed webhook-signature header or body encoding") from exc
    return lowered["webhook-id"]


def parse_event(body: bytes) -> dict[str, Any]:
    """The event as a dict with a string `type` and an object `data`; MalformedEventError if not."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEventError("the body is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or not event["type"]:
        raise MalformedEventError("the body has no event type")
    if not isinstance(event.get("data"), dict):
        raise MalformedEventError("the body has no data object")
    data = event["data"]
    try:
        if event["type"] in PAYMENT_EVENTS:
            parse_payment(data)
    except ValueError as exc:
        raise MalformedEventError(str(exc)) from exc
    if event["type"].startswith("refund.") and not (
        isinstance(data.get("payment_id"), str) and isinstance(data.get("refund_id"), str)
    ):
        raise MalformedEventError("the refund has no payment_id or refund_id")
    return event


def handle_delivery(body: bytes, headers: Mapping[str, str]) -> Answer:
    """Everything the webhook route does, as plain (blocking) Python."""
    key = signing_key()
    if key is None:
        logger.error("a Dodo webhook arrived but DODO_PAYMENTS_WEBHOOK_KEY is not set; refusing it")
        return Answer(503, {"error": "webhook key not configured"})
    try:
        event_id = verify_signature(body, headers, key)
    except SignatureError as exc:
        logger.warning("Dodo webhook refused: %s", exc)
        return Answer(401, {"error": "invalid signature"})
    try:
        event = parse_event(body)
    except MalformedEventError as exc:
        logger.warning("Dodo webhook %s malformed: %s", event_id[:200], exc)
        return Answer(400, {"error": f"malformed event: {exc}"})
    if len(event_id) > 200:
        return Answer(400, {"error": "webhook-id is too long"})
    with session_scope() as session:
        store(session, event_id=event_id, event=event)
    return process(event_id)


def store(session: Session, *, event_id: str, event: dict[str, Any]) -> bool:
    """Put a verified event in the inbox; False if it was already there."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "provider": fulfilment.PROVIDER,
        "event_id": event_id,
        "event_type": str(event["type"])[:100],
        "payload": event,
        "status": WebhookStatus.RECEIVED.value,
        "received_at": utcnow(),
    }
    return insert_unless_exists(session, WebhookEvent, values, index_elements=["provider", "event_id"])


def process(event_id: str) -> Answer:
    """Process a stored event unless it was handled already."""
    try:
        with session_scope() as session:
            event = _lock_event(session, event_id)
            if event.status in HANDLED:
                return Answer(200, {"status": "duplicate"})
            status, note = dispatch(session, event)
            event.status = status
            event.error = note or None
            event.processed_at = utcnow()
            session.add(event)
    except Exception as exc:
        logger.exception("Dodo webhook %s failed while processing", event_id)
        with session_scope() as session:
            event = _lock_event(session, event_id)
            event.status = WebhookStatus.FAILED.value
            event.error = f"{type(exc).__name__}: {exc}"[:2000]
            session.add(event)
        return Answer(500, {"error": "processing failed; it will be retried"})
    return Answer(200, {"status": status})


def _lock_event(session: Session, event_id: str) -> WebhookEvent:
    # An UPDATE first: on PostgreSQL it takes the row lock, on SQLite the writer lock,
    # so concurrent deliveries of this event wait here for the first one to finish.
    session.execute(
        sa.update(WebhookEvent)
        .where(col(WebhookEvent.provider) == fulfilment.PROVIDER, col(WebhookEvent.event_id) == event_id)
        .values(status=col(WebhookEvent.status))
    )
    return session.exec(
        select(WebhookEvent)
        .where(col(WebhookEvent.provider) == fulfilment.PROVIDER, col(WebhookEvent.event_id) == event_id)
        .execution_options(populate_existing=True)
    ).one()


def dispatch(session: Session, event: WebhookEvent) -> tuple[str, str]:
    """Apply one event. Returns the inbox status and a note for the record."""
    data = event.payload.get("data") or {}
    kind = event.event_type
    if kind == "payment.succeeded":
        payment_status, note = fulfilment.apply_succeeded(session, parse_payment(data))
        held = payment_status == PaymentStatus.HELD.value
        return (WebhookStatus.HELD.value if held else WebhookStatus.PROCESSED.value), note
    if kind in ("payment.failed", "payment.cancelled"):
        reason = str(data.get("error_message") or kind.split(".")[1])
        fulfilment.apply_failed(session, parse_payment(data), note=reason)
        return WebhookStatus.PROCESSED.value, reason
    if kind == "payment.processing":
        fulfilment.apply_pending(session, parse_payment(data))
        return WebhookStatus.PROCESSED.value, ""
    if kind == fulfilment.REFUND_EVENT:
        _, note = fulfilment.apply_refund(session, str(data["payment_id"]))
        return WebhookStatus.PROCESSED.value, note
    return WebhookStatus.IGNORED.value, f"Fluentio does not act on {kind} events."
