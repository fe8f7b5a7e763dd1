"""Which process supervises which live call (work in progress)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fluentio.classroom.recovery import classroom_lifespan


@asynccontextmanager
async def call_supervision() -> AsyncIterator[None]:
    async with classroom_lifespan():
        yield
