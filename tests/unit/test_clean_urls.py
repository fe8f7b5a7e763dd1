"""Absurdly long paths are answered 404 before the file system sees them."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from fluentio.api.clean_urls import MAX_SEGMENT_LENGTH, CleanPageUrls


async def inner(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse(f"reached {Request(scope).url.path[:20]}")(scope, receive, send)


@pytest.mark.parametrize(
    "path", ["/" + "a" * (MAX_SEGMENT_LENGTH + 1), "/history/" + "é" * 200, "/x/" * 1000]
)
async def test_a_too_long_path_is_a_small_404(path: str) -> None:
    transport = httpx.ASGITransport(app=CleanPageUrls(inner))
    async with httpx.AsyncClient(transport=transport, base_url="http://fluentio.test") as client:
        answer = await client.get(path)
    assert answer.status_code == 404 and answer.text == "Page not found."


async def test_ordinary_paths_reach_the_app() -> None:
    transport = httpx.ASGITransport(app=CleanPageUrls(inner))
    async with httpx.AsyncClient(transport=transport, base_url="http://fluentio.test") as client:
        answer = await client.get("/api/invoices/" + "a" * 36)
    assert answer.status_code == 200 and answer.text.startswith("reached /api/invoices")
