"""`GET /healthz`: 200 when the database answers, 503 with the reason when it does not."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from fluentio.db import DatabaseUnavailableError, check_database

logger = logging.getLogger(__name__)


async def healthz(_request: Request) -> JSONResponse:
    try:
        await run_in_threadpool(check_database)
    except DatabaseUnavailableError as exc:
        logger.warning("health check failed: %s", exc)
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "reason": str(exc)},
            status_code=503,
            headers={"Cache-Control": "no-store"},
        )
    return JSONResponse({"status": "ok", "database": "ok"}, headers={"Cache-Control": "no-store"})
