"""A job worker process for the tests: `python -m tests.support.job_worker` enters
`fluentio.jobs.worker_lifespan()` until SIGTERM or SIGINT, configured by the environment
like any Fluentio process (what the `worker` process type does)."""

from __future__ import annotations

import asyncio
import signal

from fluentio.jobs import worker_lifespan
from fluentio.logs import configure_logging


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with worker_lifespan():
        print("job worker ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    configure_logging()
    asyncio.run(main())
