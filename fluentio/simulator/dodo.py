"""A local stand-in for Dodo Payments, so `make run` and the tests can buy credits with no account.

Mounted at /sim/dodo (only when DODO_PAYMENTS_API_KEY is unset). It answers the API
paths the dodopayments SDK calls — create/retrieve a checkout session, list/retrieve
payments, download an invoice — with the same bearer-key check, and serves a checkout
page clearly labelled as a test. Its "Pay" button records a paid payment, sends the app a
`payment.succeeded` webhook signed with the standardwebhooks library (after answering:
the app and this stand-in share one event loop), and returns the buyer to `return_url`.

State lives in memory: a restart forgets the stand-in's payments (the app's own
records stay in its database).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fluentio.payments.checkout import pack_for_product
from fluentio.payments.client import api_key
from fluentio.payments.webhooks import signing_key
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

BUSINESS_ID = "bus_local_fluentio"
RETRY_DELAYS = (0.5, 2.0, 5.0)


@dataclass
class FakeDodoStore:
    """What the stand-in remembers: checkout sessions and payments (as API JSON)."""

    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def add_payment(
        self,
        *,
        product_id: str,
        total_amount: int,
        currency: str,
        email: str,
        metadata: dict[str, str],
        checkout_session_id: str | None = None,
        status: str = "succeeded",
    ) -> dict[str, Any]:
        payment_id = "pay_local_" + secrets.token_hex(8)
        now = _now()
        public_url = get_settings().public_url
        payment = {
            "payment_id": payment_id,
            "business_id": BUSINESS_ID,
            "brand_id": "brand_local",
            "status": status,
            "total_amount": total_amount,
            "settlement_amount": total_amount,
            "settlement_currency": currency,
            "currency": currency,
            "tax": 0,
            "created_at": now,
            "updated_at": now,
            "customer": {"customer_id": "cus_local", "email": email, "name": email.split("@")[0]},
            "billing": {"country": "US", "city": "", "state": "", "street": "", "zipcode": ""},
            "metadata": metadata,
            "product_cart": [{"product_id": product_id, "quantity": 1}],
            "checkout_session_id": checkout_session_id,
            "invoice_id": "inv_local_" + payment_id[-8:],
            "invoice_url": f"{public_url}/sim/dodo/invoices/payments/{payment_id}",
            "payment_method": "card",
            "card_last_four": "4242",
            "payment_provider": "dodo",
            "digital_products_delivered": False,
            "disputes": [],
            "refunds": [],
            "includes_usage": False,
            "is_multi_subscription": False,
            "is_update_payment_method": False,
            "retry_attempt": 0,
            "service_periods": [],
            "subscription_ids": [],
        }
        self.payments[payment_id] = payment
        return payment


STORE = FakeDodoStore()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": "LOCAL_SIMULATOR", "message": message}, status_code=status)


def _authorised(request: Request) -> bool:
    return secrets.compare_digest(request.headers.get("authorization", ""), f"Bearer {api_key()}")


def signed_headers(body: str, *, key: str, msg_id: str | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body`, signed with `key` now."""
    msg_id = msg_id or "msg_local_" + secrets.token_hex(10)
    now = datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(key).sign(msg_id, now, body),
        "content-type": "application/json",
    }


def webhook_event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"business_id": BUSINESS_ID, "type": event_type, "timestamp": _now(), "data": data}


async def deliver_webhook(store: FakeDodoStore, event: dict[str, Any]) -> None:
    """POST a signed event to the app, retrying a few times as Dodo does."""
    key = signing_key()
    if key is None:
        logger.error("the local Dodo stand-in has no webhook key; not sending %s", event["type"])
        return
    url = f"{get_settings().public_url}/api/webhooks/dodo"
    body = json.dumps(event)
    msg_id = "msg_local_" + secrets.token_hex(10)
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
        await asyncio.sleep(delay)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.post(
                    url, content=body, headers=signed_headers(body, key=key, msg_id=msg_id)
                )
            store.deliveries.append(
                {"event": event["type"], "status": response.status_code, "attempt": attempt}
            )
            if response.status_code < 300:
                return
            logger.warning("local Dodo webhook %s answered %s", event["type"], response.status_code)
        except httpx.HTTPError as exc:
            logger.warning("local Dodo webhook %s failed: %s", event["type"], exc)
    logger.error("local Dodo gave up delivering %s", event["type"])


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _checkout_page(checkout: dict[str, Any], pack_name: str, price: str) -> str:
    sid = html.escape(checkout["session_id"])
    email = html.escape(checkout["customer"].get("email", ""))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Test checkout — no real payment</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f4f4f5;margin:0;color:#18181b}}
