"""HTTP routes for Google and Apple sign-in: `/auth/{provider}/start` and the callback.

The flow's state, nonce and PKCE verifier travel in a signed, HttpOnly, ten-minute cookie
(`fluentio_oauth`, SameSite=Lax). Google comes back with a top-level GET, which carries
Lax cookies. Apple comes back with a cross-site POST (response_mode=form_post), which
does not: browsers keep Lax cookies off cross-site POSTs. Rather than weaken the cookie
to SameSite=None, the callback answers a cookie-less POST with a tiny page that posts
the same fields again, now from our own origin, so the cookie comes along. The state
check then runs as usual, so a forged POST still fails it. This works the same on
https in production and on http://127.0.0.1 in the tests, where the test provider is
served from another site (`localhost`) to make the POST really cross-site.

A provider whose client id is not set has no routes (404).
"""

from __future__ import annotations

import html
import logging
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from fluentio.api.auth_routes import client_ip
from fluentio.auth.cookies import safe_next_path, session_cookie_options
from fluentio.auth.oauth import (
    FLOW_COOKIE,
    FLOW_TTL_SECONDS,
    OAuthFlowError,
    Profile,
    dump_flow,
    finish_flow,
    get_provider,
    load_flow,
    sign_in_with_provider,
    start_flow,
)
from fluentio.auth.sessions import create_login_session
from fluentio.db import session_scope
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

# Marks the re-posted form, so a POST that still has no cookie fails instead of looping.
RELAY_FIELD = "fluentio_relayed"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _flow_cookie_options() -> dict[str, Any]:
    return {
        "key": FLOW_COOKIE,
        "httponly": True,
        "samesite": "lax",
        "secure": get_settings().public_url.startswith("https://"),
        "path": "/auth/",
        "max_age": FLOW_TTL_SECONDS,
    }


def _forget_flow(response: Response) -> Response:
    options = _flow_cookie_options()
    response.delete_cookie(
        FLOW_COOKIE, path=options["path"], secure=options["secure"], httponly=True, samesite="lax"
    )
    return response


def _to_login(error: OAuthFlowError) -> Response:
    query = urlencode({"error": error.code, "provider": error.provider})
    return _forget_flow(RedirectResponse(f"/login?{query}", status_code=303, headers=_NO_STORE))


async def oauth_start(request: Request) -> Response:
    provider = get_provider(request.path_params["provider"])
    if provider is None:
        return PlainTextResponse("Not found", status_code=404)
    next_path = safe_next_path(request.query_params.get("next"))
    try:
        url, flow = await start_flow(provider, next_path=next_path)
    except OAuthFlowError as exc:
        logger.warning("%s sign-in could not start: %s", provider.name, exc.detail)
        return _to_login(exc)
    response = RedirectResponse(url, status_code=303, headers=_NO_STORE)
    response.set_cookie(value=dump_flow(flow), **_flow_cookie_options())
    return response


def _relay_page(action: str, fields: dict[str, str]) -> Response:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in {**fields, RELAY_FIELD: "1"}.items()
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="robots" content="noindex"><title>Signing you in · Fluentio</title></head>'
        f'<body><form method="post" action="{html.escape(action)}">{inputs}'
        "<noscript><p>Press the button to finish signing in.</p>"
        '<button type="submit">Continue</button></noscript></form>'
        "<script>document.forms[0].submit();</script></body></html>"
    )
    return HTMLResponse(body, headers=_NO_STORE)


def _open_session(profile: Profile, *, user_agent: str, ip: str) -> str:
    with session_scope() as session:
        user, _created = sign_in_with_provider(session=session, profile=profile)
        return create_login_session(session=session, user_id=user.id, user_agent=user_agent, ip=ip)


async def oauth_callback(request: Request) -> Response:
    provider = get_provider(request.path_params["provider"])
    if provider is None:
        return PlainTextResponse("Not found", status_code=404)
    if request.method == "POST":
        form = await request.form()
        params = {key: value for key, value in form.items() if isinstance(value, str)}
    else:
        params = dict(request.query_params)
    cookie = request.cookies.get(FLOW_COOKIE)
    if cookie is None and request.method == "POST" and RELAY_FIELD not in params:
        return _relay_page(request.url.path, params)
    flow = load_flow(cookie)
    try:
        profile = await finish_flow(provider, flow, params)
        token = await run_in_threadpool(
            _open_session, profile, user_agent=request.headers.get("user-agent", ""), ip=client_ip(request)
        )
    except OAuthFlowError as exc:
        logger.warning("%s sign-in refused (%s): %s", provider.name, exc.code, exc.detail or exc.message)
        return _to_login(exc)
    assert flow is not None  # finish_flow refuses a missing flow
    response = RedirectResponse(flow.next_path, status_code=303, headers=_NO_STORE)
    response.set_cookie(value=token, **session_cookie_options())
    return _forget_flow(response)
