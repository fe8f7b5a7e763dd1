"""`GET /healthz`: 200 when the database answers, 503 with the reason when it does not.

A platform's health check must get its answer at once even while a class presses Start
together and every database thread is busy: a check that queued behind them would get
the app restarted in the middle of the lessons. So the `SELECT 1` runs on a thread of its
own, one at a time, and an answer is reused for `MAX_AGE_SECONDS`; once it is older than
`REFRESH_AFTER_SECONDS` the next request starts a fresh check in the background and is
answered from the last one. Only when there is no answer younger than `MAX_AGE_SECONDS`
(the first check, or no traffic for a while) does a request wait for the database.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from fluentio.db import DatabaseUnavailableError, check_database, engine_for
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5.0
REFRESH_AFTER_SECONDS = 1.0
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class _Checked:
    at: float  # time.monotonic()
    error: str | None  # None: the database answered


class DatabaseCheck:
    """The last `SELECT 1` per DATABASE_URL, and at most one check running at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, _Checked] = {}
        self._running: dict[str, Future[_Checked]] = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fluentio-health")

    async def error(self) -> str | None:
        """None when the database answers, else the reason (a line safe to show)."""
        url = get_settings().database_url
        last = self._last.get(url)
        age = None if last is None else self._clock() - last.at
        if last is not None and age is not None and age < MAX_AGE_SECONDS:
            if age >= REFRESH_AFTER_SECONDS:
                self._check(url)
            return last.error
        return (await asyncio.wrap_future(self._check(url))).error

    def _check(self, url: str) -> Future[_Checked]:
        with self._lock:
            running = self._running.get(url)
            if running is None or running.done():
                running = self._running[url] = self._thread.submit(self._select_one, url)
            return running

    def _select_one(self, url: str) -> _Checked:
        try:
            check_database(engine_for(url))
            checked = _Checked(self._clock(), None)
        except DatabaseUnavailableError as exc:
            logger.warning("health check failed: %s", exc)
            checked = _Checked(self._clock(), str(exc))
        self._last[url] = checked
        return checked


_DATABASE = DatabaseCheck()


async def healthz(_request: Request) -> JSONResponse:
    error = await _DATABASE.error()
    if error is not None:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "reason": error},
            status_code=503,
            headers=_NO_STORE,
        )
    return JSONResponse({"status": "ok", "database": "ok"}, headers=_NO_STORE)
