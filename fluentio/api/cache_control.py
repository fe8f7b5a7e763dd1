"""Cache-Control for everything the server sends that does not set its own.

- Hashed build files (`/assets/name-3fA9x_Qk.js`): a new build means new names, so they
  are cached for a year and never revalidated (`immutable`).
- HTML: `no-cache` — a browser may keep a copy but must ask first, so nobody keeps a
  stale app shell that points at files of an older build.
- Other static files (icons, the manifest, the service worker): revalidated too, as
  their names do not change between builds.

A route that sets Cache-Control itself (speech clips, downloads, the public pages) is
left alone.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_HASHED_ASSET = re.compile(r"^/assets/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$")


def cache_control_for(path: str, status: int, content_type: str) -> str | None:
    if status != 200:
        return None
    if _HASHED_ASSET.match(path):
        return IMMUTABLE
    if content_type.startswith("text/html") or "." in path.rsplit("/", 1)[-1]:
        return REVALIDATE
    return None


class CacheControl:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    value = cache_control_for(path, message["status"], headers.get("content-type", ""))
                    if value is not None:
                        headers["Cache-Control"] = value
            await send(message)

        await self.app(scope, receive, send_with_cache_control)
