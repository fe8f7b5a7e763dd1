"""Every setting Fluentio reads, in one place.

Values come from the environment and from `.env`. This module imports nothing else
from the app so that rxconfig.py, alembic and the tests can all use it. Secrets are
`SecretStr`, so they never appear in a log line or a repr.

No secret is ever derived from a value published in this repository: when
FLUENTIO_SECRET_KEY is unset (outside production) a random one is generated on first
run and kept in the data directory (FLUENTIO_DATA_DIR), and so is the key the local
Dodo stand-in signs its webhooks with. With a real OpenAI or Dodo key the app refuses
a weak or published secret whatever FLUENTIO_ENV says.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The development default of earlier versions: public, so refused wherever it matters.
DEV_SECRET_KEY = "dev-only-secret-key-change-me-in-production"
# The built-in simulator's server key: random per process, so only the app that mounted
# it (or the harness that started it and set FLUENTIO_SIMULATOR_KEY) can use it.
SIMULATOR_OPENAI_KEY = "sk-fluentio-sim-" + secrets.token_urlsafe(24)
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "please-change", DEV_SECRET_KEY}
MIN_SECRET_LENGTH = 32
SECRET_KEY_FILE = "secret_key"
DODO_WEBHOOK_KEY_FILE = "dodo_webhook_key"


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
    # Threads that run the app's database work (fluentio/db.py explains why so few).
    db_threads: int = Field(default=3, ge=1, le=32, alias="FLUENTIO_DB_THREADS")
    # Where per-install secrets are kept (never committed; see .gitignore).
    data_dir: str = Field(default="data", alias="FLUENTIO_DATA_DIR")
    # Unset: the per-install secret in data_dir (filled in by _fill_defaults).
    secret_key: SecretStr = Field(default=SecretStr(""), alias="FLUENTIO_SECRET_KEY")

    # Which part of the product this process runs (README: "Process types and call
    # ownership"): "all" (one process: pages, calls and background work, as `make run`),
    # "web" (pages, socket, relay, webhooks) or "worker" (`python -m fluentio.cli worker`:
    # call supervision and background work, no Reflex).
    process_role: Literal["all", "web", "worker"] = Field(default="all", alias="FLUENTIO_PROCESS_ROLE")

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
    # Tests and benchmarks that start the app choose its simulator's key; else random.
    simulator_key: SecretStr | None = Field(default=None, alias="FLUENTIO_SIMULATOR_KEY")
    realtime_signaling: Literal["relay", "ephemeral"] = Field(
        default="relay", alias="FLUENTIO_REALTIME_SIGNALING"
    )
    realtime_model: str = Field(default="gpt-realtime-mini", alias="FLUENTIO_REALTIME_MODEL")
    transcribe_model: str = Field(default="gpt-4o-mini-transcribe", alias="FLUENTIO_TRANSCRIBE_MODEL")
    realtime_voice: str = Field(default="alloy", alias="FLUENTIO_REALTIME_VOICE")
    seconds_per_credit: int = Field(default=60, ge=1, alias="FLUENTIO_SECONDS_PER_CREDIT")
    max_session_minutes: int = Field(default=30, ge=1, alias="FLUENTIO_MAX_SESSION_MINUTES")
    # How long the classroom waits for the provider to start a call or answer a hang-up.
    provider_timeout_seconds: float = Field(
        default=15.0, ge=0.1, le=120, alias="FLUENTIO_PROVIDER_TIMEOUT_SECONDS"
    )
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

    # Background jobs (fluentio/jobs/): "auto" = the PostgreSQL engine when DATABASE_URL is
    # PostgreSQL, else the in-process one (see jobs_backend).
    jobs_engine: Literal["auto", "memory", "postgres"] = Field(default="auto", alias="FLUENTIO_JOBS")
    # A job worker that has not sent a heartbeat for this long is dead: its jobs run again.
    jobs_stalled_seconds: float = Field(default=30.0, ge=1, le=3600, alias="FLUENTIO_JOBS_STALLED_SECONDS")
    # How many jobs one worker process runs at once (they are mostly waiting on the network).
    jobs_concurrency: int = Field(default=4, ge=1, le=100, alias="FLUENTIO_JOBS_CONCURRENCY")
    # `python -m fluentio.cli web`: granian worker processes behind the one port. More than
    # one needs REFLEX_REDIS_URL (each learner's page state then lives in Redis).
    web_workers: int = Field(default=1, ge=1, le=64, alias="FLUENTIO_WEB_WORKERS")

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
        "simulator_key",
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
    def _none_secret_means_unset(cls, value: object) -> object:
        return "" if value is None else value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.public_url:
            self.public_url = f"http://127.0.0.1:{self.port}"
        return self

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        """Production, or any real provider key, needs a strong FLUENTIO_SECRET_KEY; a
        local install without one gets its own random secret."""
        key = self.secret_key.get_secret_value().strip()
        real_money = self.environment == "production" or not self.openai_simulated or not self.dodo_simulated
        if not key and self.environment != "production":
            try:
                self.secret_key = SecretStr(install_secret(self.data_dir, SECRET_KEY_FILE))
            except OSError as exc:
                raise ValueError(
                    f"Could not keep this install's secret in {self.data_dir}/{SECRET_KEY_FILE} "
                    f"({exc.strerror}). Make FLUENTIO_DATA_DIR a writable folder, or set FLUENTIO_SECRET_KEY."
                ) from None
            return self
        weak = len(key) < MIN_SECRET_LENGTH or key.lower() in PLACEHOLDER_SECRETS
        if weak and real_money:
            raise ValueError(
                f"FLUENTIO_SECRET_KEY must be a random value of at least {MIN_SECRET_LENGTH} characters "
                "in production and whenever OPENAI_API_KEY or DODO_PAYMENTS_API_KEY is set "
                "(make one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        return self

    @model_validator(mode="after")
    def _refuse_ephemeral_with_a_real_key(self) -> Settings:
        # A client secret opens as many calls as the browser likes until it expires, and
        # OpenAI cannot tell us which calls a secret opened: a tampered page could talk
        # unmetered. The simulator allows one call per secret, so ephemeral stays for it.
        if self.realtime_signaling == "ephemeral" and not self.openai_simulated:
            raise ValueError(
                "FLUENTIO_REALTIME_SIGNALING=ephemeral is only for the built-in simulator: with "
                "OPENAI_API_KEY set, use relay (the default), where the server opens every call."
            )
        return self

    @model_validator(mode="after")
    def _jobs_need_a_shared_engine_across_processes(self) -> Settings:
        if self.jobs_engine == "postgres" and not self.database_url.startswith("postgresql"):
            raise ValueError(
                "FLUENTIO_JOBS=postgres needs DATABASE_URL to be PostgreSQL: the job engine keeps "
                "its queue in the same database."
            )
        if self.process_role != "all" and self.jobs_backend != "postgres":
            raise ValueError(
                f"FLUENTIO_PROCESS_ROLE={self.process_role} needs the shared job engine: set DATABASE_URL "
                "to PostgreSQL (and leave FLUENTIO_JOBS at auto or postgres). Only the all-in-one "
                "process (FLUENTIO_PROCESS_ROLE=all) can run its jobs in memory."
            )
        return self

    @property
    def jobs_backend(self) -> Literal["memory", "postgres"]:
        """Where background jobs queue — the one rule: PostgreSQL's job engine whenever the
        database is PostgreSQL (unless FLUENTIO_JOBS=memory), else in this process's memory."""
        if self.jobs_engine == "memory":
            return "memory"
        if self.jobs_engine == "postgres" or self.database_url.startswith("postgresql"):
            return "postgres"
        return "memory"

    @model_validator(mode="after")
    def _scaled_out_simulator_is_its_own_process(self) -> Settings:
        # The simulator mounted in a web process keeps its calls in that process's
        # memory: with several processes, every one must reach the same simulator.
        if self.process_role != "all" and self.openai_simulated and not self.openai_base_url:
            raise ValueError(
                f"FLUENTIO_PROCESS_ROLE={self.process_role} without OPENAI_API_KEY needs the simulator "
                "as its own process: run `python -m fluentio.simulator --port 8090` (its OPENAI_API_KEY "
                "set to this process's FLUENTIO_SIMULATOR_KEY) and set OPENAI_BASE_URL="
                "http://127.0.0.1:8090/v1 for every web and worker process."
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
        """The server's OpenAI key; without one, the simulator's key for this process."""
        if self.openai_api_key is not None:
            return self.openai_api_key.get_secret_value()
        if self.simulator_key is not None:
            return self.simulator_key.get_secret_value()
        return SIMULATOR_OPENAI_KEY

    @property
    def local_dodo_webhook_key(self) -> str:
        """The key the local Dodo stand-in signs its webhooks with: random per install."""
        return install_secret(self.data_dir, DODO_WEBHOOK_KEY_FILE, prefix="whsec_")

    @property
    def dodo_simulated(self) -> bool:
        """True when no Dodo key is set: the local test checkout stands in."""
        return self.dodo_api_key is None

    @property
    def public_origin(self) -> str:
        """scheme://host[:port] of FLUENTIO_PUBLIC_URL: the only origin browsers may call from."""
        scheme, _, rest = self.public_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}".lower()

    @property
    def allowed_origins(self) -> list[str]:
        """Origins browsers may call the API and open the websocket from: the public one,
        and on a loopback address also its other spelling (127.0.0.1 ⇄ localhost, same
        port: the same local server, which `reflex run` advertises as localhost)."""
        origins = [self.public_origin]
        for ours, alias in (("://127.0.0.1:", "://localhost:"), ("://localhost:", "://127.0.0.1:")):
            if ours in self.public_origin:
                origins.append(self.public_origin.replace(ours, alias))
        return origins

    @property
    def admin_email_set(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admin_emails.split(",") if e.strip())


def install_secret(data_dir: str, name: str, *, prefix: str = "") -> str:
    """The random secret stored as `data_dir/name`, created (mode 0600) on first use.

    Several workers may start at once: the file is written under a temporary name and
    hard-linked into place, which fails if another worker got there first, so every
    worker ends up reading the same complete value.
    """
    path = Path(data_dir) / name
    with contextlib.suppress(FileNotFoundError):
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = prefix + base64.b64encode(secrets.token_bytes(32)).decode()
    temporary = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        temporary.unlink()
    return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once on first use (never at import time)."""
    return Settings()
