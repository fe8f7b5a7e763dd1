"""Credits and money: the append-only ledger, cached balances, payments, webhook inbox.

Amounts are integers in millicredits (1 credit = 1000 millicredits = one minute of
conversation by default), so per-second metering stays exact in integer arithmetic.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from fluentio.models.base import default_now, empty_dict, long_text, string, utc_timestamp, uuid_pk

MILLICREDITS_PER_CREDIT = 1000


class LedgerReason(StrEnum):
    SIGNUP_BONUS = "signup_bonus"
    PURCHASE = "purchase"
    SESSION_USAGE = "session_usage"
    ADMIN_GRANT = "admin_grant"
    ADMIN_DEDUCT = "admin_deduct"
    REFUND = "refund"


class Actor(StrEnum):
    SYSTEM = "system"
    LEARNER = "learner"
    ADMIN = "admin"
    PAYMENT_PROVIDER = "payment_provider"


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    HELD = "held"


class WebhookStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"
    HELD = "held"


class CreditBalance(SQLModel, table=True):
    """The running sum of a user's ledger, kept in the same transaction as each entry.

    Spending locks this row (`SELECT … FOR UPDATE`), which serialises concurrent spends.
    """

    __tablename__ = "credit_balances"
    __table_args__ = (sa.CheckConstraint("millicredits >= 0", name="ck_credit_balances_nonnegative"),)

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="RESTRICT", primary_key=True)
    millicredits: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = default_now()


class LedgerEntry(SQLModel, table=True):
    """One append-only movement of credits. Never updated, never deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (sa.CheckConstraint("millicredits <> 0", name="ck_ledger_entries_nonzero"),)

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="RESTRICT", index=True)
    millicredits: int = Field(sa_type=sa.BigInteger)
    reason: str = string(32)
    note: str = string(500, default="")
    actor: str = string(24)
    actor_user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="RESTRICT", nullable=True
    )
    idempotency_key: str = string(200, unique=True)
    practice_session_id: uuid.UUID | None = Field(
        default=None, foreign_key="practice_sessions.id", ondelete="RESTRICT", nullable=True
    )
    payment_id: uuid.UUID | None = Field(
        default=None, foreign_key="payments.id", ondelete="RESTRICT", nullable=True
    )
    created_at: datetime = default_now()


class Payment(SQLModel, table=True):
    """A purchase of a credit pack through the payment provider.

    `user_id` is empty when the payment could not be matched to a live account: such
    payments are held for the admin instead of being lost.
    """

    __tablename__ = "payments"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="RESTRICT", nullable=True, index=True
    )
    provider: str = string(16, default="dodo")
    provider_payment_id: str = string(100, unique=True)
    checkout_session_id: str | None = string(100, default=None, nullable=True)
    pack_id: str = string(50, default="")
    credits: int = Field(default=0)
    amount_cents: int = Field(default=0)
    currency: str = string(3, default="USD")
    status: str = string(16, default=PaymentStatus.PENDING.value)
    invoice_url: str | None = string(1000, default=None, nullable=True)
    product_id: str = string(100, default="")
    customer_email: str = string(320, default="")
    # Why a payment is held for the admin (no matching account, amount mismatch, …).
    note: str = string(500, default="")
    refunded_cents: int = Field(default=0)
    created_at: datetime = default_now()
    updated_at: datetime = default_now()


class WebhookEvent(SQLModel, table=True):
    """The inbox: every verified webhook is stored first, then processed once."""

    __tablename__ = "webhook_events"
    __table_args__ = (sa.UniqueConstraint("provider", "event_id", name="uq_webhook_provider_event"),)

    id: uuid.UUID = uuid_pk()
    provider: str = string(16)
    event_id: str = string(200)
    event_type: str = string(100)
    payload: dict[str, Any] = Field(default_factory=empty_dict, sa_type=sa.JSON, nullable=False)
    status: str = string(16, default=WebhookStatus.RECEIVED.value)
    error: str | None = long_text(default=None, nullable=True)
    received_at: datetime = default_now()
    processed_at: datetime | None = utc_timestamp()
