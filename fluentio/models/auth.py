"""Accounts: users, their login sessions, OAuth identities and one-time email tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from fluentio.languages import DEFAULT_LANGUAGE
from fluentio.models.base import default_now, string, utc_timestamp, uuid_pk


class Role(StrEnum):
    LEARNER = "learner"
    ADMIN = "admin"


class EmailTokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


class User(SQLModel, table=True):
    """A learner or an admin.

    Emails are stored lower-cased (the check constraint keeps it so), which makes the
    unique index case-insensitive. A deleted account keeps its row with personal data
    scrubbed, so that ledger entries and payments stay accountable.
    """

    __tablename__ = "users"
    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="ck_users_email_lower"),)

    id: uuid.UUID = uuid_pk()
    email: str = string(320, unique=True, index=True)
    display_name: str = string(100, default="")
    role: str = string(16, default=Role.LEARNER.value)
    # The language practised and the one explanations are written in (fluentio/languages.py
    # codes); written only by `auth/service.py:update_profile`.
    target_language: str = string(
        8, default=DEFAULT_LANGUAGE, sa_column_kwargs={"server_default": DEFAULT_LANGUAGE}
    )
    explanation_language: str = string(
        8, default=DEFAULT_LANGUAGE, sa_column_kwargs={"server_default": DEFAULT_LANGUAGE}
    )
    password_hash: str | None = string(255, default=None, nullable=True)
    email_verified_at: datetime | None = utc_timestamp()
    created_at: datetime = default_now()
    last_login_at: datetime | None = utc_timestamp()
    deleted_at: datetime | None = utc_timestamp()


class LearnerLevel(SQLModel, table=True):
    """A learner's CEFR level in one language they practise (fluentio/languages.py code).

    Written only by `fluentio/auth/levels.py`; read through its `level_for`, which gives the
    default level for a language with no row.
    """

    __tablename__ = "learner_levels"
    __table_args__ = (sa.UniqueConstraint("user_id", "language", name="uq_learner_levels_user_language"),)

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    language: str = string(8)
    level: str = string(2)
    # "Skip, I know my level" in this language: its placement call is not offered again.
    placement_skipped_at: datetime | None = utc_timestamp()
    updated_at: datetime = default_now()


class LoginSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie token is stored."""

    __tablename__ = "login_sessions"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    token_hash: str = string(64, unique=True)
    created_at: datetime = default_now()
    last_seen_at: datetime = default_now()
    expires_at: datetime = utc_timestamp(nullable=False)
    revoked_at: datetime | None = utc_timestamp()
    user_agent: str = string(300, default="")
    ip_address: str = string(64, default="")


class OAuthIdentity(SQLModel, table=True):
    """A Google or Apple account linked to a user (provider + subject is unique)."""

    __tablename__ = "oauth_identities"
    __table_args__ = (sa.UniqueConstraint("provider", "subject", name="uq_oauth_provider_subject"),)

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    provider: str = string(16)
    subject: str = string(255)
    email: str = string(320, default="")
    email_verified: bool = Field(default=False)
    created_at: datetime = default_now()


class EmailToken(SQLModel, table=True):
    """A single-use link sent by email (verification or password reset)."""

    __tablename__ = "email_tokens"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    purpose: str = string(16)
    token_hash: str = string(64, unique=True)
    created_at: datetime = default_now()
    expires_at: datetime = utc_timestamp(nullable=False)
    used_at: datetime | None = utc_timestamp()


class AuthAttempt(SQLModel, table=True):
    """One sign-in, sign-up or reset attempt, counted by the rate limiter.

    Kept in the database rather than in memory so that the limit holds across every
    backend worker. `key` is an IP address or a normalised email.
    """

    __tablename__ = "auth_attempts"
    __table_args__ = (sa.Index("ix_auth_attempts_scope_key_created", "scope", "key", "created_at"),)

    id: uuid.UUID = uuid_pk()
    scope: str = string(16)
    key: str = string(320)
    created_at: datetime = default_now()
