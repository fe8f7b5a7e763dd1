"""Send Reflex events straight over the app's websocket, as a hostile client could.

A browser only sends the events its buttons are wired to; an attacker can send any
event, to any handler, with any payload, with or without a session cookie. Use this to
prove that a handler resolves the user on the server (`signed_in_user(self)`) and
checks the role, whatever the page would have allowed:

    from fluentio.pages.account import AccountState
    from tests.support.reflex_events import send_event

    reply = send_event(
        app_server,                        # a RunningApp (tests/support/app_server.py)
        AccountState.save_profile,         # the handler, or its full name as a string
        {"form": {"display_name": "Mallory", "level": "C2"}},  # argument name → value
        cookies=None,                      # or who.cookies from tests.support.sessions
        path="/account",                   # the page the event claims to come from
    )
    assert reply.redirects == ["/login?next=/account"]
    assert victim.email not in reply.text  # nothing about anyone leaked
    # …then check in the database that nothing changed.

How it talks to Reflex 0.10 (see reflex/app.py `EventNamespace`): Socket.IO over a
websocket at path `/_event`, namespace `/_event`, with `?token=<tab token>` in the URL.
The handshake's Cookie header becomes `router.headers.cookie` for every event on that
connection, which is what `signed_in_user` reads. An event is
`{"name": "<state path>.<handler>", "payload": {...}, "router_data": {...}}`; replies
arrive as "event" messages holding `delta` (state changes by state path) and `events`
(browser-side events such as redirects).

Reflex sends no "done" message, so after the events the helper sends the root state's
`hydrate` event as a marker: events of one tab run in order, so once the marker's full
state snapshot arrives, the events before it have finished. It repeats the marker
until no other message arrives between two markers (events the handler chained). The
snapshot is kept in `reply.deltas` too, so `reply.text` covers everything the server
would have shown this tab.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import socketio

from tests.support.app_server import RunningApp

EVENT_PATH = "/_event"
ROOT_STATE = "reflex___state____state"
HYDRATE = f"{ROOT_STATE}.hydrate"
_VAR_SUFFIX = "_rx_state_"
_MAX_MARKER_ROUNDS = 6


def event_name(handler: Any) -> str:
    """The wire name of an event handler (`AccountState.save_profile` → its full path)."""
    if isinstance(handler, str):
        return handler
    from reflex_base.utils.format import format_event_handler

    return format_event_handler(handler)


@dataclass
class Reply:
    """Everything the server sent the tab in answer to the events."""

    deltas: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All of it as one JSON string, to search for data that must not be there."""
        return json.dumps({"deltas": self.deltas, "events": self.events}, default=str)

    @property
    def redirects(self) -> list[str]:
        """Paths of `rx.redirect(...)` events sent back."""
        return [str(e.get("payload", {}).get("path")) for e in self.events if e.get("name") == "_redirect"]

    @property
    def scripts(self) -> list[str]:
        """JavaScript of `rx.call_script(...)` events sent back."""
        return [
            str(e.get("payload", {}).get("javascript_code"))
            for e in self.events
            if e.get("name") == "_call_script"
        ]

    def values(self, state: Any) -> dict[str, Any]:
        """The last value sent for each var of `state` (a State class or its full name)."""
        name = state if isinstance(state, str) else state.get_full_name()
        merged: dict[str, Any] = {}
        for delta in self.deltas:
            for var, value in delta.get(name, {}).items():
                merged[var.removesuffix(_VAR_SUFFIX)] = value
        return merged


def send_event(
    app: RunningApp,
    handler: Any,
    payload: dict[str, Any] | None = None,
    *,
    cookies: dict[str, str] | None = None,
    path: str = "/",
    query: dict[str, str] | None = None,
    timeout: float = 20.0,
    origin: str | None = None,
) -> Reply:
    """Send one event as a fresh tab and return what came back (see the module doc).
    `origin` sets the handshake's Origin header, as a page on that origin would."""
    return send_events(
        app,
        [(handler, payload or {})],
        cookies=cookies,
        path=path,
        query=query,
        timeout=timeout,
        origin=origin,
    )


def send_events(
    app: RunningApp,
    events: list[tuple[Any, dict[str, Any]]],
    *,
    cookies: dict[str, str] | None = None,
    path: str = "/",
    query: dict[str, str] | None = None,
    timeout: float = 20.0,
    origin: str | None = None,
) -> Reply:
    """Send several events in order from one fresh tab (one connection, one state)."""
    # Its own thread and event loop, so it also works beside Playwright's sync API.
    with ThreadPoolExecutor(max_workers=1) as pool:
        exchange = _exchange(app.base_url, events, cookies or {}, path, query or {}, origin)
        return pool.submit(asyncio.run, asyncio.wait_for(exchange, timeout)).result()


def _router_data(path: str, query: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {"pathname": path, "asPath": path + (f"?{urlencode(query)}" if query else "")}
    if query:
        data["query"] = query
    return data


def _is_marker(update: dict[str, Any]) -> bool:
    root = (update.get("delta") or {}).get(ROOT_STATE) or {}
    return root.get(f"is_hydrated{_VAR_SUFFIX}") is False


async def _exchange(
    base_url: str,
    events: list[tuple[Any, dict[str, Any]]],
    cookies: dict[str, str],
    path: str,
    query: dict[str, str],
    origin: str | None,
) -> Reply:
    client = socketio.AsyncClient(reconnection=False)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def on_event(update: Any) -> None:
        await inbox.put(update if isinstance(update, dict) else json.loads(update))

    client.on("event", on_event, namespace=EVENT_PATH)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    if origin:
        headers["Origin"] = origin
    await client.connect(
        f"{base_url}?token={uuid.uuid4()}",
        headers=headers,
        transports=["websocket"],
        namespaces=[EVENT_PATH],
        socketio_path=EVENT_PATH,
        wait_timeout=10,
    )
    reply = Reply()
    router_data = _router_data(path, query)

    async def emit(name: str, payload: dict[str, Any]) -> None:
        await client.emit(
            "event", {"name": name, "payload": payload, "router_data": router_data}, namespace=EVENT_PATH
        )

    async def until_marker() -> int:
        """Collect messages up to the next marker; returns how many others came first."""
        others = 0
        while True:
            update = await inbox.get()
            reply.deltas.append(update.get("delta") or {})
            reply.events.extend(update.get("events") or [])
            if _is_marker(update):
                return others
            others += 1

    try:
        for handler, payload in events:
            await emit(event_name(handler), payload)
        await emit(HYDRATE, {})
        await until_marker()
        for _round in range(_MAX_MARKER_ROUNDS):
            await emit(HYDRATE, {})
            if await until_marker() == 0:
                break
    finally:
        await client.disconnect()
    return reply
