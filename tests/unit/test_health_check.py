"""/healthz's database check: reused while recent, refreshed in the background, awaited
only when there is no recent answer (so a busy database pool never delays it)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from fluentio.api import health
from fluentio.api.health import MAX_AGE_SECONDS, REFRESH_AFTER_SECONDS, DatabaseCheck
from fluentio.db import DatabaseUnavailableError


class Database:
    """Stands in for `check_database`: counts the checks; `down` makes them fail."""

    def __init__(self) -> None:
        self.checks = 0
        self.down = False
        self.release = threading.Event()
        self.release.set()

    def check(self, _engine: object = None) -> None:
        self.release.wait(5)
        self.checks += 1
        if self.down:
            raise DatabaseUnavailableError("Cannot reach the database at DATABASE_URL=…: refused")


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Database:
    fake = Database()
    monkeypatch.setattr(health, "check_database", fake.check)
    return fake


async def _settled(check: DatabaseCheck) -> None:
    for _ in range(200):
        if all(running.done() for running in check._running.values()):
            return
        await asyncio.sleep(0.01)


async def test_a_recent_answer_is_reused_and_refreshed_in_the_background(database: Database) -> None:
    now = [1_000.0]
    check = DatabaseCheck(clock=lambda: now[0])
    assert await check.error() is None and database.checks == 1  # the first answer waits

    now[0] += REFRESH_AFTER_SECONDS / 2
    assert await check.error() is None and database.checks == 1  # fresh: no query at all

    database.down = True
    database.release.clear()  # the refresh hangs (a busy pool)…
    now[0] += REFRESH_AFTER_SECONDS
    assert await check.error() is None  # …and the request is answered from the last check
    database.release.set()
    await _settled(check)
    assert database.checks == 2
    reason = await check.error()  # the refreshed answer
    assert reason is not None and "DATABASE_URL" in reason


async def test_with_no_recent_answer_the_request_waits_for_the_database(database: Database) -> None:
    now = [1_000.0]
    check = DatabaseCheck(clock=lambda: now[0])
    assert await check.error() is None
    database.down = True
    now[0] += MAX_AGE_SECONDS + 1
    reason = await check.error()
    assert reason is not None and database.checks == 2


async def test_requests_at_once_share_one_check(database: Database) -> None:
    check = DatabaseCheck()
    database.release.clear()
    waiting = [asyncio.create_task(check.error()) for _ in range(5)]
    await asyncio.sleep(0.05)
    database.release.set()
    assert await asyncio.gather(*waiting) == [None] * 5
    assert database.checks == 1
