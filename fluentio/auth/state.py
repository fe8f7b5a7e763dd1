"""Who is signed in, resolved on the server for every event that needs it.

The browser never names its user: handlers read the HttpOnly session cookie from the
websocket handshake (`router.headers.cookie`) and look the session up in the database.
Use `signed_in_user(self)` at the top of any handler that touches a user's data.
"""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx

from fluentio.auth.cookies import read_cookie
from fluentio.auth.login_flow import sign_out
from fluentio.auth.roles import is_admin
from fluentio.auth.sessions import resolve_login_session
from fluentio.db import session_scope
from fluentio.models import User


def signed_in_user(state: rx.State) -> User | None:
    """The live user behind this browser's session cookie, or None."""
    token = read_cookie(state.router.headers.cookie)
    if not token:
        return None
    with session_scope() as session:
        resolved = resolve_login_session(session=session, token=token)
        return resolved[0] if resolved else None


def login_redirect(state: rx.State) -> rx.event.EventSpec:
    url = state.router.url
    target = url.path + (f"?{url.query}" if getattr(url, "query", "") else "")
    return rx.redirect(f"/login?next={quote(target, safe='')}", replace=True)


class AuthState(rx.State):
    """What the pages show about the signed-in user (display only, never trusted)."""

    signed_in: bool = False
    user_name: str = ""
    user_email: str = ""
    is_admin: bool = False
    email_verified: bool = False
    forbidden: bool = False

    def _show(self, user: User | None) -> None:
        self.signed_in = user is not None
        self.user_name = (user.display_name or user.email.split("@")[0]) if user else ""
        self.user_email = user.email if user else ""
        self.is_admin = is_admin(user)
        self.email_verified = bool(user and user.email_verified_at)

    @rx.event
    def refresh(self) -> None:
        """on_load of public pages: show "Log in" or the user's name in the header."""
        self._show(signed_in_user(self))

    @rx.event
    def require_learner(self) -> rx.event.EventSpec | None:
        """on_load of pages for any signed-in user: anonymous visitors go to /login?next=…"""
        user = signed_in_user(self)
        self._show(user)
        self.forbidden = False
        return None if user else login_redirect(self)

    @rx.event
    def require_admin(self) -> rx.event.EventSpec | None:
        """on_load of admin pages: anonymous → login; learners see "not allowed"."""
        user = signed_in_user(self)
        self._show(user)
        if user is None:
            return login_redirect(self)
        self.forbidden = not is_admin(user)
        return None

    @rx.event
    def log_out(self, everywhere: bool = False) -> rx.event.EventSpec:
        """Revoke this browser's session (or all of the user's) on the server, then let
        /auth/signed-out clear the now-dead cookie."""
        token = read_cookie(self.router.headers.cookie)
        if token:
            with session_scope() as session:
                sign_out(session=session, token=token, everywhere=everywhere)
        self._show(None)
        return rx.call_script("window.location.assign('/auth/signed-out')")
