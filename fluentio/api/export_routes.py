"""`GET /api/account/export`: the signed-in learner's "Download my data" archive.

The user comes only from the session cookie, so there is nothing to ask for but your
own data; a visitor without a live session is sent to log in and gets no bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from fluentio.api.request_user import request_user
from fluentio.db import session_scope
from fluentio.models.base import utcnow
from fluentio.privacy.export import NoSuchAccountError, archive_name, stream_archive

EXPORT_PATH = "/api/account/export"
LOGIN_FIRST = "/login?next=/account"
NO_STORE = {"Cache-Control": "no-store"}


def _open_archive(user_id: uuid.UUID) -> tuple[str, Iterator[bytes]] | None:
    """The archive's file name and bytes, with a database session held open until the
    last chunk is sent (or the download is abandoned)."""
    now = utcnow()
    stack = ExitStack()
    session = stack.enter_context(session_scope())
    try:
        chunks = stream_archive(session, user_id=user_id, now=now)
    except NoSuchAccountError:
        stack.close()
        return None

    def sent_then_closed() -> Iterator[bytes]:
        with stack:
            yield from chunks

    return archive_name(now), sent_then_closed()


async def download_my_data(request: Request) -> Response:
    user = await request_user(request)
    opened = await run_in_threadpool(_open_archive, user.id) if user is not None else None
    if opened is None:
        return RedirectResponse(LOGIN_FIRST, status_code=303, headers=NO_STORE)
    filename, chunks = opened
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Cookie"},
    )
