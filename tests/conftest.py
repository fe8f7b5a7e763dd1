"""Fixtures for every suite.

- `pg_url` / `sqlite_url`: a migrated database for the whole run (PostgreSQL is required:
  if TEST_DATABASE_URL cannot be reached the run stops with one clear line).
- `db_url`: parametrised over both engines, for tests that must hold on each.
- `db`: a Session inside a transaction that is rolled back after the test.
- `app_server`: the production build served on a free port, against its own PostgreSQL DB.
- `browser` / `page`: headless Chromium through Playwright.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from fluentio.db import engine_for, start_db_threads
from fluentio.settings import get_settings
from tests.support.app_server import RunningApp, start_prod_app, stop_app
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.databases import (
    PostgresUnavailableError,
    check_postgres,
    fresh_postgres,
    fresh_sqlite,
    test_database_url,
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


SUITE_ORDER = {"unit": 0, "integration": 1, "e2e": 2}


# The database threads run before any test's event loop needs them (as in the app).
start_db_threads()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run unit, then integration, then browser tests.

    Sync Playwright keeps an asyncio loop marked as running in the main thread for as
    long as the session-scoped browser lives; async tests (pytest-asyncio) cannot start
    a loop after that, so they must all run before the first browser test.
    """

    def suite(item: pytest.Item) -> int:
        parts = Path(str(item.path)).parts
        return next((rank for name, rank in SUITE_ORDER.items() if name in parts), 1)

    items.sort(key=suite)


def pytest_configure(config: pytest.Config) -> None:
    # Per-install secrets made by tests go with the other artefacts, not into the checkout.
    os.environ.setdefault("FLUENTIO_DATA_DIR", str(ARTIFACTS / "data"))


def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        check_postgres(test_database_url())
    except PostgresUnavailableError as exc:
        pytest.exit(str(exc), returncode=3)


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Each test sees settings read from its own environment (monkeypatch-friendly)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_sqlite(tmp_path_factory.mktemp("sqlite")) as url:
        yield url


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url"))


def _rolled_back_session(url: str) -> Iterator[Session]:
    with engine_for(url).connect() as connection:
        transaction = connection.begin()
        if connection.dialect.name == "sqlite":
            # sqlite3 opens a transaction only before DML, so the session's SAVEPOINT would
            # become the outer transaction and its RELEASE would commit for real.
            connection.exec_driver_sql("BEGIN")
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def db(db_url: str) -> Iterator[Session]:
    """A session on each engine in turn; everything it commits is rolled back afterwards."""
    yield from _rolled_back_session(db_url)


@pytest.fixture
def pg(pg_url: str) -> Iterator[Session]:
    """A rolled-back session on PostgreSQL only."""
    yield from _rolled_back_session(pg_url)


@pytest.fixture
def use_database(monkeypatch: pytest.MonkeyPatch, db_url: str) -> str:
    """Point the app's settings (and so its services) at the test database."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    return db_url


E2E_ADMIN_EMAIL = "admin@fluentio.test"


@pytest.fixture(scope="session")
def app_server(artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The production build; no SMTP, so emails land in `app_server.outbox`."""
    outbox = tmp_path_factory.mktemp("outbox")
    with fresh_postgres(prefix="fluentio_e2e") as url:
        app = start_prod_app(
            database_url=url,
            log_dir=artifacts_dir,
            extra_env={"FLUENTIO_OUTBOX_DIR": str(outbox), "FLUENTIO_ADMIN_EMAILS": E2E_ADMIN_EMAIL},
        )
        app.outbox = outbox
        try:
            yield app
        finally:
            stop_app(app)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def pg_engine(url: str) -> sa.Engine:
    return engine_for(url)
