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
    for name in ("DATABASE_URL", "OPENAI_API_KEY", "FLUENTIO_ENV", "FLUENTIO_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///fluentio.db"
    assert settings.openai_api_key is None
    assert settings.signup_credits == 30


def test_secrets_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-very-secret-value")
    settings = Settings(_env_file=None)
    assert "sk-test-very-secret-value" not in repr(settings)
    assert "sk-test-very-secret-value" not in str(settings.model_dump())


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
