"""Throw-away databases for the tests: a fresh PostgreSQL database or SQLite file, migrated."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from fluentio.cli import migrate
from fluentio.db import redact_url
from fluentio.settings import normalise_database_url

DEFAULT_TEST_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class PostgresUnavailableError(RuntimeError):
    pass


def test_database_url() -> str:
    return normalise_database_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL))


def _admin_engine(base_url: str) -> sa.Engine:
    return sa.create_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def check_postgres(base_url: str) -> None:
    try:
        with _admin_engine(base_url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PostgresUnavailableError(
            f"PostgreSQL is required for the tests but TEST_DATABASE_URL={redact_url(base_url)} "
            f"cannot be reached: {first}"
        ) from exc


@contextmanager
def fresh_postgres(*, migrated: bool = True, prefix: str = "fluentio_t") -> Iterator[str]:
    """Create an empty database on the test server, yield its URL, drop it afterwards."""
    base_url = test_database_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(base_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(base_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            migrate(url)
        yield url
    finally:
        from fluentio.db import engine_for

        engine_for(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fresh_sqlite(directory: Path, *, migrated: bool = True) -> Iterator[str]:
    url = f"sqlite:///{directory / f'fluentio-{uuid.uuid4().hex[:8]}.db'}"
    if migrated:
        migrate(url)
    yield url


@contextmanager
def session_on(url: str) -> Iterator[Session]:
    """A plain session on the database at `url` (the caller commits)."""
    from fluentio.db import engine_for

    with Session(engine_for(url)) as session:
        yield session
