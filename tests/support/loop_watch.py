"""Fail a test when Fluentio's code holds the event loop, three ways:

- database work on the loop: every SQL statement run on a thread with a running event
  loop, called from the app's async code (the classroom, the HTTP routes), is a failure,
  with the app's frames that ran it. Deterministic: it does not depend on the machine;
- busy steps: a step of one of our coroutines (or a callback of ours) that used more than
  `threshold` of the loop thread's CPU. CPU time, not time on the wall clock: on a shared
  2-core machine the loop's thread waits for the interpreter while database threads or
  the fake learner's WebRTC stack hold it, which alone stretched a step of a few
  milliseconds of work to 0.36 s in CI. Waiting for the interpreter costs no CPU;
- waiting steps: a step of ours that took more than `wait_threshold` on the wall clock
  without using the CPU (a `time.sleep`, a blocking socket or file call). That bound is
  generous for the same reason, so a step that waits briefly is only caught by the SQL
  check, when what it waits on is the database.

Only the app's own code counts: the test's set-up (which writes rows synchronously on
purpose) and the fake learner's WebRTC stack are not the app.
"""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# "A few tens of milliseconds" of work; any step of ours should use far less.
BLOCKING_THRESHOLD_SECONDS = 0.1
# A step that waits this long on the wall clock while using no CPU is blocked on something.
WAITING_THRESHOLD_SECONDS = 1.0
# Where the app's code lives: a step running it counts.
APP_PATHS = ("/fluentio/",)
# Where the app's async paths live: their frames running SQL on the loop are the bug.
APP_ASYNC_PATHS = ("/fluentio/classroom/", "/fluentio/api/")


def _describe(handle: asyncio.Handle) -> str:
    """What asyncio's own slow-callback warning would name: the task and the line it is at."""
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    return repr(owner) if isinstance(owner, asyncio.Task) else repr(handle)


def _timed_steps(loop_thread: int, busy: float, waiting: float, lines: list[str]) -> Callable[..., Any]:
    """A replacement for `Handle._run` that times each step of the watched loop."""
    original = asyncio.events.Handle._run

    def run(handle: asyncio.Handle) -> None:
        if threading.get_ident() != loop_thread:
            original(handle)
            return
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            original(handle)
        finally:
            cpu = time.thread_time() - cpu
            wall = time.perf_counter() - wall
            if cpu >= busy or wall >= waiting:
                description = _describe(handle)
                if any(path in description for path in APP_PATHS):
                    lines.append(f"Executing {description} used {cpu:.3f} s of CPU in {wall:.3f} s")

    return run


def _sql_on_the_loop(lines: list[str]) -> Any:
    loop_thread = threading.get_ident()

    def before_execute(*_args: Any) -> None:
        if threading.get_ident() != loop_thread:
            return
        app_frames = [
            f"{frame.filename}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_stack()
            if any(path in frame.filename for path in APP_ASYNC_PATHS)
        ]
        if app_frames:
            lines.append("SQL on the event loop from " + " <- ".join(reversed(app_frames)))

    return before_execute


@asynccontextmanager
async def loop_must_not_block(
    threshold: float = BLOCKING_THRESHOLD_SECONDS, wait_threshold: float = WAITING_THRESHOLD_SECONDS
) -> AsyncIterator[list[str]]:
    """Watch the running loop; on exit, fail if any of our steps blocked it."""
    lines: list[str] = []
    original_run = asyncio.events.Handle._run
    asyncio.events.Handle._run = _timed_steps(  # type: ignore[method-assign]
        threading.get_ident(), threshold, wait_threshold, lines
    )
    listener = _sql_on_the_loop(lines)
    sa.event.listen(Engine, "before_cursor_execute", listener)
    try:
        yield lines
    finally:
        asyncio.events.Handle._run = original_run  # type: ignore[method-assign]
        sa.event.remove(Engine, "before_cursor_execute", listener)
    assert not lines, "the event loop was blocked:\n" + "\n".join(lines)
