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
SIMULATOR_OPENAI_KEY = "sk-fluentio-local-simulator"
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

    # Google and Apple sign-in (a provider is offered only when its client id is set).
    google_client_id: str = Field(default="", alias="GOOGLE_CLIENT_ID")
    google_client_secret: SecretStr | None = Field(default=None, alias="GOOGLE_CLIENT_SECRET")
    google_metadata_url: str = Field(
        default="https://accounts.google.com/.well-known/openid-configuration",
        alias="GOOGLE_METADATA_URL",
    )
    apple_client_id: str = Field(default="", alias="APPLE_CLIENT_ID")  # the Services ID
    apple_team_id: str = Field(default="", alias="APPLE_TEAM_ID")
    apple_key_id: str = Field(default="", alias="APPLE_KEY_ID")
    # The .p8 key's PEM text (newlines may be written as \n), or a path in APPLE_PRIVATE_KEY_FILE.
    apple_private_key: SecretStr | None = Field(default=None, alias="APPLE_PRIVATE_KEY")
    apple_private_key_file: str = Field(default="", alias="APPLE_PRIVATE_KEY_FILE")
    apple_metadata_url: str = Field(
        default="https://appleid.apple.com/.well-known/openid-configuration",
        alias="APPLE_METADATA_URL",
    )

    # OpenAI. With no OPENAI_API_KEY the built-in local simulator answers, mounted in
    # this app at {public_url}/sim/openai/v1, and OPENAI_BASE_URL defaults to it.
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str = Field(default="", alias="OPENAI_BASE_URL")
    realtime_signaling: Literal["relay", "ephemeral"] = Field(
        default="relay", alias="FLUENTIO_REALTIME_SIGNALING"
    )
    realtime_model: str = Field(default="gpt-realtime-mini", alias="FLUENTIO_REALTIME_MODEL")
    transcribe_model: str = Field(default="gpt-4o-mini-transcribe", alias="FLUENTIO_TRANSCRIBE_MODEL")
    realtime_voice: str = Field(default="alloy", alias="FLUENTIO_REALTIME_VOICE")
    seconds_per_credit: int = Field(default=60, ge=1, alias="FLUENTIO_SECONDS_PER_CREDIT")
    max_session_minutes: int = Field(default=30, ge=1, alias="FLUENTIO_MAX_SESSION_MINUTES")
    analysis_model: str = Field(default="gpt-4o-mini", alias="FLUENTIO_ANALYSIS_MODEL")
    speech_model: str = Field(default="gpt-4o-mini-tts", alias="FLUENTIO_SPEECH_MODEL")
    speech_voice: str = Field(default="alloy", alias="FLUENTIO_SPEECH_VOICE")

    # Dodo Payments. With no DODO_PAYMENTS_API_KEY a local test checkout answers, mounted
    # in this app at {public_url}/sim/dodo, and signs its webhooks with a local key.
    dodo_api_key: SecretStr | None = Field(default=None, alias="DODO_PAYMENTS_API_KEY")
    dodo_environment: Literal["test_mode", "live_mode"] = Field(
        default="test_mode", alias="DODO_PAYMENTS_ENVIRONMENT"
    )
    dodo_base_url: str = Field(default="", alias="DODO_PAYMENTS_BASE_URL")
    dodo_webhook_key: SecretStr | None = Field(default=None, alias="DODO_PAYMENTS_WEBHOOK_KEY")

    # Admin dashboard: the estimated OpenAI cost, in US dollars per million tokens.
    # Defaults: OpenAI's published gpt-realtime-mini prices (cached input at the audio rate).
    cost_text_input_per_m: float = Field(default=0.60, ge=0, alias="FLUENTIO_COST_TEXT_INPUT_PER_M")
    cost_audio_input_per_m: float = Field(default=10.00, ge=0, alias="FLUENTIO_COST_AUDIO_INPUT_PER_M")
    cost_cached_input_per_m: float = Field(default=0.30, ge=0, alias="FLUENTIO_COST_CACHED_INPUT_PER_M")
    cost_text_output_per_m: float = Field(default=2.40, ge=0, alias="FLUENTIO_COST_TEXT_OUTPUT_PER_M")
    cost_audio_output_per_m: float = Field(default=20.00, ge=0, alias="FLUENTIO_COST_AUDIO_OUTPUT_PER_M")

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        url = normalise_database_url(value)
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "DATABASE_URL must be a PostgreSQL (postgresql://user:password@host:5432/db) "
                "or SQLite (sqlite:///fluentio.db) URL; Fluentio supports no other database."
            )
        return url

    @field_validator(
        "smtp_url",
        "google_client_secret",
        "apple_private_key",
        "openai_api_key",
        "dodo_api_key",
        "dodo_webhook_key",
        mode="before",
    )
    @classmethod
    def _blank_secret_means_unset(cls, value: object) -> object:
        # `SMTP_URL=` in .env selects the outbox (and `OPENAI_API_KEY=` the simulator)
        # rather than failing to parse or sending an empty key.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_url", "openai_base_url", "dodo_base_url")
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
    def openai_simulated(self) -> bool:
        """True when no OpenAI key is set: the built-in simulator stands in."""
        return self.openai_api_key is None

    @property
    def openai_url(self) -> str:
        """OPENAI_BASE_URL, or the built-in simulator's when no key is set."""
        if self.openai_base_url:
            return self.openai_base_url
        if self.openai_simulated:
            return f"{self.public_url}/sim/openai/v1"
        return "https://api.openai.com/v1"

    @property
    def openai_key(self) -> str:
        """The server's OpenAI key; the simulator accepts a fixed local one."""
        if self.openai_api_key is None:
            return SIMULATOR_OPENAI_KEY
        return self.openai_api_key.get_secret_value()

    @property
    def dodo_simulated(self) -> bool:
        """True when no Dodo key is set: the local test checkout stands in."""
        return self.dodo_api_key is None

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
