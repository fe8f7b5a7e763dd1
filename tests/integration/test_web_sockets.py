"""With several web workers, a page whose worker died keeps its Reflex token (and so its
state); a really duplicated tab still gets a new one. Real Redis (a spare database)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from reflex.utils import token_manager

from fluentio import web_sockets
from tests.support.cluster import RedisUnavailableError, spare_redis_url


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    try:
        url = spare_redis_url()
    except RedisUnavailableError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield url
    client = aioredis.Redis.from_url(url)
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def managers(monkeypatch: pytest.MonkeyPatch) -> Any:
    # Restored after the test: the swap is the web process's, not the test run's.
    monkeypatch.setattr(token_manager, "RedisTokenManager", token_manager.RedisTokenManager)
    web_sockets.install()
    return token_manager.RedisTokenManager


async def _kill(manager: Any) -> None:
    """What kill -9 does to a web worker: its tasks stop, its records stay in Redis."""
    tasks = [
        manager._fluentio_beat,
        manager._socket_record_task,
        getattr(manager, "_lost_and_found_task", None),
    ]
    for task in tasks:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _owner(client: Any, manager: Any, token: str) -> str:
    import pickle

    raw = await client.get(manager._get_redis_key(token))
    return str(pickle.loads(raw).instance_id)


async def test_a_page_on_a_dead_web_worker_keeps_its_token(redis_url: str, managers: Any) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(3)]
    dead, live = managers(clients[0]), managers(clients[1])
    token = str(uuid.uuid4())
    try:
        assert await dead.link_token_to_sid(token, "sid-on-dead") is None
        await asyncio.sleep(0.2)
        await _kill(dead)
        # The page reconnects at once, to the other worker: same token, now owned there.
        assert await live.link_token_to_sid(token, "sid-on-live") is None
        assert await _owner(clients[2], live, token) == live.instance_id
    finally:
        await _kill(live)
        for client in clients:
            await client.aclose()


async def test_a_duplicated_tab_on_a_live_worker_gets_a_new_token(redis_url: str, managers: Any) -> None:
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(3)]
    first, second = managers(clients[0]), managers(clients[1])
    token = str(uuid.uuid4())
    try:
        assert await first.link_token_to_sid(token, "sid-tab-1") is None
        await asyncio.sleep(0.2)
        new_token = await second.link_token_to_sid(token, "sid-tab-2")
        assert new_token is not None and new_token != token
        assert await _owner(clients[2], first, token) == first.instance_id
    finally:
        await _kill(first)
        await _kill(second)
        for client in clients:
            await client.aclose()
