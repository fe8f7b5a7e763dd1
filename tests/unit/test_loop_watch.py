"""The event-loop watch used by the classroom's integration tests catches a blocking step
of the app's code, and only of the app's code."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.loop_watch import loop_must_not_block


def busy(seconds: float) -> None:
    """Use `seconds` of this thread's CPU."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def coroutine_in(filename: str, block: Any = busy, seconds: float = 0.15) -> Any:
    """An `async def` whose frames say they live in `filename`, and that blocks `seconds`."""
    namespace: dict[str, Any] = {"block": block, "seconds": seconds}
    source = "async def blocking_step():\n    block(seconds)\n"
    exec(compile(source, filename, "exec"), namespace)
    return namespace["blocking_step"]


async def test_a_busy_step_of_the_app_fails() -> None:
    with pytest.raises(AssertionError, match=r"blocking_step\(\).*/srv/fluentio/classroom/x\.py.*used 0\.1"):
        async with loop_must_not_block():
            await asyncio.create_task(coroutine_in("/srv/fluentio/classroom/x.py")())


async def test_a_step_of_the_app_that_sleeps_on_the_loop_fails() -> None:
    with pytest.raises(AssertionError, match="the event loop was blocked"):
        async with loop_must_not_block(wait_threshold=0.2):
            await asyncio.create_task(coroutine_in("/srv/fluentio/classroom/x.py", time.sleep, 0.3)())


async def test_a_step_that_waits_for_the_interpreter_is_not_blocking() -> None:
    """Another thread holding the interpreter stretches a cheap step on the wall clock:
    that is the machine being busy, not the app holding the loop. Each step here lets the
    interpreter go once (as a socket write does) and, with a switch interval of 0.2 s,
    waits up to that long to get it back from a thread that computes."""

    def let_the_interpreter_go(_seconds: float) -> None:
        time.sleep(0)

    holder = threading.Thread(target=busy, args=(1.0,))
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.2)
    try:
        async with loop_must_not_block(wait_threshold=5.0) as slow:
            holder.start()
            started = time.perf_counter()
            for _ in range(5):
                await asyncio.create_task(
                    coroutine_in("/srv/fluentio/classroom/x.py", let_the_interpreter_go)()
                )
            stretched = time.perf_counter() - started
            await asyncio.to_thread(holder.join)
    finally:
        sys.setswitchinterval(interval)
    assert stretched >= 0.1  # the steps did wait on the wall clock...
    assert slow == []  # ...and that is not the app's fault


async def test_watching_ends_with_the_watch() -> None:
    async with loop_must_not_block():
        pass
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
