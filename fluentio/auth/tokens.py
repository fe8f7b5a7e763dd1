"""Random tokens, and the single-use links sent by email (verification, password reset).

Only the SHA-256 of a token is stored, so a copy of the database cannot be turned into
working links. These helpers flush but never commit: the calling use case does.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlmodel import Session, col, delete, select, update

from fluentio.auth.errors import InvalidTokenError as InvalidTokenError
from fluentio.models.auth import EmailToken, EmailTokenPurpose, User
from fluentio.models.base import utcnow

TOKEN_TTLS: dict[EmailTokenPurpose, timedelta] = {
    EmailTokenPurpose.VERIFY_EMAIL: timedelta(hours=24),
    EmailTokenPurpose.RESET_PASSWORD: timedelta(hours=1),
}

_EXPIRED_MESSAGES: dict[str, str] = {
    EmailTokenPurpose.VERIFY_EMAIL: "This verification link has expired. Log in and ask for a new one.",
    EmailTokenPurpose.RESET_PASSWORD: "This password reset link has expired. Ask for a new one.",
}
_INVALID_MESSAGES: dict[str, str] = {
    EmailTokenPurpose.VERIFY_EMAIL: (
        "This verification link has already been used or is not valid. "
        "Log in to check your account or ask for a new link."
    ),
    EmailTokenPurpose.RESET_PASSWORD: (
        "This password reset link has already been used or is not valid. Ask for a new one."
    ),
}


def new_token() -> str:
    """A URL-safe random token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest (64 characters) that is stored instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_email_token(
    *,
    session: Session,
    user_id: uuid.UUID,
    purpose: EmailTokenPurpose | str,
    ttl: timedelta | None = None,
) -> str:
    """Store a new link token for `purpose` and return the raw token (for the email only).

    Earlier tokens of the same purpose are deleted, so only the newest email works: an
    old reset email lying in an inbox cannot be used once a newer one was requested.
    `ttl` defaults to the purpose's TOKEN_TTLS entry; other purposes must give one.
    """
    purpose = str(purpose)
    if ttl is None:
        ttl = TOKEN_TTLS[EmailTokenPurpose(purpose)]
    session.exec(
        delete(EmailToken).where(col(EmailToken.user_id) == user_id, col(EmailToken.purpose) == purpose)
    )
    token = new_token()
    session.add(
        EmailToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=hash_token(token),
            expires_at=utcnow() + ttl,
        )
    )
    session.flush()
    return token


def _invalid(purpose: str) -> InvalidTokenError:
    message = _INVALID_MESSAGES.get(purpose, "This link has already been used or is not valid.")
    return InvalidTokenError(message, reason="invalid")


def _usable(session: Session, token: str, purpose: str) -> tuple[EmailToken, User]:
    row = session.exec(select(EmailToken).where(EmailToken.token_hash == hash_token(token))).first()
    if row is None or row.purpose != purpose or row.used_at is not None:
        raise _invalid(purpose)
    if row.expires_at <= utcnow():
        message = _EXPIRED_MESSAGES.get(purpose, "This link has expired.")
        raise InvalidTokenError(message, reason="expired")
    user = session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        raise _invalid(purpose)
    return row, user


def check_email_token(*, session: Session, token: str, purpose: EmailTokenPurpose | str) -> User:
    """The token's user if it could be consumed now, without consuming it (raises
    InvalidTokenError like `consume_email_token`). Lets a page say "expired" on load."""
    return _usable(session, token, str(purpose))[1]


def consume_email_token(*, session: Session, token: str, purpose: EmailTokenPurpose | str) -> User:
    """Mark the token used and return its user, or raise InvalidTokenError.

    A token of another purpose reads as unknown, so a verification link can never reset
    a password.
    """
    purpose = str(purpose)
    row, user = _usable(session, token, purpose)
    # A conditional UPDATE rather than setting the attribute: when two requests race on
    # the same link, exactly one of them sees a row change.
    claimed = session.exec(
        update(EmailToken)
        .where(col(EmailToken.id) == row.id, col(EmailToken.used_at).is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise _invalid(purpose)
    session.refresh(row)
    return user
