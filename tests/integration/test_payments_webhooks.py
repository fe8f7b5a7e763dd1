"""The Dodo webhook through the real route: inbox, exactly-once credit, refunds, held payments.

Runs on PostgreSQL and SQLite. The route commits for real, so every test uses fresh ids.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fluentio.api.routes import build_api
from fluentio.auth.service import delete_account
from fluentio.billing.packs import find_pack
from fluentio.db import session_scope
from fluentio.models.billing import MILLICREDITS_PER_CREDIT, LedgerReason, PaymentStatus, WebhookStatus
from fluentio.settings import DEV_SECRET_KEY, get_settings
from fluentio.simulator.dodo import signed_headers, webhook_event
from tests.support.payments import (
    WEBHOOK_KEY,
    balance_of,
    deliver,
    entries_of,
    inbox_row,
    make_committed_user,
    new_payment_id,
    payment_data,
    payment_row,
    refund_data,
)

STARTER = find_pack("starter")
assert STARTER is not None
STARTER_MILLI = STARTER.credits * MILLICREDITS_PER_CREDIT


@pytest.fixture
async def api(use_database: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("DODO_PAYMENTS_WEBHOOK_KEY", WEBHOOK_KEY)
    monkeypatch.delenv("DODO_PAYMENTS_API_KEY", raising=False)
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://fluentio.test") as client:
        yield client


async def test_the_same_payment_succeeded_delivered_ten_times_credits_once(
    api: httpx.AsyncClient, use_database: str
) -> None:
    user_id = make_committed_user(use_database)
    pay_id = new_payment_id()
    data = payment_data(payment_id=pay_id, user_id=user_id)
    answers = [await deliver(api, "payment.succeeded", data, msg_id=f"msg_{pay_id}") for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10
    assert answers[0].json() == {"status": "processed"}
    assert all(a.json() == {"status": "duplicate"} for a in answers[1:])
    assert balance_of(use_database, user_id) == STARTER_MILLI
    purchases = [e for e in entries_of(use_database, user_id) if e.reason == LedgerReason.PURCHASE]
    assert len(purchases) == 1
    row = payment_row(use_database, pay_id)
    assert row is not None and row.status == PaymentStatus.SUCCEEDED and row.user_id == user_id
    assert row.credits == STARTER.credits and row.amount_cents == STARTER.price_cents
    assert purchases[0].payment_id == row.id
    event = inbox_row(use_database, f"msg_{pay_id}")
    assert event is not None and event.status == WebhookStatus.PROCESSED


async def test_ten_concurrent_deliveries_credit_once(api: httpx.AsyncClient, use_database: str) -> None:
    user_id = make_committed_user(use_database)
    pay_id = new_payment_id()
    data = payment_data(payment_id=pay_id, user_id=user_id)
    answers = await asyncio.gather(
        *[deliver(api, "payment.succeeded", data, msg_id=f"msg_{pay_id}") for _ in range(10)]
    )
    assert [a.status_code for a in answers] == [200] * 10
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 9 + ["processed"]
    assert balance_of(use_database, user_id) == STARTER_MILLI


async def test_two_different_events_for_one_payment_credit_once(
    api: httpx.AsyncClient, use_database: str
) -> None:
    user_id = make_committed_user(use_database)
    pay_id = new_payment_id()
    data = payment_data(payment_id=pay_id, user_id=user_id)
    first = await deliver(api, "payment.succeeded", data, msg_id=f"msg_a_{pay_id}")
    second = await deliver(api, "payment.succeeded", data, msg_id=f"msg_b_{pay_id}")
    assert first.status_code == second.status_code == 200
    assert balance_of(use_database, user_id) == STARTER_MILLI
    assert len([e for e in entries_of(use_database, user_id) if e.reason == LedgerReason.PURCHASE]) == 1
    both = [inbox_row(use_database, f"msg_{x}_{pay_id}") for x in ("a", "b")]
    assert all(e is not None and e.status == WebhookStatus.PROCESSED for e in both)


async def test_a_refund_that_arrives_before_the_payment_is_applied_when_it_arrives(
    api: httpx.AsyncClient, use_database: str
) -> None:
    user_id = make_committed_user(use_database)
    pay_id = new_payment_id()
    refund = refund_data(payment_id=pay_id, refund_id=f"ref_{pay_id}", amount=STARTER.price_cents)
    early = await deliver(api, "refund.succeeded", refund)
    assert early.status_code == 200
    assert balance_of(use_database, user_id) == 0

    late = await deliver(api, "payment.succeeded", payment_data(payment_id=pay_id, user_id=user_id))
    assert late.status_code == 200
    assert balance_of(use_database, user_id) == 0
    reasons = sorted((e.reason, e.millicredits) for e in entries_of(use_database, user_id))
    assert reasons == [(LedgerReason.PURCHASE, STARTER_MILLI), (LedgerReason.REFUND, -STARTER_MILLI)]
    row = payment_row(use_database, pay_id)
    assert row is not None and row.status == PaymentStatus.REFUNDED
    assert row.refunded_cents == STARTER.price_cents

    # The refund delivered again (another event id) changes nothing.
    await deliver(api, "refund.succeeded", refund)
    assert balance_of(use_database, user_id) == 0
    assert len(entries_of(use_database, user_id)) == 2


async def test_a_partial_refund_after_success_takes_back_its_share(
    api: httpx.AsyncClient, use_database: str
) -> None:
    user_id = make_committed_user(use_database)
    pay_id = new_payment_id()
    await deliver(api, "payment.succeeded", payment_data(payment_id=pay_id, user_id=user_id))
    half = refund_data(
        payment_id=pay_id, refund_id=f"ref_{pay_id}", amount=STARTER.price_cents // 2, partial=True
    )
    assert (await deliver(api, "refund.succeeded", half)).status_code == 200
    assert balance_of(use_database, user_id) == STARTER_MILLI // 2
    row = payment_row(use_database, pay_id)
    assert row is not None and row.status == PaymentStatus.SUCCEEDED
    assert row.refunded_cents == STARTER.price_cents // 2


async def test_a_payment_for_a_deleted_user_is_held_for_the_admin(
    api: httpx.AsyncClient, use_database: str
) -> None:
    user_id = make_committed_user(use_database)
    with session_scope() as session:
        delete_account(session=session, user_id=user_id)
    pay_id = new_payment_id()
    answer = await deliver(api, "payment.succeeded", payment_data(payment_id=pay_id, user_id=user_id))
    assert answer.status_code == 200 and answer.json() == {"status": "held"}
    row = payment_row(use_database, pay_id)
    assert row is not None and row.status == PaymentStatus.HELD
    assert row.user_id is None and "deleted" in row.note
    assert row.amount_cents == STARTER.price_cents and row.customer_email == "buyer@example.test"
    assert balance_of(use_database, user_id) == 0


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"total_amount": 100}, "Amount mismatch"),
        ({"currency": "EUR"}, "Amount mismatch"),
        ({"product_id": "pdt_something_else"}, "Product mismatch"),
    ],
)
async def test_a_payment_that_does_not_match_its_pack_is_held(
    api: httpx.AsyncClient, use_database: str, change: dict[str, object], words: str
) -> None:
    user_id = make_committed_user(use_database)
    pay_id = new_payment_id()
    data = payment_data(payment_id=pay_id, user_id=user_id, **change)  # type: ignore[arg-type]
    answer = await deliver(api, "payment.succeeded", data)
    assert answer.json() == {"status": "held"}
    row = payment_row(use_database, pay_id)
    assert row is not None and row.status == PaymentStatus.HELD and row.user_id == user_id
    assert words in row.note
    assert balance_of(use_database, user_id) == 0


async def test_failed_and_unknown_events_are_recorded(api: httpx.AsyncClient, use_database: str) -> None:
    user_id = make_committed_user(use_database)
    pay_id = new_payment_id()
    failed = payment_data(payment_id=pay_id, user_id=user_id, status="failed")
    assert (await deliver(api, "payment.failed", failed, msg_id=f"msg_f_{pay_id}")).status_code == 200
    row = payment_row(use_database, pay_id)
    assert row is not None and row.status == PaymentStatus.FAILED and row.user_id == user_id
    odd = await deliver(api, "dispute.opened", {"payment_id": pay_id}, msg_id=f"msg_d_{pay_id}")
    assert odd.status_code == 200 and odd.json() == {"status": "ignored"}
    event = inbox_row(use_database, f"msg_d_{pay_id}")
    assert event is not None and event.event_type == "dispute.opened"
    assert balance_of(use_database, user_id) == 0


async def test_unsigned_and_malformed_deliveries_store_nothing(
    api: httpx.AsyncClient, use_database: str
) -> None:
    pay_id = new_payment_id()
    unsigned = await api.post("/api/webhooks/dodo", json={"type": "payment.succeeded", "data": {}})
    assert unsigned.status_code == 401
    bad = await deliver(api, "payment.succeeded", {"payment_id": pay_id}, msg_id=f"msg_{pay_id}")
    assert bad.status_code == 400
    assert inbox_row(use_database, f"msg_{pay_id}") is None


@pytest.fixture
async def default_install(
    use_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh `make run`: no Dodo key, no webhook key, no FLUENTIO_SECRET_KEY."""
    for name in ("DODO_PAYMENTS_API_KEY", "DODO_PAYMENTS_WEBHOOK_KEY", "FLUENTIO_SECRET_KEY", "FLUENTIO_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLUENTIO_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    transport = httpx.ASGITransport(app=build_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://fluentio.test") as client:
        yield client


