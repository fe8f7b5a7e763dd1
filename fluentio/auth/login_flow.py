"""Turning a verified sign-in into a browser session, and ending sessions.

A Reflex handler that has signed a user in calls `issue_login_ticket`; the browser then
loads `/auth/complete?ticket=…`, whose route calls `redeem_login_ticket` and sets the
HttpOnly cookie. Tickets live one minute and work once.

A ticket is bound to the browser that asked for it: half of it travels in the URL, the
other half in a short-lived SameSite=Strict cookie that the page sets just before it
navigates. An attacker's own ticket opened in a victim's browser (login CSRF: the
victim's practice would land in the attacker's account) lacks the victim-side half and
is refused, as is any cross-site load of the route (`Sec-Fetch-Site`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from fluentio.auth.errors import InvalidTokenError
from fluentio.auth.sessions import (
    create_login_session,
    resolve_login_session,
    revoke_all_login_sessions,
    revoke_login_session,
)
from fluentio.auth.tokens import consume_email_token, issue_email_token

LOGIN_TICKET = "login_ticket"
LOGIN_TICKET_TTL = timedelta(minutes=1)
# Browsers say where a navigation came from; only our own pages (or a typed address) may
# complete a sign-in. Requests without the header (old browsers, scripts) rely on the cookie half.
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


@dataclass(frozen=True)
class LoginTicket:
    """The two halves of one single-use ticket: for the URL, and for the browser's cookie."""

    url_part: str
    browser_part: str


def issue_login_ticket(*, session: Session, user_id: uuid.UUID) -> LoginTicket:
    token = issue_email_token(session=session, user_id=user_id, purpose=LOGIN_TICKET, ttl=LOGIN_TICKET_TTL)
    half = len(token) // 2
    return LoginTicket(url_part=token[:half], browser_part=token[half:])


def redeem_login_ticket(
    *, session: Session, ticket: str, browser_part: str, user_agent: str, ip: str
) -> str | None:
    """The new session token, or None if the ticket is unknown, used, expired or was
    issued to another browser."""
    if not ticket or not browser_part:
        return None
    try:
        user = consume_email_token(session=session, token=ticket + browser_part, purpose=LOGIN_TICKET)
    except InvalidTokenError:
        return None
    if user.deleted_at is not None:
        return None
    return create_login_session(session=session, user_id=user.id, user_agent=user_agent[:300], ip=ip)


def sign_out(*, session: Session, token: str, everywhere: bool = False) -> None:
    resolved = resolve_login_session(session=session, token=token)
    if resolved is None:
        return
    user, _login = resolved
    if everywhere:
        revoke_all_login_sessions(session=session, user_id=user.id)
    else:
        revoke_login_session(session=session, token=token)
