"""The classroom's calls to the Realtime API that are not the sideband: the client and
the hang-up. The client comes from the one factory (fluentio/openai_client.py)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import lru_cache
from typing import cast

import httpx
import openai
from openai import AsyncOpenAI
from openai.types.websocket_connection_options import WebSocketConnectionOptions
from websockets.uri import get_proxy, parse_uri

from fluentio.models.base import utcnow
from fluentio.openai_client import openai_client
from fluentio.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def provider_client(*, request_timeout: float | None = None, settings: Settings | None = None) -> AsyncOpenAI:
    """The shared client with FLUENTIO_PROVIDER_TIMEOUT_SECONDS (or `request_timeout`).

    No automatic retries: a failed start must answer quickly and honestly.
    """
    settings = settings or get_settings()
    return openai_client(
        timeout=settings.provider_timeout_seconds if request_timeout is None else request_timeout,
        settings=settings,
    )


def sideband_options(settings: Settings | None = None) -> WebSocketConnectionOptions:
    """Options for the sideband WebSocket: the proxy, looked up once per provider URL.

    Left to itself, websockets looks the proxy up on every connect by reading the whole
    environment (about a millisecond of CPU on the event loop per call, every learner of
    a class pressing Start at once). The answer is the same each time, so it is kept.
    """
    settings = settings or get_settings()
    return cast(WebSocketConnectionOptions, {"proxy": _sideband_proxy(settings.openai_url)})


@lru_cache(maxsize=8)
def _sideband_proxy(base_url: str) -> str | None:
    url = httpx.URL(base_url)
    scheme = "wss" if url.scheme == "https" else "ws"
    return get_proxy(parse_uri(str(url.copy_with(scheme=scheme))))


async def hangup(call_id: str, *, wait_seconds: float | None = None) -> bool:
    """Hang up a call at the provider. True once the provider says it is gone (or was)."""
    try:
        client = provider_client(request_timeout=wait_seconds)
        await client.realtime.calls.hangup(call_id)
    except openai.NotFoundError:
        return True
    except openai.OpenAIError as exc:
        logger.warning("hangup of call %s failed: %s", call_id, type(exc).__name__)
        return False
    return True


async def hangup_acknowledged_at(call_id: str, *, wait_seconds: float | None = None) -> datetime | None:
    """Hang up a call; the moment the provider acknowledged it, on our clock (None: it
    did not). The charge runs to it (README, "Calls on the server"): never later than
    the provider's end as we can see it; a provider slow to answer is waited for."""
    if not await hangup(call_id, wait_seconds=wait_seconds):
        return None
    return utcnow()


_BACKGROUND: set[asyncio.Task[bool]] = set()


def spawn_hangup(call_id: str) -> None:
    """Hang up in the background, from code that cannot wait for it."""
    task = asyncio.get_running_loop().create_task(hangup(call_id))
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
