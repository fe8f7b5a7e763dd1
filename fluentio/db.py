"""Database engine and sessions for services, the CLI and the tests.

One engine per URL, created lazily. SQLite gets foreign keys switched on and a busy
timeout so that the app and a migration can share the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fluentio.settings import get_settings


class DatabaseUnavailableError(RuntimeError):
    """The database named by DATABASE_URL cannot be reached."""


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def get_engine() -> Engine:
    return engine_for(get_settings().database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


T = TypeVar("T")


async def in_transaction(work: Callable[..., T], /, **kwargs: Any) -> T:
    """`work(session=…, **kwargs)` in a transaction of its own, in a worker thread: async
    code never waits on the database on the event loop."""

    def run() -> T:
        with session_scope() as session:
            return work(session=session, **kwargs)

    return await asyncio.to_thread(run)


def insert_unless_exists(
    session: Session, table: type[Any], values: dict[str, Any], *, index_elements: list[str] | None = None
) -> bool:
    """INSERT a row unless one with the same unique key exists; True when it was inserted.

    One statement on either engine (`ON CONFLICT DO NOTHING`), so concurrent writers never
    raise on the unique index and never need a savepoint for it.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).values(**values)
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values)
    else:
        # Settings refuse other DATABASE_URLs; this only guards engines made by hand.
        raise RuntimeError(f"Fluentio supports PostgreSQL and SQLite, not {dialect}")
    result: Any = session.execute(statement.on_conflict_do_nothing(index_elements=index_elements))
    return bool(result.rowcount)


def redact_url(url: str) -> str:
    """The URL with any password hidden, safe to print."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def check_database(engine: Engine | None = None) -> None:
    """Raise DatabaseUnavailableError with a one-line reason if a `SELECT 1` fails."""
    engine = engine or get_engine()
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable" to the caller
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailableError(
            f"Cannot reach the database at DATABASE_URL={redact_url(str(engine.url))}: {reason}"
        ) from exc
