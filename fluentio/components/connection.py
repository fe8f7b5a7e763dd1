"""The connection banner that replaces Reflex's developer toast, and the offline guard
for buttons whose click must never be queued (connection.jsx does the browser's part).

`connection_overlay()` is installed as the app's overlay in fluentio/fluentio.py, so every
page shows our wording ("You're offline", "Reconnecting…") instead of Reflex's "Cannot
connect to server: websocket error. Check if server is reachable at ws://…".
"""

from __future__ import annotations

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors

# The body's side padding keeps every page clear of a phone's notch when held sideways
# (the page is laid out under it: viewport-fit=cover in fluentio/components/pwa.py).
CONNECTION_CSS = """
body{padding-left:env(safe-area-inset-left);padding-right:env(safe-area-inset-right)}
.fluentio-connection:empty{display:none}
.fluentio-connection__notice{display:flex;gap:.625rem;align-items:flex-start;padding:.75rem 1rem;
  border-radius:var(--radius-3);background:var(--amber-3);color:var(--amber-12);
  border:1px solid var(--amber-7);font-size:.95rem;line-height:1.4}
.fluentio-connection__dot{flex:none;width:.625rem;height:.625rem;margin-top:.4rem;border-radius:50%;
  background:var(--amber-9);animation:fluentio-blink 1.2s ease-in-out infinite}
.fluentio-connection--floating{position:fixed;z-index:60;left:50%;transform:translateX(-50%);
  bottom:calc(env(safe-area-inset-bottom) + 1rem);width:min(36rem,calc(100vw - 2rem));
  box-shadow:var(--shadow-5)}
.fluentio-online-guard{display:flex;flex-direction:column;gap:.5rem;flex:1 1 auto}
.fluentio-online-guard__message{margin:0;color:var(--red-11);font-weight:500}
@keyframes fluentio-blink{0%,100%{opacity:1}50%{opacity:.3}}
@media (prefers-reduced-motion: reduce){.fluentio-connection__dot{animation:none}}
"""


class ConnectionNotice(rx.Component):
    """A status banner while the browser is offline or cannot reach Fluentio's server."""

    library = rx.asset("connection.jsx", shared=True).importable_path
    tag = "ConnectionNotice"

    # Reflex's own record of failed connection attempts since the last good one.
    server_lost: rx.Var[bool]
    # The wording: "page", or "call" (during a lesson, saying what still works).
    variant: rx.Var[str]
    # The app-wide banner floating over every page (the classroom has its own in place).
    floating: rx.Var[bool]


class OnlineGuard(rx.Component):
    """Wraps a button: pressed offline, the click is dropped and `message` shown instead."""

    library = rx.asset("connection.jsx", shared=True).importable_path
    tag = "OnlineGuard"

    message: rx.Var[str]
    server_lost: rx.Var[bool]


def connection_notice(variant: str | rx.Var[str], *, floating: bool = False) -> rx.Component:
    return ConnectionNotice.create(server_lost=has_connection_errors, variant=variant, floating=floating)


def online_guard(button: rx.Component, message: str) -> rx.Component:
    return OnlineGuard.create(button, message=message, server_lost=has_connection_errors)


def connection_overlay() -> rx.Component:
    """The app-wide overlay: our banner in place of Reflex's connection toast and pulser."""
    return rx.fragment(rx.el.style(CONNECTION_CSS), connection_notice("page", floating=True))
