import pytest
from pydantic import ValidationError

from fluentio.settings import Settings, normalise_database_url


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
