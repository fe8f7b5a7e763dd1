"""HTTP routes for payments: Dodo's webhook and the learner's invoice download."""

from __future__ import annotations

import logging
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from fluentio.api.bodies import BodyIncompleteError, BodyTooLargeError, read_limited
from fluentio.api.request_user import request_user
from fluentio.db import session_scope
from fluentio.models.billing import Payment
from fluentio.payments import client, webhooks

logger = logging.getLogger(__name__)


async def dodo_webhook(request: Request) -> Response:
    try:
        body = await read_limited(request, webhooks.MAX_BODY_BYTES)
    except BodyTooLargeError:
        logger.warning("Dodo webhook refused: body over %d bytes", webhooks.MAX_BODY_BYTES)
        return JSONResponse({"error": "body too large"}, status_code=413)
    except BodyIncompleteError:
        return JSONResponse({"error": "incomplete body"}, status_code=400)
    answer = await run_in_threadpool(webhooks.handle_delivery, body, dict(request.headers))
    return JSONResponse(answer.body, status_code=answer.status_code)


async def invoice(request: Request) -> Response:
    """The invoice PDF of one of the signed-in learner's payments (admins: any payment),
    fetched from Dodo's API with the server's key."""
    user = await request_user(request)
    try:
        payment_id = uuid.UUID(request.path_params["payment_id"])
    except ValueError:
        return PlainTextResponse("No such invoice.", status_code=404)

    def provider_id() -> str | None:
        if user is None:
            return None
        with session_scope() as session:
            payment = session.get(Payment, payment_id)
            if payment is None or (payment.user_id != user.id and not user.is_admin):
                return ""
            return payment.provider_payment_id

    found = await run_in_threadpool(provider_id)
    if found is None:
        return PlainTextResponse("Log in to see your invoices.", status_code=401)
    if not found:
        return PlainTextResponse("No such invoice on your account.", status_code=404)
    try:
        async with client.payments_client() as dodo:
            pdf = await dodo.invoice_pdf(found)
    except client.PaymentProviderError as exc:
        logger.warning("invoice for %s unavailable: %s", found, exc)
        return PlainTextResponse(
            "We couldn't fetch this invoice from our payment provider just now. Please try again in a minute.",
            status_code=502,
        )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="fluentio-invoice-{found}.pdf"'},
    )


def payment_routes() -> list[Route]:
    return [
        Route("/api/webhooks/dodo", dodo_webhook, methods=["POST"]),
        Route("/api/invoices/{payment_id}", invoice, methods=["GET"]),
    ]
