"""Server-side login sessions: the browser holds a random token, the database its hash.

A session lives FLUENTIO_SESSION_DAYS after it was last seen (rolling expiry). To spare
a database write on every request, `last_seen_at` and `expires_at` move forward at most
once per SEEN_WRITE_INTERVAL. These helpers flush but never commit: the caller does.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, col, select, update

from fluentio.auth.tokens import hash_token, new_token
from fluentio.models.auth import LoginSession, User
from fluentio.models.base import utcnow
from fluentio.settings import get_settings

SEEN_WRITE_INTERVAL = timedelta(minutes=10)
_USER_AGENT_MAX = 300
_IP_MAX = 64


def session_lifetime() -> timedelta:
    return timedelta(days=get_settings().session_days)


def create_login_session(*, session: Session, user_id: uuid.UUID, user_agent: str, ip: str) -> str:
    """Start a session for the user and return the raw token for the cookie."""
    token = new_token()
    now = utcnow()
    session.add(
        LoginSession(
            user_id=user_id,
            token_hash=hash_token(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + session_lifetime(),
            user_agent=(user_agent or "")[:_USER_AGENT_MAX],
            ip_address=(ip or "")[:_IP_MAX],
        )
    )
    session.flush()
    return token


def resolve_login_session(*, session: Session, token: str) -> tuple[User, LoginSession] | None:
    """The user and session behind a cookie token, or None when it must not be trusted
    (unknown, revoked, expired, or the account was deleted)."""
    if not token:
        return None
    row = session.exec(
        select(User, LoginSession)
        .join(LoginSession, col(LoginSession.user_id) == col(User.id))
        .where(LoginSession.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    user, login = row
    now = utcnow()
    if login.revoked_at is not None or login.expires_at <= now or user.deleted_at is not None:
        return None
    if now - login.last_seen_at >= SEEN_WRITE_INTERVAL:
        login.last_seen_at = now
        login.expires_at = now + session_lifetime()
        session.add(login)
        session.flush()
    return user, login


def revoke_login_session(*, session: Session, token: str) -> bool:
    """Log out one browser. True if a live session was revoked."""
    result = session.exec(
        update(LoginSession)
        .where(col(LoginSession.token_hash) == hash_token(token), col(LoginSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)


def revoke_all_login_sessions(
    *, session: Session, user_id: uuid.UUID, except_token: str | None = None
) -> int:
    """Log the user out everywhere (but in the browser holding `except_token`, if given).
    Returns how many sessions were revoked."""
    statement = update(LoginSession).where(
        col(LoginSession.user_id) == user_id, col(LoginSession.revoked_at).is_(None)
    )
    if except_token:
        statement = statement.where(col(LoginSession.token_hash) != hash_token(except_token))
    result = session.exec(
        statement.values(revoked_at=utcnow()).execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)
