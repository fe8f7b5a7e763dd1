"""HTTP routes that set or clear the HttpOnly session cookie.

Reflex event handlers cannot set HttpOnly cookies (Reflex sets cookies from page
scripts), so a successful sign-in in a handler issues a one-minute, single-use login
ticket and sends the browser to `/auth/complete`, which turns it into a session cookie
if the ticket's other half is in this browser's cookie (see auth/login_flow.py).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fluentio.api.request_user import request_user
from fluentio.auth.cookies import (
    LOGIN_TICKET_COOKIE,
    LOGIN_TICKET_PATH,
    SESSION_COOKIE,
    read_cookie,
    safe_next_path,
    session_cookie_options,
)
from fluentio.auth.login_flow import ALLOWED_FETCH_SITES, redeem_login_ticket
from fluentio.db import session_scope


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def complete_sign_in(request: Request) -> Response:
    ticket = request.query_params.get("ticket", "")
    browser_part = read_cookie(request.headers.get("cookie"), LOGIN_TICKET_COOKIE) or ""
    next_path = safe_next_path(request.query_params.get("next"))
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ALLOWED_FETCH_SITES:
        return RedirectResponse("/login?error=cross_site", status_code=303)

    def redeem() -> str | None:
        with session_scope() as session:
            return redeem_login_ticket(
                session=session,
                ticket=ticket,
                browser_part=browser_part,
                user_agent=request.headers.get("user-agent", ""),
                ip=client_ip(request),
            )

    token = await run_in_threadpool(redeem)
    response = RedirectResponse(next_path if token else "/login?error=expired", status_code=303)
    if browser_part:
        response.delete_cookie(LOGIN_TICKET_COOKIE, path=LOGIN_TICKET_PATH, samesite="strict")
    if token is not None:
        response.set_cookie(value=token, **session_cookie_options())
    return response


async def signed_out(request: Request) -> Response:
    """Clear the cookie after a sign-out event revoked its session on the server.

    A live session's cookie is left alone, so a link from another site cannot sign
    anyone out; signing out itself is the `AuthState.log_out` event.
    """
    if await request_user(request) is not None:
        return RedirectResponse("/account", status_code=303)
    response = RedirectResponse("/?signed_out=1", status_code=303)
    options = session_cookie_options()
    response.delete_cookie(
        SESSION_COOKIE, path=options["path"], secure=options["secure"], httponly=True, samesite="lax"
    )
    return response
