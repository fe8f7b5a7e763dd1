"""Catch up with payments whose webhooks never arrived: `make reconcile`, and with a real
Dodo account every hour on one job worker (`reconcile_recent`, scheduled by
fluentio/jobs/runner.py).

Lists the succeeded payments of the last few days from Dodo's API and credits every one
that is not credited yet, through the same code as the webhook. The purchase grant is
keyed by the provider payment id, so running it again (or a late webhook) changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import col, select

from fluentio.db import session_scope
from fluentio.jobs.app import EngineRetry, RetryPolicy, jobs_app
from fluentio.models.base import utcnow
from fluentio.models.billing import Payment, PaymentStatus
from fluentio.payments import client, fulfilment

logger = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    checked: int = 0
    already_credited: int = 0
    credited: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"Checked {self.checked} succeeded payment(s): {self.already_credited} already credited, "
            f"{len(self.credited)} credited now, {len(self.held)} held for the admin."
        )
        if self.credited:
            text += "\nCredited: " + ", ".join(self.credited)
        if self.held:
            text += "\nHeld (see /admin): " + ", ".join(self.held)
        return text


def _credited(provider_payment_id: str) -> bool:
    with session_scope() as session:
        status = session.exec(
            select(Payment.status).where(col(Payment.provider_payment_id) == provider_payment_id)
        ).first()
    return status in fulfilment.CREDITED


async def reconcile(*, days: int = 3, dodo: client.PaymentsClient | None = None) -> ReconcileReport:
    """Credit the succeeded payments of the last `days` days that webhooks missed."""
    report = ReconcileReport()
    owned = dodo is None
    dodo = dodo or client.payments_client()
    try:
        for payment_id in await dodo.list_payments(since=utcnow() - timedelta(days=days)):
            report.checked += 1
            if _credited(payment_id):
                report.already_credited += 1
                continue
            payment = await dodo.retrieve_payment(payment_id)
            if payment.status != "succeeded":
                continue
            with session_scope() as session:
                status, note = fulfilment.apply_succeeded(session, payment)
            if status == PaymentStatus.HELD.value:
                report.held.append(payment_id)
                logger.warning("reconcile: payment %s held: %s", payment_id, note)
            else:
                report.credited.append(payment_id)
                logger.info("reconcile: payment %s credited", payment_id)
    finally:
        if owned:
            await dodo.close()
    return report


@jobs_app.task(
    name="payments.reconcile",
    queueing_lock="payments.reconcile",
    retry=EngineRetry(RetryPolicy(max_attempts=3, base_delay=60.0)),
)
async def reconcile_recent(timestamp: int | None = None, days: int = 3) -> str:
    """The periodic reconcile: the same as `make reconcile`, on a job worker."""
    report = await reconcile(days=days)
    logger.info("reconcile: %s", report.summary().replace("\n", " "))
    return report.summary()
