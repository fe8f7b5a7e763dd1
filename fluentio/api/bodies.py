"""Reading a request body with a size cap, so an oversized upload is refused without
being read into memory first."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request


class BodyTooLargeError(Exception):
    """The body is (or declares itself) longer than the route accepts."""


class BodyIncompleteError(Exception):
    """The client went away before the whole body arrived."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or BodyTooLargeError as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError()
    body = bytearray()
    try:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise BodyTooLargeError()
    except ClientDisconnect:
        raise BodyIncompleteError() from None
    return bytes(body)
