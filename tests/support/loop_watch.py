"""Fail a test when Fluentio's code holds the event loop: asyncio's debug mode times
every callback, and a step of one of our coroutines (a use case, a route, a call's
supervisor) that runs longer than `threshold` is a failure, with asyncio's own line
naming the coroutine and where it was.

Only steps of coroutines in `fluentio/` count: the test's own set-up (which writes rows
synchronously) and the fake learner's WebRTC stack are not the app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# "A few tens of milliseconds": one database round trip on the loop, times a class of
# learners, is what made /healthz wait seconds in the start burst.
BLOCKING_THRESHOLD_SECONDS = 0.05


class _SlowSteps(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing") and "/fluentio/" in message:
            self.lines.append(message)


@asynccontextmanager
async def loop_must_not_block(threshold: float = BLOCKING_THRESHOLD_SECONDS) -> AsyncIterator[list[str]]:
    """Watch the running loop; on exit, fail if any of our steps blocked it."""
    loop = asyncio.get_running_loop()
    was_debug, was_threshold = loop.get_debug(), loop.slow_callback_duration
    handler = _SlowSteps()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(handler)
    loop.set_debug(True)
    loop.slow_callback_duration = threshold
    try:
        yield handler.lines
    finally:
        loop.set_debug(was_debug)
        loop.slow_callback_duration = was_threshold
        asyncio_logger.removeHandler(handler)
    assert not handler.lines, "the event loop was blocked:\n" + "\n".join(handler.lines)
