"""Database engine and sessions for services, the CLI and the tests.

One engine per URL, created lazily. SQLite gets foreign keys switched on and a busy
timeout so that the app and a migration can share the file.

Async code reaches the database through `off_loop` / `in_transaction`, which run the
blocking work on a few threads of their own (FLUENTIO_DB_THREADS, default 3), not on the
event loop and not on the shared default executor. Few, because every thread that runs Python holds the
one interpreter lock the event loop needs too: with dozens of threads doing database
work at once (a class pressing Start together), the loop waited its turn behind them
on every socket call and every learner's answer and every health check stalled. Work
beyond them queues, in order, off the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
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

_EXECUTOR: tuple[int, int, ThreadPoolExecutor] | None = None


def _db_executor() -> tuple[int, ThreadPoolExecutor]:
    """This process's database threads and how many (a forked process makes its own)."""
    global _EXECUTOR
    if _EXECUTOR is None or _EXECUTOR[0] != os.getpid():
        threads = get_settings().db_threads
        _EXECUTOR = (os.getpid(), threads, ThreadPoolExecutor(threads, thread_name_prefix="fluentio-db"))
    return _EXECUTOR[1], _EXECUTOR[2]


def start_db_threads() -> None:
    """Start every database thread now, outside the event loop: starting a thread waits
    until the OS runs it, which on a busy machine held the loop for a tenth of a second
    when the first learners' work arrived."""
    threads, executor = _db_executor()
    started = threading.Barrier(threads + 1)
    for _ in range(threads):
        executor.submit(started.wait, 10)
    started.wait(10)


@asynccontextmanager
async def database_threads() -> AsyncIterator[None]:
    """Reflex lifespan task: the database threads are running before the first request."""
    start_db_threads()
    yield


async def off_loop(work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`work(*args, **kwargs)` (blocking: the database) on the database threads, with the
    caller's context variables, awaited from the event loop."""
    call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_db_executor()[1], call)


async def in_transaction(work: Callable[..., T], /, **kwargs: Any) -> T:
    """`work(session=…, **kwargs)` in a transaction of its own, on the database threads:
    async code never waits on the database on the event loop."""

    def run() -> T:
        with session_scope() as session:
            return work(session=session, **kwargs)

    return await off_loop(run)


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
