"""One OpenAI HTTP client per event loop and endpoint (fluentio/openai_client.py)."""

from __future__ import annotations

import asyncio

import pytest

from fluentio.openai_client import openai_client
from fluentio.settings import get_settings


async def test_calls_on_one_loop_share_one_connection_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()
    start = openai_client(timeout=10)
    hangup = openai_client(timeout=2, max_retries=1)
    assert start._client is hangup._client  # the httpx pool (and its SSL context) is built once
    assert (start.timeout, start.max_retries) == (10, 0)
    assert (hangup.timeout, hangup.max_retries) == (2, 1)

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:10/v1")
    get_settings.cache_clear()
    elsewhere = openai_client(timeout=10)
    assert elsewhere._client is not start._client
    assert str(elsewhere.base_url).startswith("http://127.0.0.1:10/v1")


def test_each_event_loop_gets_its_own_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    get_settings.cache_clear()

    async def pool() -> object:
        return openai_client(timeout=5)._client

    assert asyncio.run(pool()) is not asyncio.run(pool())
