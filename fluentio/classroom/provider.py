"""The classroom's calls to the Realtime API that are not the sideband: the client and
the hang-up. The client comes from the one factory (fluentio/openai_client.py)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import openai
from openai import AsyncOpenAI

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
