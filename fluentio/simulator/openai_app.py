"""The local stand-in for the OpenAI endpoints Fluentio uses, as one Starlette app.

Mounted at /sim/openai when no OPENAI_API_KEY is set (so the SDK's base URL is
`{FLUENTIO_PUBLIC_URL}/sim/openai/v1`), or run alone with `python -m fluentio.simulator`.

Realtime (this module):
- `POST /v1/realtime/client_secrets` (server key) → `{value: "ek_…", expires_at, session}`
- `POST /v1/realtime/calls`: `application/sdp` with an ephemeral key (the session comes
  from the secret), or multipart `sdp` + `session` with the server key (what
  `AsyncOpenAI().realtime.calls.create` sends) → 201, answer SDP, `Location` with the id
- `POST /v1/realtime/calls/{call_id}/hangup` (server key)
- WebSocket `/v1/realtime?call_id=…` (server key): the sideband, what
  `AsyncOpenAI().realtime.connect(call_id=…)` opens
- `GET /v1/_debug/calls` and `/v1/_debug/calls/{call_id}/events` (server key; mounted
  only when FLUENTIO_ENV=test): every server event sent and client event received, with
  its validation result — learner transcripts and tutor instructions, so never in a
  running app

It answers only the app that started it: the server key is random per process (see
`Settings.openai_key`), an ephemeral secret opens one call and is then spent, and
browsers may call it only from FLUENTIO_PUBLIC_URL's origin.

Other OpenAI endpoints live in their own modules, each exposing `routes` (a list of
Starlette routes with full `/v1/…` paths); EXTRA_ROUTE_MODULES lists the ones included.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fluentio.settings import get_settings
from fluentio.simulator import session as sessions
from fluentio.simulator.auth import bearer_token, is_server_key, server_key_error, unauthorized
from fluentio.simulator.call import Call
from fluentio.simulator.script import tutor_lines
from fluentio.simulator.session import openai_error

logger = logging.getLogger("fluentio.simulator")

# Modules that add endpoints (e.g. /v1/responses, /v1/audio/speech); missing ones are skipped.
EXTRA_ROUTE_MODULES: tuple[str, ...] = ("fluentio.simulator.responses", "fluentio.simulator.speech")

ENDED_CALLS_KEPT = 100
DEFAULT_SECRET_SECONDS = 600


@dataclass
class ClientSecret:
    value: str
    expires_at: int
    session: dict[str, Any]


class RealtimeSimulator:
    """The calls and client secrets of one simulator app."""

    def __init__(self) -> None:
        self.calls: OrderedDict[str, Call] = OrderedDict()
        self.secrets: dict[str, ClientSecret] = {}

    def mint_secret(self, session: dict[str, Any], seconds: int) -> ClientSecret:
        now = int(time.time())
        self.secrets = {k: s for k, s in self.secrets.items() if s.expires_at > now}
        value = "ek_" + secrets.token_hex(16)
        secret = ClientSecret(
            value=value, expires_at=now + seconds, session={**session, "expires_at": now + seconds}
        )
        self.secrets[value] = secret
        return secret

    def new_call(self, session: dict[str, Any]) -> Call:
        call = Call(call_id="rtc_" + secrets.token_hex(16), session=session, on_end=self._ended)
        self.calls[call.id] = call
        return call

    async def end_all_calls(self, reason: str = "server_shutdown") -> None:
        """Close every live call, its sidebands and its peer connection, in this process
        (at shutdown the app's own HTTP listener may no longer answer a hang-up)."""
        live = [call for call in self.calls.values() if not call.ended]
        await asyncio.gather(*(call.end(reason) for call in live), return_exceptions=True)

    def _ended(self, call: Call) -> None:
        ended = [c for c in self.calls.values() if c.ended]
        for old in ended[: max(0, len(ended) - ENDED_CALLS_KEPT)]:
            self.calls.pop(old.id, None)


def _bad_request(
    message: str, *, code: str | None = None, param: str | None = None, status: int = 400
) -> JSONResponse:
    return JSONResponse(openai_error(message, code=code, param=param), status_code=status)


def _looks_like_sdp_offer(sdp: str) -> bool:
    return (
        sdp.lstrip().startswith("v=0") and "\nm=" in sdp and "a=ice-ufrag" in sdp and "a=fingerprint" in sdp
    )


async def _json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def build_openai_simulator() -> Starlette:
    """The simulator app, with its own calls and secrets."""
    sim = RealtimeSimulator()

    async def client_secrets(request: Request) -> Response:
        body = await _json_body(request)
        if (denied := server_key_error(request)) is not None:
            return denied
        if body is None:
            return _bad_request("We could not parse the JSON body of your request.", code="invalid_json")
        expires_after = body.get("expires_after") or {}
        seconds = expires_after.get("seconds", DEFAULT_SECRET_SECONDS)
        if not isinstance(seconds, int) or not 10 <= seconds <= 7200:
            return _bad_request(
                "expires_after.seconds must be between 10 and 7200.",
                code="invalid_value",
                param="expires_after.seconds",
            )
        try:
            session = _session_from(body.get("session"))
        except sessions.SessionConfigError as exc:
            return _bad_request(str(exc), code="invalid_value", param="session")
        secret = sim.mint_secret(session, seconds)
        return JSONResponse(
            {"value": secret.value, "expires_at": secret.expires_at, "session": secret.session}
        )

    async def create_call(request: Request) -> Response:
        token = bearer_token(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        # Read the whole body before any refusal, so the client never sees a reset upload.
        body = await request.body()
        if content_type == "application/sdp":
            if is_server_key(token):
                session = sessions.default_session(request.query_params.get("model"))
            else:
                secret = sim.secrets.get(token or "")
                if secret is None:
                    return unauthorized(token)
                if secret.expires_at <= time.time():
                    return unauthorized(token, "The ephemeral client secret has expired. Create a new one.")
                session = {**secret.session, "id": sessions.new_id("sess")}
            offer = body.decode(errors="replace")
        elif content_type == "multipart/form-data":
            if not is_server_key(token) and (token or "") not in sim.secrets:
                return unauthorized(token)
            form = await request.form()
            offer = await _form_text(form.get("sdp"))
            raw_session = await _form_text(form.get("session"))
            try:
                session = _session_from(json.loads(raw_session) if raw_session else None)
            except ValueError as exc:
                return _bad_request(f"Invalid session: {exc}", code="invalid_value", param="session")
        else:
            return _bad_request(
                "Send the SDP offer as application/sdp (with an ephemeral key) or as multipart/form-data "
                "fields sdp and session (with the server key).",
                code="invalid_content_type",
            )
        if not _looks_like_sdp_offer(offer):
            return _bad_request("The SDP offer is malformed.", code="invalid_offer", param="sdp")
        # An ephemeral secret is spent by the call it opens (no await between this check
        # and the call's creation, so two racing offers cannot both use it): the app
        # follows every call a secret opened.
        if not is_server_key(token) and sim.secrets.pop(token or "", None) is None:
            return unauthorized(token, "This ephemeral client secret has already opened a call.")
        tutor_lines()  # loaded once per process, before the first frame is due
        call = sim.new_call(session)
        try:
            answer = await call.answer(offer)
        except Exception as exc:
            logger.info("call %s: offer refused: %s", call.id, exc)
            await call.end("offer refused")
            sim.calls.pop(call.id, None)
            return _bad_request(f"The SDP offer could not be used: {exc}", code="invalid_offer", param="sdp")
        logger.info("call %s started", call.id)
        return Response(
            answer,
            status_code=201,
            media_type="application/sdp",
            headers={"Location": f"/v1/realtime/calls/{call.id}"},
        )

    async def hangup(request: Request) -> Response:
        if (denied := server_key_error(request)) is not None:
            return denied
        call = sim.calls.get(request.path_params["call_id"])
        if call is None:
            return _bad_request("Call not found.", code="call_not_found", status=404)
        await call.end("hangup")
        return Response(status_code=200)

    async def sideband(websocket: WebSocket) -> None:
        token = bearer_token(websocket)
        call = sim.calls.get(websocket.query_params.get("call_id", ""))
        if not is_server_key(token):
            await _deny(websocket, unauthorized(token))
            return
        if call is None or call.ended:
            await _deny(
                websocket,
                _bad_request("No active call with this call_id.", code="call_not_found", status=404),
            )
            return
        await websocket.accept()
        attached = call.attach_sideband(websocket)
        closing = asyncio.ensure_future(attached.closing.wait())
        try:
            while True:
                receiving = asyncio.ensure_future(websocket.receive_text())
                await asyncio.wait({receiving, closing}, return_when=asyncio.FIRST_COMPLETED)
                if not receiving.done():
                    receiving.cancel()
                    break
                call.handle_client_message(receiving.result(), "sideband")
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            closing.cancel()
            call.detach_sideband(attached)
        if attached.closing.is_set():
            # The call ended: let the last events go out, then close normally.
            if attached.writer is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(attached.writer, 2.0)
            with contextlib.suppress(Exception):
                await websocket.close(code=1000)

    async def debug_calls(request: Request) -> Response:
        if (denied := server_key_error(request)) is not None:
            return denied
        return JSONResponse(
            {
                "data": [
                    {
                        "call_id": c.id,
                        "state": "ended" if c.ended else "active",
                        "created_at": int(c.created_at),
                    }
                    for c in sim.calls.values()
                ]
            }
        )

    async def debug_events(request: Request) -> Response:
        if (denied := server_key_error(request)) is not None:
            return denied
        call = sim.calls.get(request.path_params["call_id"])
        if call is None:
            return _bad_request("Call not found.", code="call_not_found", status=404)
        return JSONResponse(call.debug_view())

    routes: list[BaseRoute] = [
        Route("/v1/realtime/client_secrets", client_secrets, methods=["POST"]),
        Route("/v1/realtime/calls", create_call, methods=["POST"]),
        Route("/v1/realtime/calls/{call_id}/hangup", hangup, methods=["POST"]),
        WebSocketRoute("/v1/realtime", sideband),
        *_extra_routes(),
    ]
    settings = get_settings()
    if settings.environment == "test":
        routes += [
            Route("/v1/_debug/calls", debug_calls, methods=["GET"]),
            Route("/v1/_debug/calls/{call_id}/events", debug_events, methods=["GET"]),
        ]
    app = Starlette(
        routes=routes,
        middleware=[
            # The browser posts the offer here itself in "ephemeral" mode, from the app's origin.
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["*"],
                expose_headers=["Location"],
                max_age=600,
            )
        ],
    )
    app.state.realtime = sim
    return app


def _session_from(requested: Any) -> dict[str, Any]:
    if requested is not None and not isinstance(requested, dict):
        raise sessions.SessionConfigError("session must be an object.")
    model = requested.get("model") if requested else None
    return sessions.merge_session(sessions.default_session(model), requested)


async def _form_text(value: str | UploadFile | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return (await value.read()).decode(errors="replace")


async def _deny(websocket: WebSocket, response: Response) -> None:
    # Answer the handshake with an HTTP error where the server supports it (as OpenAI
    # does); otherwise close before accepting, which clients see as 403.
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008)


def _extra_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in EXTRA_ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        routes.extend(module.routes)
    return routes