async def test_a_default_install_refuses_webhooks_signed_with_published_values(
    default_install: httpx.AsyncClient, use_database: str, tmp_path: Path
) -> None:
    user_id = make_committed_user(use_database)
    # What earlier versions signed with: derived from the development secret in the repo.
    digest = hmac.new(DEV_SECRET_KEY.encode(), b"fluentio-local-dodo-webhooks", hashlib.sha256).digest()
    forged_key = "whsec_" + base64.b64encode(digest).decode()
    forged = await deliver(
        default_install,
        "payment.succeeded",
        payment_data(payment_id=new_payment_id(), user_id=user_id),
        key=forged_key,
    )
    assert forged.status_code == 401
    assert balance_of(use_database, user_id) == 0

    # The stand-in's own key is random and kept in this install's data directory only.
    install_key = (tmp_path / "data" / "dodo_webhook_key").read_text().strip()
    assert install_key.startswith("whsec_") and install_key != forged_key
    genuine = await deliver(
        default_install,
        "payment.succeeded",
        payment_data(payment_id=new_payment_id(), user_id=user_id),
        key=install_key,
    )
    assert genuine.status_code == 200 and genuine.json() == {"status": "processed"}
    assert balance_of(use_database, user_id) == STARTER_MILLI


async def test_an_oversized_body_is_refused_before_it_is_read(
    api: httpx.AsyncClient, use_database: str
) -> None:
    user_id = make_committed_user(use_database)
    data = payment_data(payment_id=new_payment_id(), user_id=user_id)
    data["padding"] = "x" * (20 * 1024 * 1024)  # 20 MB, correctly signed
    body = json.dumps(webhook_event("payment.succeeded", data))
    answer = await api.post("/api/webhooks/dodo", content=body, headers=signed_headers(body, key=WEBHOOK_KEY))
    assert answer.status_code == 413
    assert balance_of(use_database, user_id) == 0
    # The same payment at its real size goes through.
    del data["padding"]
    assert (await deliver(api, "payment.succeeded", data)).status_code == 200
    assert balance_of(use_database, user_id) == STARTER_MILLI


@pytest.mark.parametrize("field", ["total_amount", "tax"])
async def test_an_amount_out_of_range_is_a_400(api: httpx.AsyncClient, use_database: str, field: str) -> None:
    user_id = make_committed_user(use_database)
    data = payment_data(payment_id=new_payment_id(), user_id=user_id)
    data[field] = 2**70
    answer = await deliver(api, "payment.succeeded", data)
    assert answer.status_code == 400 and "out of range" in answer.json()["error"]
    assert balance_of(use_database, user_id) == 0
