"""Serve prerendered pages at their clean URL (`/pricing`) with 200, not a redirect, and
answer absurdly long paths with a plain 404.

Reflex's production build writes each page twice, as `pricing.html` and
`pricing/index.html`, and serves the build with Starlette's StaticFiles. For `/pricing`
StaticFiles finds the directory first and answers 307 → `/pricing/`, so every
canonical link, sitemap entry and in-app link would point at a redirect. This middleware
hands such requests to StaticFiles as `/pricing/`, which serves the same prerendered
file directly; the browser's address stays `/pricing`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


@lru_cache(maxsize=1)
def _static_dir() -> Path:
    # Imported late: the web directory is only known once Reflex has loaded its config.
    from reflex.utils import prerequisites
    from reflex_base import constants
    from reflex_base.config import get_config

    return prerequisites.get_web_dir() / constants.Dirs.STATIC / get_config().frontend_path.strip("/")


# No page, file or route of ours is this long. Longer paths are answered 404 here, before
# the file system sees them: a name over the OS limit (255 bytes) made the static file
# lookup raise, a 500 with a large traceback per request.
MAX_PATH_LENGTH = 2048
MAX_SEGMENT_LENGTH = 255


def _too_long(path: str) -> bool:
    return len(path) > MAX_PATH_LENGTH or any(len(s.encode()) > MAX_SEGMENT_LENGTH for s in path.split("/"))


@lru_cache(maxsize=1024)
def _is_prerendered_page(path: str) -> bool:
    relative = path.strip("/")
    if not relative or "." in relative.rsplit("/", 1)[-1] or ".." in relative.split("/"):
        return False
    return (_static_dir() / relative / "index.html").is_file()


class CleanPageUrls:
    """ASGI middleware: `/pricing` is answered like `/pricing/`, without a redirect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _too_long(scope["path"]):
            await PlainTextResponse("Page not found.", status_code=404)(scope, receive, send)
            return
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and not scope["path"].endswith("/")
            and _is_prerendered_page(scope["path"])
        ):
            path = scope["path"] + "/"
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
