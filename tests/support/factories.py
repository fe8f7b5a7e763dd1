"""Small factories for test data. They flush but never commit: the caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from fluentio.levels import CefrLevel
from fluentio.models import Role, User
from fluentio.models.base import utcnow


def unique_email(prefix: str = "learner") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.test"


def make_user(
    session: Session,
    *,
    email: str | None = None,
    role: Role | str = Role.LEARNER,
    display_name: str = "Test Learner",
    english_level: CefrLevel | str = CefrLevel.B1,
    password_hash: str | None = None,
    email_verified_at: datetime | None = None,
    verified: bool = True,
) -> User:
    """A user with a unique email (lower-cased, as the table requires)."""
    user = User(
        email=(email or unique_email(str(role))).lower(),
        role=str(role),
        display_name=display_name,
        english_level=str(english_level),
        password_hash=password_hash,
        email_verified_at=email_verified_at or (utcnow() if verified else None),
    )
    session.add(user)
    session.flush()
    return user
