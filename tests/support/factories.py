"""Small factories for test data. They flush but never commit: the caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from fluentio.auth import levels
from fluentio.billing import ledger
from fluentio.levels import CefrLevel
from fluentio.models import Role, User
from fluentio.models.base import utcnow
from fluentio.models.billing import Actor, LedgerReason


def unique_email(prefix: str = "learner") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.test"


def make_user(
    session: Session,
    *,
    email: str | None = None,
    role: Role | str = Role.LEARNER,
    display_name: str = "Test Learner",
    english_level: CefrLevel | str | None = None,
    password_hash: str | None = None,
    email_verified_at: datetime | None = None,
    verified: bool = True,
) -> User:
    """A user with a unique email (lower-cased, as the table requires); `english_level`
    gives them an English level row (without one, every language reads as the default)."""
    user = User(
        email=(email or unique_email(str(role))).lower(),
        role=str(role),
        display_name=display_name,
        password_hash=password_hash,
        email_verified_at=email_verified_at or (utcnow() if verified else None),
    )
    session.add(user)
    session.flush()
    if english_level is not None:
        levels.set_level(session=session, user_id=user.id, language="en", level=str(english_level))
    return user


def give_credits(session: Session, user_id: uuid.UUID, millicredits: int) -> None:
    """An admin grant of `millicredits` (none when 0), once per user."""
    if millicredits:
        ledger.grant(
            session=session,
            user_id=user_id,
            millicredits=millicredits,
            reason=LedgerReason.ADMIN_GRANT,
            idempotency_key=f"test-grant:{user_id}",
            actor=Actor.SYSTEM,
            note="test set-up",
        )
