"""`/api/realtime/calls`: the relay signalling endpoint (the browser's SDP offer in, the
provider's SDP answer out) and the end-of-call beacon.

Both need the login cookie. The offer must be sent as `application/sdp`, which a page
on another site cannot do without a CORS preflight (which this app never grants), and
the cookie is SameSite=Lax; a request whose Origin is another site is refused anyway.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fluentio.api.request_user import request_user
from fluentio.auth.cookies import SESSION_COOKIE, read_cookie
from fluentio.classroom import calls, errors
from fluentio.classroom.errors import CallRefused, RefusalCode
from fluentio.classroom.reasons import EndReason
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

_NO_STORE = {"Cache-Control": "no-store"}


def realtime_routes() -> list[Route]:
    return [
        Route("/api/realtime/calls", start_call, methods=["POST"]),
        Route("/api/realtime/calls/{session_id}/end", end_call, methods=["POST"]),
    ]


def refusal_response(refused: CallRefused) -> JSONResponse:
    return JSONResponse(refused.as_json(), status_code=refused.http_status, headers=_NO_STORE)


async def start_call(request: Request) -> Response:
    """POST /api/realtime/calls?level=B1&topic=small_talk&vocabulary=a,b&setup=speakers (body: SDP offer)."""
    try:
        _check_origin(request)
        # The login is looked up with the learner's balance, in the transaction that
        # opens the session (one database round fewer per start); without a cookie the
        # request is refused at once.
        token = read_cookie(request.headers.get("cookie"), SESSION_COOKIE)
        if not token:
            raise errors.not_signed_in()
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type != "application/sdp":
            raise CallRefused(
                RefusalCode.UNSUPPORTED_MEDIA_TYPE, "Send the connection offer as application/sdp.", 415
            )
        offer = await _read_limited(request, calls.MAX_SDP_BYTES)
        started = await calls.start_relay_call(
            login_token=token,
            offer_sdp=offer,
            level=request.query_params.get("level"),
            topic=request.query_params.get("topic"),
            vocabulary=request.query_params.get("vocabulary"),
            audio_setup=request.query_params.get("setup"),
        )
    except CallRefused as refused:
        return refusal_response(refused)
    return Response(
        started.answer_sdp,
        status_code=201,
        media_type="application/sdp",
        headers={
            **_NO_STORE,
            "Location": f"/api/realtime/calls/{started.session_id}",
            "X-Fluentio-Session": started.session_id,
            "X-Fluentio-Call": started.call_id,
        },
    )


async def end_call(request: Request) -> Response:
    """POST /api/realtime/calls/{session_id}/end — the End button or the page's
    `navigator.sendBeacon` when the tab is closed. 204 also when already ended."""
    try:
        _check_origin(request)
        user_id = await _signed_in_user_id(request)
        session_id = request.path_params["session_id"]
        try:
            uuid.UUID(session_id)
        except ValueError:
            raise errors.session_not_found() from None
        await calls.end_call(user_id=user_id, session_id=session_id, reason=EndReason.ENDED_BY_LEARNER)
    except CallRefused as refused:
        return refusal_response(refused)
    return Response(status_code=204, headers=_NO_STORE)


async def _signed_in_user_id(request: Request) -> uuid.UUID:
    user = await request_user(request)
    if user is None:
        raise errors.not_signed_in()
    return user.id


def _check_origin(request: Request) -> None:
    """Refuse a browser request sent from another site (its Origin is not ours)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return
    ours = {request.headers.get("host", "").lower(), urlsplit(get_settings().public_url).netloc.lower()}
    if urlsplit(origin).netloc.lower() not in ours:
        raise CallRefused(RefusalCode.FORBIDDEN, "This request must come from the Fluentio page.", 403)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) more than `limit` bytes without reading it all."""
    declared = request.headers.get("content-length")
    too_large = calls.offer_too_large()
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise too_large
    except ClientDisconnect:
        raise errors.bad_request("The connection offer did not arrive completely.") from None
    return bytes(body)
