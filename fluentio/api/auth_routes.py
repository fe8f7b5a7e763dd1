"""HTTP routes that set or clear the HttpOnly session cookie.

Reflex event handlers cannot set HttpOnly cookies (Reflex sets cookies from page
scripts), so a successful sign-in in a handler issues a one-minute, single-use login
ticket and sends the browser to `/auth/complete`, which turns it into a session cookie.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fluentio.api.request_user import request_user
from fluentio.auth.cookies import SESSION_COOKIE, safe_next_path, session_cookie_options
from fluentio.auth.login_flow import redeem_login_ticket
from fluentio.db import session_scope


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def complete_sign_in(request: Request) -> Response:
    ticket = request.query_params.get("ticket", "")
    next_path = safe_next_path(request.query_params.get("next"))

    def redeem() -> str | None:
        with session_scope() as session:
            return redeem_login_ticket(
                session=session,
                ticket=ticket,
                user_agent=request.headers.get("user-agent", ""),
                ip=client_ip(request),
            )

    token = await run_in_threadpool(redeem)
    if token is None:
        return RedirectResponse("/login?error=expired", status_code=303)
    response = RedirectResponse(next_path, status_code=303)
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
