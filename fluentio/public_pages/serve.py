"""ASGI middleware that answers GET/HEAD of the public pages with their lean HTML.

A lean page is made once per build (the prerendered file's modification time is part of
the key) and then costs one session look-up per request. Answers are `private,
no-cache` and vary on the cookie: the header differs for a signed-in learner, and a
browser must never reuse a shell from an older build.
"""

from __future__ import annotations

import gzip
import threading
from functools import lru_cache
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fluentio.api.clean_urls import _static_dir
from fluentio.api.request_user import request_user
from fluentio.public_pages.purge import used_css
from fluentio.public_pages.render import NotPrerenderedError, for_visitor, stylesheet_path, without_app

PUBLIC_PAGES = {
    "/": "index.html",
    "/pricing": "pricing/index.html",
    "/faq": "faq/index.html",
    "/about": "about/index.html",
}
PAGE_CACHE_CONTROL = "private, no-cache"
_building = threading.Lock()


@lru_cache(maxsize=16)
def _lean_page(path: Path, _mtime_ns: int) -> str:
    html = path.read_text()
    try:
        css_file = _static_dir() / stylesheet_path(html).lstrip("/")
    except NotPrerenderedError:
        return html
    return without_app(html, css=used_css(css_file, html))


def lean_page(route: str) -> str | None:
    path = _static_dir() / PUBLIC_PAGES[route]
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    with _building:
        return _lean_page(path, mtime)


class PublicPages:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (scope["path"].rstrip("/") or "/") if scope["type"] == "http" else None
        if route not in PUBLIC_PAGES or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        lean = await run_in_threadpool(lean_page, route)
        if lean is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        html = for_visitor(lean, signed_in=await request_user(request) is not None).encode()
        headers = {"Cache-Control": PAGE_CACHE_CONTROL, "Vary": "Cookie, Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            html = gzip.compress(html, compresslevel=6)
            headers["Content-Encoding"] = "gzip"
        await Response(html, media_type="text/html", headers=headers)(scope, receive, send)
