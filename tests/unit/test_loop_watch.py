"""The event-loop watch used by the classroom's integration tests catches a blocking step
of the app's code, and only of the app's code."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.loop_watch import loop_must_not_block


def coroutine_in(filename: str) -> Any:
    """An `async def` whose frames say they live in `filename`, and that blocks 0.15 s."""
    namespace: dict[str, Any] = {"time": time}
    source = "async def blocking_step():\n    time.sleep(0.15)\n"
    exec(compile(source, filename, "exec"), namespace)
    return namespace["blocking_step"]


async def test_a_blocking_step_of_the_app_fails() -> None:
    with pytest.raises(AssertionError, match="the event loop was blocked"):
        async with loop_must_not_block():
            await asyncio.create_task(coroutine_in("/srv/fluentio/classroom/x.py")())


async def test_the_same_work_off_the_loop_passes() -> None:
    async with loop_must_not_block() as slow:
        await asyncio.to_thread(time.sleep, 0.15)
    assert slow == []


async def test_blocking_outside_the_app_is_not_its_fault() -> None:
    async with loop_must_not_block() as slow:
        await asyncio.create_task(coroutine_in("/srv/tests/support/x.py")())
    assert slow == []


def sql_in(filename: str) -> Any:
    """A function whose frames say they live in `filename`, and that runs one query."""
    namespace: dict[str, Any] = {"sa": sa}
    source = "def query(engine):\n    with engine.connect() as c:\n        c.execute(sa.text('select 1'))\n"
    exec(compile(source, filename, "exec"), namespace)
    return namespace["query"]


async def test_sql_run_on_the_loop_by_the_app_fails(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    with pytest.raises(AssertionError, match=r"SQL on the event loop from /srv/fluentio/classroom/x\.py"):
        async with loop_must_not_block():
            sql_in("/srv/fluentio/classroom/x.py")(engine)


async def test_the_same_sql_in_a_worker_thread_passes(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    async with loop_must_not_block() as slow:
        await asyncio.to_thread(sql_in("/srv/fluentio/classroom/x.py"), engine)
        sql_in("/srv/tests/support/x.py")(engine)  # the test's own set-up
    assert slow == []
