"""The login-session cookie: its name, its attributes, and reading it from a header.

The cookie is HttpOnly, so page scripts never see the token. Reflex event handlers read
it from the websocket handshake's Cookie header (`state.router.headers.cookie`).
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from typing import Any

from fluentio.settings import get_settings

SESSION_COOKIE = "fluentio_session"
# The browser's half of a login ticket (see login_flow.py); lives one minute.
LOGIN_TICKET_COOKIE = "fluentio_login_ticket"
LOGIN_TICKET_PATH = "/auth/complete"


def read_cookie(cookie_header: str | None, name: str = SESSION_COOKIE) -> str | None:
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel and morsel.value else None


def session_cookie_options() -> dict[str, Any]:
    settings = get_settings()
    return {
        "key": SESSION_COOKIE,
        "httponly": True,
        "samesite": "lax",
        "secure": settings.public_url.startswith("https://"),
        "path": "/",
        "max_age": settings.session_days * 24 * 3600,
    }


def login_ticket_cookie_script(browser_part: str) -> str:
    """JavaScript that stores the ticket's browser half for the one navigation to
    LOGIN_TICKET_PATH (Reflex handlers can only set cookies through the page)."""
    secure = "; Secure" if get_settings().public_url.startswith("https://") else ""
    cookie = (
        f"{LOGIN_TICKET_COOKIE}={browser_part}; Path={LOGIN_TICKET_PATH}; Max-Age=60; SameSite=Strict{secure}"
    )
    return f"document.cookie = {json.dumps(cookie)};"


def safe_next_path(value: str | None, default: str = "/classroom") -> str:
    """Only same-site paths: '/x' yes; '//evil.example', 'https://…' and '/\\\\…' no."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
