"""`GET /robots.txt`: crawl everything public, keep out of the app and the API.

Served from a route rather than a static file because the `Sitemap:` line must be an
absolute URL, and that depends on FLUENTIO_PUBLIC_URL at run time.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse

from fluentio.settings import get_settings

# Signed-in parts of the app: nothing there for a search engine, and crawling them
# would only produce redirects to the login page.
DISALLOWED = ["/api/", "/classroom", "/history", "/account", "/admin"]


def robots_txt_body(public_url: str) -> str:
    lines = ["User-agent: *", "Allow: /", *[f"Disallow: {path}" for path in DISALLOWED]]
    return "\n".join([*lines, "", f"Sitemap: {public_url}/sitemap.xml", ""])


async def robots_txt(_request: Request) -> PlainTextResponse:
    return PlainTextResponse(
        robots_txt_body(get_settings().public_url),
        headers={"Cache-Control": "public, max-age=3600"},
    )
