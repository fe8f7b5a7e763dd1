"""Every setting Fluentio reads, in one place.

Values come from the environment and from `.env`. This module imports nothing else
from the app so that rxconfig.py, alembic and the tests can all use it. Secrets are
`SecretStr`, so they never appear in a log line or a repr.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-key-change-me-in-production"
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "please-change"}


def normalise_database_url(url: str) -> str:
    """Return a SQLAlchemy URL using the psycopg 3 driver for PostgreSQL URLs."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Fluentio's configuration. Each field is documented in README and .env.example."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "production", "test"] = Field(
        default="development", alias="FLUENTIO_ENV"
    )
    # Empty means http://127.0.0.1:{PORT} (see _fill_defaults).
    public_url: str = Field(default="", alias="FLUENTIO_PUBLIC_URL")
    port: int = Field(default=3000, alias="PORT")
    database_url: str = Field(default="sqlite:///fluentio.db", alias="DATABASE_URL")
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET_KEY),
        alias="FLUENTIO_SECRET_KEY",
    )

    # Accounts and credits.
    admin_emails: str = Field(default="", alias="FLUENTIO_ADMIN_EMAILS")
    signup_credits: int = Field(default=30, ge=0, alias="FLUENTIO_SIGNUP_CREDITS")
    credit_packs_json: str = Field(default="", alias="FLUENTIO_CREDIT_PACKS")
    session_days: int = Field(default=30, ge=1, le=365, alias="FLUENTIO_SESSION_DAYS")

    # Email (absent SMTP_URL: messages are written to the outbox folder and logged).
    smtp_url: SecretStr | None = Field(default=None, alias="SMTP_URL")
    smtp_from: str = Field(default="Fluentio <no-reply@localhost>", alias="SMTP_FROM")
    outbox_dir: str = Field(default="outbox", alias="FLUENTIO_OUTBOX_DIR")

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _blank_smtp_url_means_unset(cls, value: object) -> object:
        # `SMTP_URL=` in .env should select the outbox, not fail to parse as a server.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("secret_key", mode="before")
    @classmethod
    def _empty_secret_means_unset(cls, value: object) -> object:
        return DEV_SECRET_KEY if value in ("", None) else value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.public_url:
            self.public_url = f"http://127.0.0.1:{self.port}"
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            key = self.secret_key.get_secret_value()
            if len(key) < 32 or key == DEV_SECRET_KEY or key.lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    "FLUENTIO_SECRET_KEY must be set to a random value of at least 32 "
                    "characters in production (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'`)."
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def admin_email_set(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admin_emails.split(",") if e.strip())


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (never at import time)."""
    return Settings()
