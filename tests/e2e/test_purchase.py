"""Buying credits end to end in Chromium against the local Dodo stand-in:
0 credits → /pricing → Buy → test checkout → Pay → the webhook credits → /account shows the
balance and the invoice → the classroom opens with the new balance."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from fluentio.models.billing import LedgerEntry, LedgerReason, Payment, PaymentStatus
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.sessions import add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e


def test_a_learner_with_no_credits_buys_a_pack(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server, credits=0, display_name="Paula Payer")
    add_session_cookie(page.context, app_server, who)

    page.goto(app_server.url("/pricing"))
    # Each Buy button is a form posting its pack; the server starts the checkout.
    buy = page.locator('button[data-pack="starter"]')
    expect(buy).to_have_text("Buy Starter")
    buy.click()

    expect(page).to_have_url(re.compile(r"/sim/dodo/checkout/cks_local_\w+$"))
    expect(page.get_by_role("heading", name="Test checkout — no real payment")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("no real payment")
    expect(page.get_by_text(who.email)).to_be_visible()
    page.get_by_role("button", name="Pay $5.00").click()

    expect(page).to_have_url(re.compile(r"/checkout/return\?pack=starter&payment_id=pay_local_\w+&"))
    expect(page.get_by_role("heading", name="Payment received — thank you!")).to_be_visible(timeout=30_000)
    expect(page.locator("#checkout-balance")).to_have_text("60 credits")

    page.get_by_role("link", name="See your account and invoice").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("#credit-balance")).to_have_text("60 credits")
    expect(page.get_by_text("Credit pack purchase: +60 credits (Starter pack)")).to_be_visible()
    payments = page.get_by_role("table", name="Payments")
    row = payments.get_by_role("row").filter(has_text="Starter")
    expect(row).to_contain_text("$5.00")
    expect(row).to_contain_text("Paid")
    invoice = row.get_by_role("link", name="Invoice")
    href = invoice.get_attribute("href")
    assert href and href.startswith("/api/invoices/")
    pdf = page.request.get(app_server.url(href))
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-") and b"TEST INVOICE" in pdf.body()

    page.goto(app_server.url("/classroom"))
    expect(page.get_by_text("Balance: 60 credits")).to_be_visible()
    expect(page.get_by_role("button", name="Start session")).to_be_visible()

    with session_on(app_server.database_url) as session:
        payment = session.exec(select(Payment).where(col(Payment.user_id) == who.user_id)).one()
        assert payment.status == PaymentStatus.SUCCEEDED and payment.pack_id == "starter"
        purchases = session.exec(
            select(LedgerEntry).where(
                col(LedgerEntry.user_id) == who.user_id, col(LedgerEntry.reason) == LedgerReason.PURCHASE
            )
        ).all()
        assert len(purchases) == 1 and purchases[0].millicredits == 60_000


def test_the_return_page_never_grants_credits(app_server: RunningApp, page: Page) -> None:
    """A forged return URL claiming success shows "processing" and changes nothing."""
    who = signed_in_user(app_server, credits=0)
    add_session_cookie(page.context, app_server, who)
    page.goto(app_server.url("/checkout/return?pack=starter&payment_id=pay_forged&status=succeeded"))
    expect(page.get_by_role("heading", name="Payment processing")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Waiting for the payment provider")
    page.goto(app_server.url("/account"))
    expect(page.locator("#credit-balance")).to_have_text("0 credits")


def test_someone_elses_invoice_is_refused(app_server: RunningApp, page: Page, browser: Browser) -> None:
    owner = signed_in_user(app_server, credits=0)
    other = signed_in_user(app_server, credits=0)
    with session_on(app_server.database_url) as session:
        payment = Payment(
            user_id=owner.user_id,
            provider_payment_id=f"pay_other_{owner.user_id.hex[:10]}",
            status=PaymentStatus.SUCCEEDED.value,
            pack_id="starter",
            credits=60,
            amount_cents=500,
        )
        session.add(payment)
        session.commit()
        payment_id = payment.id
    add_session_cookie(page.context, app_server, other)
    assert page.request.get(app_server.url(f"/api/invoices/{payment_id}")).status == 404
    anonymous = browser.new_context()
    try:
        assert anonymous.request.get(app_server.url(f"/api/invoices/{payment_id}")).status == 401
    finally:
        anonymous.close()


def test_cancelling_the_test_checkout_charges_nothing(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server, credits=0)
    add_session_cookie(page.context, app_server, who)
    page.goto(app_server.url("/account"))
    expect(page.locator("#credit-balance")).to_have_text("0 credits")
    page.locator('button[data-pack="regular"]').click()
    expect(page).to_have_url(re.compile(r"/sim/dodo/checkout/"))
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Checkout cancelled")).to_be_visible()
    page.goto(app_server.url("/account"))
    expect(page.locator("#credit-balance")).to_have_text("0 credits")
