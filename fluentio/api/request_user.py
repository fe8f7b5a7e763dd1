"""Who is signed in, for plain HTTP routes: the session cookie resolved on the server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from starlette.requests import Request

from fluentio.auth.cookies import SESSION_COOKIE, read_cookie
from fluentio.auth.roles import is_admin
from fluentio.auth.sessions import resolve_login_session
from fluentio.db import off_loop, session_scope


@dataclass(frozen=True)
class RequestUser:
    id: uuid.UUID
    is_admin: bool


def _resolve(token: str) -> RequestUser | None:
    with session_scope() as session:
        found = resolve_login_session(session=session, token=token)
        return RequestUser(found[0].id, is_admin(found[0])) if found is not None else None


async def request_user(request: Request) -> RequestUser | None:
    """The live user behind the request's session cookie, or None (no, expired or
    revoked session). The database lookup runs off the event loop."""
    token = read_cookie(request.headers.get("cookie"), SESSION_COOKIE)
    if not token:
        return None
    return await off_loop(_resolve, token)
