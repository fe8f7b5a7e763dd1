"""The one place Fluentio builds OpenAI clients: the classroom, the analysis and "Hear it".

Building an `AsyncOpenAI` builds an HTTP client with its own SSL context (about 26 ms of
CPU). Built anew for every call start, sideband and hang-up, that was most of the event
loop's work when a class pressed Start together. So each event loop keeps one client per
endpoint and key, and callers take a copy with their own timeout and retries
(`with_options` shares the connection pool). Callers must not close what they get: the
pool lives as long as the event loop.
"""

from __future__ import annotations

import asyncio
import weakref

from openai import AsyncOpenAI

from fluentio.settings import Settings, get_settings

_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


def openai_client(*, timeout: float, max_retries: int = 0, settings: Settings | None = None) -> AsyncOpenAI:
    """A client on OPENAI_BASE_URL (or the simulator) with the server key.

    Call it from a coroutine: the client belongs to the running event loop.
    """
    settings = settings or get_settings()
    per_loop = _CLIENTS.setdefault(asyncio.get_running_loop(), {})
    endpoint = (settings.openai_url, settings.openai_key)
    client = per_loop.get(endpoint)
    if client is None:
        client = per_loop[endpoint] = _build(settings, timeout)
    return client.with_options(timeout=timeout, max_retries=max_retries)


async def openai_client_off_loop(
    *, request_timeout: float, max_retries: int = 0, settings: Settings | None = None
) -> AsyncOpenAI:
    """`openai_client`, except that the first client of this loop for an endpoint is
    built in a worker thread: a learner's start never waits on the loop for its SSL
    context."""
    settings = settings or get_settings()
    per_loop = _CLIENTS.setdefault(asyncio.get_running_loop(), {})
    endpoint = (settings.openai_url, settings.openai_key)
    if endpoint not in per_loop:
        built = await asyncio.to_thread(_build, settings, request_timeout)
        per_loop.setdefault(endpoint, built)
    return openai_client(timeout=request_timeout, max_retries=max_retries, settings=settings)


def _build(settings: Settings, timeout: float) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=settings.openai_url, api_key=settings.openai_key, max_retries=0, timeout=timeout
    )
