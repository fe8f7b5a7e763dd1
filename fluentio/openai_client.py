"""The one place Fluentio builds OpenAI clients: the classroom, the analysis and "Hear it".

Building an `AsyncOpenAI` builds an HTTP client with its own SSL context (about 26 ms of
CPU). Built anew for every call start, sideband and hang-up, that was most of the event
loop's work when a class pressed Start together. So the SSL context is built once per
process and shared, each event loop keeps one client per endpoint and key, and callers
take a copy with their own timeout and retries (`with_options` shares the connection
pool). Callers must not close what they get: the pool lives as long as the event loop.
"""

from __future__ import annotations

import asyncio
import weakref

import httpx
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

from fluentio.settings import Settings, get_settings

# Loading the trusted certificates is the costly part of a client (tens of ms of CPU that
# hold the interpreter): done once, when the app is imported, and shared by every client
# (the same trust httpx would load: certifi, or SSL_CERT_FILE / SSL_CERT_DIR).
_TLS_CONTEXT = httpx.create_ssl_context()

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


def _build(settings: Settings, timeout: float) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=settings.openai_url,
        api_key=settings.openai_key,
        max_retries=0,
        timeout=timeout,
        http_client=DefaultAsyncHttpxClient(verify=_TLS_CONTEXT),
    )
