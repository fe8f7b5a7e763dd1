"""A Realtime provider without media, for the start-burst benchmark (`bench/burst.py`).

It speaks the parts of OpenAI's Realtime API the server uses, cheaply enough that one
process carries hundreds of calls: `POST /v1/realtime/calls` (multipart `sdp` + `session`,
answered with a fixed SDP and a `Location` naming the call), the sideband WebSocket
`/v1/realtime?call_id=…` (`session.created`; a `response.done` with usage for every
`response.create` and every few seconds, as turns would), and
`POST /v1/realtime/calls/{id}/hangup` (one last `response.done`, then the sideband closes).

It keeps the provider's side of the bill: each call's connected seconds (from the 201 to
the hang-up: a call nobody hangs up stays connected, as at the provider) and every token
it reported, which the
benchmark reads from `GET /v1/_bench/calls` and compares with what the app charged.

Serve it with granian: `granian --interface asgi bench.provider_standin:app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

TURN_SECONDS = float(os.environ.get("STANDIN_TURN_SECONDS", "5"))
ANSWER_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n"
)
USAGE: dict[str, Any] = {
    "total_tokens": 330,
    "input_tokens": 200,
    "output_tokens": 130,
    "input_token_details": {"text_tokens": 120, "audio_tokens": 80, "cached_tokens": 40},
    "output_token_details": {"text_tokens": 30, "audio_tokens": 100},
}


@dataclass
class Call:
    id: str
    created: float
    ended: float | None = None
    responses: int = 0
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)

    def end(self) -> None:
        if self.ended is None:
            self.ended = time.monotonic()

    def report(self) -> dict[str, Any]:
        tokens = {
            "input_text_tokens": USAGE["input_token_details"]["text_tokens"],
            "input_audio_tokens": USAGE["input_token_details"]["audio_tokens"],
            "cached_input_tokens": USAGE["input_token_details"]["cached_tokens"],
            "output_text_tokens": USAGE["output_token_details"]["text_tokens"],
            "output_audio_tokens": USAGE["output_token_details"]["audio_tokens"],
        }
        return {
            "id": self.id,
            "connected_seconds": None if self.ended is None else self.ended - self.created,
            "tokens": {name: value * self.responses for name, value in tokens.items()},
        }


CALLS: dict[str, Call] = {}


def _response_done(call: Call) -> dict[str, Any]:
    call.responses += 1
    return {
        "type": "response.done",
        "event_id": "event_" + secrets.token_hex(8),
        "response": {
            "id": f"resp_{call.id}_{call.responses}",
            "object": "realtime.response",
            "status": "completed",
            "output": [],
            "usage": USAGE,
        },
    }


async def create_call(request: Request) -> Response:
    form = await request.form()
    if "sdp" not in form:
        return JSONResponse({"error": {"message": "sdp is required"}}, status_code=400)
    call = Call(id="rtc_" + secrets.token_hex(12), created=time.monotonic())
    CALLS[call.id] = call
    return Response(
        ANSWER_SDP,
        status_code=201,
        media_type="application/sdp",
        headers={"Location": f"/v1/realtime/calls/{call.id}"},
    )


async def hangup(request: Request) -> Response:
    call = CALLS.get(request.path_params["call_id"])
    if call is None:
        return JSONResponse({"error": {"message": "Call not found."}}, status_code=404)
    call.end()
    call.hung_up.set()
    return Response(status_code=200)


async def sideband(websocket: WebSocket) -> None:
    call = CALLS.get(websocket.query_params.get("call_id", ""))
    if call is None or call.ended is not None:
        await websocket.close(code=4404)
        return
    await websocket.accept()
    await websocket.send_json({"type": "session.created", "event_id": "event_0", "session": {}})
    reader = asyncio.current_task()
    assert reader is not None
    turns = asyncio.ensure_future(_turns(websocket, call, reader))
    try:
        # The handler's own task reads and closes: granian completes a receive (or a
        # close) awaited from another task only when that task next wakes, so a client
        # event, the hang-up's last event or the close could wait for a turn.
        while True:
            event = await websocket.receive_json()
            if isinstance(event, dict) and event.get("type") == "response.create":
                await websocket.send_json(_response_done(call))
    except (WebSocketDisconnect, RuntimeError):
        pass
    except asyncio.CancelledError:
        if not call.hung_up.is_set():
            raise
    finally:
        turns.cancel()
        with contextlib.suppress(Exception):
            await websocket.close(code=1000)


async def _turns(websocket: WebSocket, call: Call, reader: asyncio.Task[Any]) -> None:
    """A turn every TURN_SECONDS; on hang-up, the turn in progress, then the reader is
    stopped, and closes the socket."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            try:
                await asyncio.wait_for(call.hung_up.wait(), TURN_SECONDS)
            except TimeoutError:
                await websocket.send_json(_response_done(call))
                continue
            # The provider reports the turn in progress when the call is hung up.
            await websocket.send_json(_response_done(call))
            reader.cancel()
            return


async def report(_request: Request) -> JSONResponse:
    return JSONResponse([call.report() for call in CALLS.values()])


app = Starlette(
    routes=[
        Route("/v1/realtime/calls", create_call, methods=["POST"]),
        Route("/v1/realtime/calls/{call_id}/hangup", hangup, methods=["POST"]),
        WebSocketRoute("/v1/realtime", sideband),
        Route("/v1/_bench/calls", report, methods=["GET"]),
    ]
)