.banner{{background:#b45309;color:#fff;padding:.9rem 1rem;text-align:center;font-weight:700}}
main{{max-width:28rem;margin:2.5rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 1px 4px #0002}}
dl{{display:grid;grid-template-columns:auto 1fr;gap:.5rem 1rem}} dt{{color:#52525b}} dd{{margin:0;font-weight:600}}
button{{font-size:1.05rem;padding:.75rem 1.5rem;border-radius:8px;border:0;cursor:pointer}}
.pay{{background:#4f46e5;color:#fff}} .cancel{{background:#e4e4e7;color:#18181b}}
form{{display:inline}} .actions{{display:flex;gap:1rem;margin-top:1.5rem}}
</style></head><body>
<div class="banner" role="note">Test checkout — no real payment. This is Fluentio's local stand-in for Dodo Payments.</div>
<main>
<h1>Test checkout — no real payment</h1>
<p>No card is needed and nothing is charged. “Pay” pretends the payment succeeded and tells Fluentio
with a signed webhook, exactly as Dodo Payments would.</p>
<dl><dt>Pack</dt><dd>{html.escape(pack_name)}</dd><dt>Price</dt><dd>{html.escape(price)}</dd>
<dt>Email</dt><dd>{email}</dd></dl>
<div class="actions">
<form method="post" action="/sim/dodo/checkout/{sid}/pay"><button class="pay" type="submit">Pay {html.escape(price)}</button></form>
<form method="post" action="/sim/dodo/checkout/{sid}/cancel"><button class="cancel" type="submit">Cancel</button></form>
</div></main></body></html>"""


def build_fake_dodo(store: FakeDodoStore | None = None, *, send_webhooks: bool = True) -> Starlette:
    """The stand-in as a Starlette app (mount it at /sim/dodo)."""
    store = store if store is not None else STORE

    async def create_checkout(request: Request) -> Response:
        if not _authorised(request):
            return _error(401, "invalid API key")
        try:
            body = await request.json()
            item = body["product_cart"][0]
            product_id, quantity = str(item["product_id"]), int(item.get("quantity", 1))
        except (ValueError, KeyError, IndexError, TypeError):
            return _error(422, "product_cart with one product is required")
        if pack_for_product(product_id) is None:
            return _error(404, f"product {product_id} not found")
        session_id = "cks_local_" + secrets.token_hex(8)
        store.checkouts[session_id] = {
            "session_id": session_id,
            "product_id": product_id,
            "quantity": quantity,
            "customer": body.get("customer") or {},
            "metadata": {str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
            "return_url": body.get("return_url") or get_settings().public_url,
            "cancel_url": body.get("cancel_url"),
            "created_at": _now(),
            "payment_id": None,
            "payment_status": None,
        }
        checkout_url = f"{get_settings().public_url}/sim/dodo/checkout/{session_id}"
        return JSONResponse({"session_id": session_id, "checkout_url": checkout_url})

    async def get_checkout(request: Request) -> Response:
        if not _authorised(request):
            return _error(401, "invalid API key")
        checkout = store.checkouts.get(request.path_params["id"])
        if checkout is None:
            return _error(404, "checkout session not found")
        return JSONResponse(
            {
                "id": checkout["session_id"],
                "created_at": checkout["created_at"],
                "customer_email": checkout["customer"].get("email"),
                "customer_name": checkout["customer"].get("name"),
                "payment_id": checkout["payment_id"],
                "payment_status": checkout["payment_status"],
            }
        )

    async def checkout_page(request: Request) -> Response:
        checkout = store.checkouts.get(request.path_params["id"])
        if checkout is None:
            return HTMLResponse("<h1>Test checkout not found</h1><p>Start again from Pricing.</p>", 404)
        pack = pack_for_product(checkout["product_id"])
        name, price = (pack.name, pack.price_label) if pack else (checkout["product_id"], "?")
        return HTMLResponse(_checkout_page(checkout, name, price))

    async def pay(request: Request) -> Response:
        checkout = store.checkouts.get(request.path_params["id"])
        pack = pack_for_product(checkout["product_id"]) if checkout else None
        if checkout is None or pack is None:
            return HTMLResponse("<h1>Test checkout not found</h1><p>Start again from Pricing.</p>", 404)
        task = None
        if checkout["payment_id"] is None:
            payment = store.add_payment(
                product_id=checkout["product_id"],
                total_amount=pack.price_cents * checkout["quantity"],
                currency=pack.currency,
                email=str(checkout["customer"].get("email", "")),
                metadata=checkout["metadata"],
                checkout_session_id=checkout["session_id"],
            )
            checkout["payment_id"], checkout["payment_status"] = payment["payment_id"], "succeeded"
            if send_webhooks:
                event = webhook_event("payment.succeeded", {**payment, "payload_type": "Payment"})
                task = BackgroundTask(deliver_webhook, store, event)
        target = _with_query(
            checkout["return_url"],
            payment_id=checkout["payment_id"],
            session_id=checkout["session_id"],
            status="succeeded",
        )
        return RedirectResponse(target, status_code=303, background=task)

    async def cancel(request: Request) -> Response:
        checkout = store.checkouts.get(request.path_params["id"])
        if checkout is None:
            return RedirectResponse(get_settings().public_url + "/pricing", status_code=303)
        target = checkout["cancel_url"] or _with_query(
            checkout["return_url"], session_id=checkout["session_id"], status="cancelled"
        )
        return RedirectResponse(target, status_code=303)

    async def list_payments(request: Request) -> Response:
        if not _authorised(request):
            return _error(401, "invalid API key")
        query = request.query_params
        items = sorted(store.payments.values(), key=lambda p: p["created_at"], reverse=True)
        if query.get("status"):
            items = [p for p in items if p["status"] == query["status"]]
        if query.get("created_at_gte"):
            since = datetime.fromisoformat(query["created_at_gte"].replace("Z", "+00:00"))
            items = [
                p for p in items if datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")) >= since
            ]
        page_size = min(int(query.get("page_size", 10)), 100)
        page_number = int(query.get("page_number", 0))
        page = items[page_number * page_size : (page_number + 1) * page_size]
        return JSONResponse({"items": page})

    async def get_payment(request: Request) -> Response:
        if not _authorised(request):
            return _error(401, "invalid API key")
        payment = store.payments.get(request.path_params["id"])
        return JSONResponse(payment) if payment else _error(404, "payment not found")

    async def invoice(request: Request) -> Response:
        if not _authorised(request):
            return _error(401, "invalid API key")
        payment = store.payments.get(request.path_params["id"])
        if payment is None:
            return _error(404, "payment not found")
        pack = pack_for_product(payment["product_cart"][0]["product_id"])
        lines = [
            "TEST INVOICE - no real payment (Fluentio's local Dodo stand-in)",
            f"Invoice {payment['invoice_id']}  Payment {payment['payment_id']}",
            f"Date {payment['created_at'][:10]}  Customer {payment['customer']['email']}",
            f"{pack.name if pack else 'Credit pack'}: {payment['total_amount'] / 100:.2f} {payment['currency']}",
        ]
        return Response(simple_pdf(lines), media_type="application/pdf")

    return Starlette(
        routes=[
            Route("/checkouts", create_checkout, methods=["POST"]),
            Route("/checkouts/{id}", get_checkout, methods=["GET"]),
            Route("/checkout/{id}", checkout_page, methods=["GET"]),
            Route("/checkout/{id}/pay", pay, methods=["POST"]),
            Route("/checkout/{id}/cancel", cancel, methods=["POST"]),
            Route("/payments", list_payments, methods=["GET"]),
            Route("/payments/{id}", get_payment, methods=["GET"]),
            Route("/invoices/payments/{id}", invoice, methods=["GET"]),
        ]
    )


def simple_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing `lines` (ASCII) in Helvetica."""

    def escape(text: str) -> str:
        ascii_text = text.encode("ascii", "replace").decode()
        return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 12 Tf 56 780 Td 16 TL " + " ".join(f"({escape(line)}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = "%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("ascii")
