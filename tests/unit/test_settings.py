import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from fluentio.settings import DEV_SECRET_KEY, Settings, normalise_database_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///fluentio.db", "sqlite:///fluentio.db"),
    ],
)
def test_database_urls_are_normalised_to_psycopg(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_defaults_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "FLUENTIO_ENV", "FLUENTIO_SECRET_KEY", "FLUENTIO_SIGNUP_CREDITS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///fluentio.db"
    assert settings.signup_credits == 30


def test_secrets_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_SECRET_KEY", "a-very-secret-value-that-must-not-leak")
    settings = Settings(_env_file=None)
    assert "a-very-secret-value-that-must-not-leak" not in repr(settings)
    assert "a-very-secret-value-that-must-not-leak" not in str(settings.model_dump())


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_ENV", "production")
    monkeypatch.delenv("FLUENTIO_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="FLUENTIO_SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("FLUENTIO_SECRET_KEY", "x" * 48)
    assert Settings(_env_file=None).environment == "production"


def test_admin_emails_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_ADMIN_EMAILS", " Boss@Example.com, ops@example.com ,")
    assert Settings(_env_file=None).admin_email_set == {"boss@example.com", "ops@example.com"}


def test_public_url_follows_port_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUENTIO_PUBLIC_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    assert Settings(_env_file=None).public_url == "http://127.0.0.1:8123"
    monkeypatch.setenv("FLUENTIO_PUBLIC_URL", "https://fluentio.example/")
    assert Settings(_env_file=None).public_url == "https://fluentio.example"


def test_an_empty_secret_key_falls_back_outside_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_SECRET_KEY", "")
    monkeypatch.setenv("FLUENTIO_ENV", "development")
    assert len(Settings(_env_file=None).secret_key.get_secret_value()) >= 32
    monkeypatch.setenv("FLUENTIO_ENV", "production")
    with pytest.raises(ValidationError, match="FLUENTIO_SECRET_KEY"):
        Settings(_env_file=None)


def test_other_databases_are_refused_with_the_urls_that_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://user@localhost/fluentio")
    with pytest.raises(ValidationError, match=r"must be a PostgreSQL .* or SQLite"):
        Settings()


@pytest.fixture
def fresh_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("FLUENTIO_SECRET_KEY", "FLUENTIO_ENV", "OPENAI_API_KEY", "DODO_PAYMENTS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("FLUENTIO_REALTIME_SIGNALING", raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("FLUENTIO_DATA_DIR", str(data))
    return data


def test_an_install_without_a_secret_gets_its_own_random_one(
    fresh_install: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = Settings(_env_file=None)
    key = first.secret_key.get_secret_value()
    assert len(key) >= 32 and key != DEV_SECRET_KEY
    stored = fresh_install / "secret_key"
    assert stored.read_text().strip() == key
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    # Kept across restarts, different on another install.
    assert Settings(_env_file=None).secret_key.get_secret_value() == key
    monkeypatch.setenv("FLUENTIO_DATA_DIR", str(tmp_path / "other-install"))
    assert Settings(_env_file=None).secret_key.get_secret_value() != key


def test_the_dodo_stand_in_key_is_random_per_install_and_not_derived(
    fresh_install: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLUENTIO_SECRET_KEY", DEV_SECRET_KEY)
    key = Settings(_env_file=None).local_dodo_webhook_key
    assert key.startswith("whsec_") and key == Settings(_env_file=None).local_dodo_webhook_key
    monkeypatch.setenv("FLUENTIO_DATA_DIR", str(tmp_path / "other-install"))
    assert Settings(_env_file=None).local_dodo_webhook_key != key


@pytest.mark.parametrize("provider_key", ["OPENAI_API_KEY", "DODO_PAYMENTS_API_KEY"])
@pytest.mark.parametrize("weak", [DEV_SECRET_KEY, "changeme", "short-secret"])
def test_a_real_provider_key_refuses_weak_secrets_in_any_environment(
    fresh_install: Path, monkeypatch: pytest.MonkeyPatch, provider_key: str, weak: str
) -> None:
    monkeypatch.setenv("FLUENTIO_ENV", "development")
    monkeypatch.setenv("FLUENTIO_SECRET_KEY", weak)
    assert Settings(_env_file=None).secret_key.get_secret_value() == weak  # simulators only: allowed
    monkeypatch.setenv(provider_key, "sk-live-looking-key")
    with pytest.raises(ValidationError, match="FLUENTIO_SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("FLUENTIO_SECRET_KEY", "k" * 48)
    assert Settings(_env_file=None).secret_key.get_secret_value() == "k" * 48


def test_ephemeral_signalling_is_refused_with_a_real_openai_key(
    fresh_install: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUENTIO_REALTIME_SIGNALING", "ephemeral")
    assert Settings(_env_file=None).realtime_signaling == "ephemeral"  # the simulator allows it
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-looking-key")
    monkeypatch.setenv("FLUENTIO_SECRET_KEY", "k" * 48)
    with pytest.raises(ValidationError, match="relay"):
        Settings(_env_file=None)
    monkeypatch.setenv("FLUENTIO_REALTIME_SIGNALING", "relay")
    assert Settings(_env_file=None).realtime_signaling == "relay"


def test_only_the_public_origin_and_its_loopback_spelling_are_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLUENTIO_PUBLIC_URL", "http://127.0.0.1:3000/")
    assert Settings(_env_file=None).allowed_origins == ["http://127.0.0.1:3000", "http://localhost:3000"]
    monkeypatch.setenv("FLUENTIO_PUBLIC_URL", "https://Fluentio.example/app")
    assert Settings(_env_file=None).allowed_origins == ["https://fluentio.example"]


def test_an_unwritable_data_directory_says_what_to_do(
    fresh_install: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_install.write_text("a file where the folder should be")
    with pytest.raises(ValidationError, match="FLUENTIO_DATA_DIR a writable folder"):
        Settings(_env_file=None)
    monkeypatch.setenv("FLUENTIO_SECRET_KEY", "k" * 48)
    assert Settings(_env_file=None).secret_key.get_secret_value() == "k" * 48


def test_database_threads_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).db_threads == 3
    monkeypatch.setenv("FLUENTIO_DB_THREADS", "8")
    assert Settings(_env_file=None).db_threads == 8
    for refused in ("0", "33"):
        monkeypatch.setenv("FLUENTIO_DB_THREADS", refused)
        with pytest.raises(ValidationError, match="FLUENTIO_DB_THREADS"):
            Settings(_env_file=None)
