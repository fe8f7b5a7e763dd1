"""`POST /api/checkout` (form field `pack`): start a Dodo checkout and go there.

The Buy buttons are plain HTML forms posting here, so they work on the public pages
that carry no app JavaScript, and there is no "busy" state in a tab that could outlive
the trip to the checkout (a Cancel, a Pay, Back or a reload always finds a fresh
button). The buyer is the session cookie's user; a visitor signs up first. The cookie
is SameSite=Lax, so a form posted from another site arrives without it and buys nothing.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fluentio.api.request_user import request_user
from fluentio.db import session_scope
from fluentio.models import User
from fluentio.payments.checkout import RETURN_PATH, CheckoutError, start_checkout

CHECKOUT_PATH = "/api/checkout"
SIGNUP_FOR_PRICING = "/signup?next=%2Fpricing"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


async def start_checkout_route(request: Request) -> Response:
    user = await request_user(request)
    if user is None:
        return _see_other(SIGNUP_FOR_PRICING)
    form = await request.form()
    pack_id = str(form.get("pack", ""))[:50]

    def buyer() -> User | None:
        with session_scope() as session:
            return session.get(User, user.id)

    account = await run_in_threadpool(buyer)
    if account is None:
        return _see_other(SIGNUP_FOR_PRICING)
    try:
        checkout_url = await start_checkout(user=account, pack_id=pack_id)
    except CheckoutError as exc:
        return _see_other(f"{RETURN_PATH}?{urlencode({'problem': exc.problem.value})}")
    return _see_other(checkout_url)
