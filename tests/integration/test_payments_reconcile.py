"""Checkout creation and reconciliation against the local Dodo stand-in, through the real SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from fluentio.billing.packs import find_pack
from fluentio.db import session_scope
from fluentio.models import User
from fluentio.models.billing import MILLICREDITS_PER_CREDIT, LedgerReason, PaymentStatus
from fluentio.payments import client as payments_client_module
from fluentio.payments.checkout import CheckoutError, product_id_for, start_checkout
from fluentio.payments.client import PaymentsClient
from fluentio.payments.reconcile import reconcile
from fluentio.settings import get_settings
from fluentio.simulator.dodo import FakeDodoStore, build_fake_dodo
from tests.support.payments import WEBHOOK_KEY, balance_of, entries_of, make_committed_user, payment_row

STARTER = find_pack("starter")
assert STARTER is not None


@pytest.fixture
def store() -> FakeDodoStore:
    return FakeDodoStore()


@pytest.fixture
async def dodo(
    use_database: str, monkeypatch: pytest.MonkeyPatch, store: FakeDodoStore
) -> AsyncIterator[Callable[[], PaymentsClient]]:
    """Clients whose requests reach the stand-in in-process (no webhooks: they are 'missed')."""
    monkeypatch.setenv("DODO_PAYMENTS_WEBHOOK_KEY", WEBHOOK_KEY)
    monkeypatch.delenv("DODO_PAYMENTS_API_KEY", raising=False)
    get_settings.cache_clear()
    app = Starlette(routes=[Mount("/sim/dodo", app=build_fake_dodo(store, send_webhooks=False))])

    def make() -> PaymentsClient:
        transport = httpx.ASGITransport(app=app)
        return PaymentsClient(http_client=httpx.AsyncClient(transport=transport))

    monkeypatch.setattr(payments_client_module, "payments_client", make)
    yield make


def paid(store: FakeDodoStore, user_id: object, pack_id: str = "starter") -> str:
    pack = find_pack(pack_id)
    assert pack is not None
    payment = store.add_payment(
        product_id=product_id_for(pack),
        total_amount=pack.price_cents,
        currency=pack.currency,
        email="buyer@example.test",
        metadata={"user_id": str(user_id), "pack_id": pack_id},
    )
    return str(payment["payment_id"])


async def test_checkout_sends_the_user_and_pack_to_dodo(
    dodo: Callable[[], PaymentsClient], store: FakeDodoStore, use_database: str
) -> None:
    user_id = make_committed_user(use_database, display_name="Ana")
    with session_scope() as session:
        user = session.get(User, user_id)
    assert user is not None
    url = await start_checkout(user=user, pack_id="starter")
    assert url.startswith(f"{get_settings().public_url}/sim/dodo/checkout/cks_local_")
    (checkout,) = store.checkouts.values()
    assert checkout["metadata"] == {"user_id": str(user_id), "pack_id": "starter"}
    assert checkout["product_id"] == product_id_for(STARTER)
    assert checkout["customer"] == {"email": user.email, "name": "Ana"}
    assert checkout["return_url"].endswith("/checkout/return?pack=starter")
    # Nothing is granted by starting (or returning from) a checkout.
    assert balance_of(use_database, user_id) == 0


async def test_checkout_refuses_an_unknown_pack(
    dodo: Callable[[], PaymentsClient], use_database: str
) -> None:
    user_id = make_committed_user(use_database)
    with session_scope() as session:
        user = session.get(User, user_id)
    assert user is not None
    with pytest.raises(CheckoutError, match="no longer on sale"):
        await start_checkout(user=user, pack_id="nope")


async def test_reconcile_credits_missed_payments_once(
    dodo: Callable[[], PaymentsClient], store: FakeDodoStore, use_database: str
) -> None:
    first, second = make_committed_user(use_database), make_committed_user(use_database)
    missed = [paid(store, first), paid(store, second, "regular")]
    regular = find_pack("regular")
    assert regular is not None

    report = await reconcile(days=3)
    assert sorted(report.credited) == sorted(missed) and report.checked == 2
    assert balance_of(use_database, first) == STARTER.credits * MILLICREDITS_PER_CREDIT
    assert balance_of(use_database, second) == regular.credits * MILLICREDITS_PER_CREDIT
    row = payment_row(use_database, missed[0])
    assert row is not None and row.status == PaymentStatus.SUCCEEDED and row.invoice_url

    again = await reconcile(days=3)
    assert again.credited == [] and again.already_credited == 2
    assert len([e for e in entries_of(use_database, first) if e.reason == LedgerReason.PURCHASE]) == 1
    assert balance_of(use_database, first) == STARTER.credits * MILLICREDITS_PER_CREDIT


async def test_reconcile_holds_a_payment_for_a_missing_account(
    dodo: Callable[[], PaymentsClient], store: FakeDodoStore, use_database: str
) -> None:
    orphan = paid(store, "00000000-0000-4000-8000-000000000000")
    report = await reconcile(days=3)
    assert report.held == [orphan]
    row = payment_row(use_database, orphan)
    assert row is not None and row.status == PaymentStatus.HELD and row.user_id is None


async def test_the_invoice_comes_from_the_api(
    dodo: Callable[[], PaymentsClient], store: FakeDodoStore
) -> None:
    payment_id = paid(store, "00000000-0000-4000-8000-000000000000")
    async with payments_client_module.payments_client() as client:
        pdf = await client.invoice_pdf(payment_id)
    assert pdf.startswith(b"%PDF-") and b"TEST INVOICE" in pdf


async def test_the_stand_in_answers_only_its_own_app(
    dodo: Callable[[], PaymentsClient], store: FakeDodoStore
) -> None:
    payment_id = paid(store, "00000000-0000-4000-8000-000000000000")
    app = Starlette(routes=[Mount("/sim/dodo", app=build_fake_dodo(store, send_webhooks=False))])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fluentio.test"
    ) as http:
        for path in ("/sim/dodo/payments", f"/sim/dodo/invoices/payments/{payment_id}"):
            # The fixed key earlier versions published lists nobody's payments any more.
            refused = await http.get(path, headers={"Authorization": "Bearer dodo-fluentio-local-simulator"})
            assert refused.status_code == 401
            own = await http.get(
                path, headers={"Authorization": f"Bearer {payments_client_module.api_key()}"}
            )
            assert own.status_code == 200
