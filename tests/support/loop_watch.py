"""Fail a test when Fluentio's code holds the event loop, two ways:

- database work on the loop: every SQL statement run on a thread with a running event
  loop, called from the app's async code (the classroom, the HTTP routes), is a failure,
  with the app's frames that ran it. Deterministic: it does not depend on the machine;
- long steps: asyncio's debug mode times every callback, and a step of one of our
  coroutines longer than `threshold` is a failure, with asyncio's own line naming it.

Only the app's own code counts: the test's set-up (which writes rows synchronously on
purpose) and the fake learner's WebRTC stack are not the app.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# "A few tens of milliseconds". Not lower: on a shared 2-core machine the loop's thread
# waits for the interpreter while database worker threads hold it, which alone stretches
# a step of well under a millisecond of work to tens of milliseconds now and then.
BLOCKING_THRESHOLD_SECONDS = 0.1
# Where the app's async paths live: their frames running SQL on the loop are the bug.
APP_ASYNC_PATHS = ("/fluentio/classroom/", "/fluentio/api/")


class _SlowSteps(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing") and "/fluentio/" in message:
            self.lines.append(message)


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
async def loop_must_not_block(threshold: float = BLOCKING_THRESHOLD_SECONDS) -> AsyncIterator[list[str]]:
    """Watch the running loop; on exit, fail if any of our steps blocked it."""
    loop = asyncio.get_running_loop()
    was_debug, was_threshold = loop.get_debug(), loop.slow_callback_duration
    handler = _SlowSteps()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(handler)
    listener = _sql_on_the_loop(handler.lines)
    sa.event.listen(Engine, "before_cursor_execute", listener)
    loop.set_debug(True)
    loop.slow_callback_duration = threshold
    try:
        yield handler.lines
    finally:
        loop.set_debug(was_debug)
        loop.slow_callback_duration = was_threshold
        asyncio_logger.removeHandler(handler)
        sa.event.remove(Engine, "before_cursor_execute", listener)
    assert not handler.lines, "the event loop was blocked:\n" + "\n".join(handler.lines)
