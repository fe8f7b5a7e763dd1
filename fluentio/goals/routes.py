"""`/api/goals/unsubscribe?token=…`: stop the weekly-goal reminders without signing in.

POST unsubscribes (what a mail client's one-click "Unsubscribe" sends, RFC 8058, and
what the page's button sends). GET shows that button rather than unsubscribing, because
mail scanners open links in emails on their own.
"""

from __future__ import annotations

import html

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from fluentio.db import session_scope
from fluentio.goals.reminders import unsubscribe, user_from_token

_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Fluentio</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;'
        'line-height:1.5">'
        f"<h1>{html.escape(title)}</h1>{body}"
        '<p><a href="/">Fluentio</a></p></body></html>',
        status_code=status,
        headers=_HEADERS,
    )


def _bad_link() -> HTMLResponse:
    return _page(
        "This link does not work",
        "<p>The unsubscribe link is incomplete or was changed. Open it again from the email, or "
        "turn reminders off on your History page.</p>",
        400,
    )


async def unsubscribe_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    if user_from_token(token) is None:
        return _bad_link()
    action = html.escape(f"{request.url.path}?{request.url.query}", quote=True)
    return _page(
        "Stop goal reminders?",
        "<p>You will no longer get an email when your weekly speaking goal is at risk.</p>"
        f'<form method="post" action="{action}"><button type="submit" '
        'style="padding:10px 18px;font-size:1rem">Unsubscribe</button></form>',
    )


async def unsubscribe_post(request: Request) -> Response:
    user_id = user_from_token(request.query_params.get("token", ""))
    if user_id is None:
        return _bad_link()

    def run() -> None:
        with session_scope() as session:
            unsubscribe(session=session, user_id=user_id)

    await run_in_threadpool(run)
    return _page(
        "You're unsubscribed",
        "<p>We won't send you goal reminders any more. You can turn them back on from your History page.</p>",
    )


def goal_routes() -> list[Route]:
    return [
        Route("/api/goals/unsubscribe", unsubscribe_page, methods=["GET"]),
        Route("/api/goals/unsubscribe", unsubscribe_post, methods=["POST"]),
    ]
