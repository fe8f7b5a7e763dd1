"""The worker process: `python -m fluentio.cli worker` (FLUENTIO_PROCESS_ROLE=worker).

A plain asyncio process, no Reflex: it enters a list of async context managers (the
parts of the product that run in workers: call supervision and the background job
engine's worker), runs until SIGTERM or SIGINT, then leaves them in reverse order,
which is the graceful shutdown (call supervision hands its calls to another worker).
Each part is a zero-argument callable returning an async context manager, so the parts
can be listed before anything starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from fluentio.classroom.ownership import call_supervision
from fluentio.db import database_threads
from fluentio.jobs import worker_lifespan
from fluentio.logs import configure_logging

logger = logging.getLogger(__name__)

WorkerPart = Callable[[], AbstractAsyncContextManager[None]]


def worker_parts() -> list[WorkerPart]:
    """What a worker runs, in start order (stopped in reverse)."""
    return [database_threads, call_supervision, worker_lifespan]


async def run_worker(parts: Sequence[WorkerPart] | None = None, *, stop: asyncio.Event | None = None) -> None:
    """Enter every part, wait for SIGTERM/SIGINT (or `stop`), then leave them."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        for part in parts if parts is not None else worker_parts():
            await stack.enter_async_context(part())
        logger.info("worker ready (pid %s)", os.getpid())
        await stop.wait()
        logger.info("worker stopping (pid %s)", os.getpid())
    logger.info("worker stopped (pid %s)", os.getpid())


def main() -> int:
    configure_logging()
    asyncio.run(run_worker())
    return 0
