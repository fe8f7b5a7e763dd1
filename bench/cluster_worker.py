"""A worker process for the cluster benchmark: exactly what `python -m fluentio.cli worker`
runs (fluentio.worker_process.worker_parts), plus an event-loop lag probe.

    python -m bench.cluster_worker LAG_FILE

The probe sleeps 50 ms at a time on the worker's own loop and appends, once a second,
`<unix time> <overshoot ms>` lines to LAG_FILE: how late the loop woke up, which is how
late any supervisor's step (a sideband event, a meter tick, a lease renewal) would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

PROBE_EVERY = 0.05


def lag_probe(path: Path) -> Callable[[], AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def part() -> AsyncIterator[None]:
        async def probe() -> None:
            loop = asyncio.get_running_loop()
            pending: list[str] = []
            flushed = loop.time()
            with path.open("a") as out:
                while True:
                    before = loop.time()
                    await asyncio.sleep(PROBE_EVERY)
                    late = (loop.time() - before - PROBE_EVERY) * 1000
                    pending.append(f"{time.time():.3f} {max(0.0, late):.2f}\n")
                    if loop.time() - flushed >= 1.0:
                        out.writelines(pending)
                        out.flush()
                        pending.clear()
                        flushed = loop.time()

        task = asyncio.create_task(probe(), name="bench-lag-probe")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return part


def main(argv: list[str]) -> int:
    os.environ.setdefault("FLUENTIO_PROCESS_ROLE", "worker")
    from fluentio.logs import configure_logging
    from fluentio.worker_process import run_worker, worker_parts

    configure_logging()
    asyncio.run(run_worker([*worker_parts(), lag_probe(Path(argv[0]))]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
