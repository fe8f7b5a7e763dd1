"""Turning a verified sign-in into a browser session, and ending sessions.

A Reflex handler that has signed a user in calls `issue_login_ticket`; the browser then
loads `/auth/complete?ticket=…`, whose route calls `redeem_login_ticket` and sets the
HttpOnly cookie. Tickets live one minute and work once.
"""

from __future__ import annotations

import uuid
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


def issue_login_ticket(*, session: Session, user_id: uuid.UUID) -> str:
    return issue_email_token(session=session, user_id=user_id, purpose=LOGIN_TICKET, ttl=LOGIN_TICKET_TTL)


def redeem_login_ticket(*, session: Session, ticket: str, user_agent: str, ip: str) -> str | None:
    """The new session token, or None if the ticket is unknown, used or expired."""
    if not ticket:
        return None
    try:
        user = consume_email_token(session=session, token=ticket, purpose=LOGIN_TICKET)
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
