"""The classroom page's own view state: the welcome after sign-up, and the Start press
that must never be queued to fire later.

Reflex queues events while its websocket is down and sends them after reconnecting, so
a Start pressed offline would otherwise begin (and charge) a lesson minutes later. The
page sends, with the press, the id of the connection it was made on; a press arriving
over any other connection is refused here and never reaches ClassroomState.start.
"""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx

from fluentio.classroom.state import ClassroomState

log = logging.getLogger(__name__)

# Shown in the browser itself when Start is pressed offline (the server can't answer then).
OFFLINE_START = "You're offline — connect and press Start again."
# Shown when a press made before a dropped connection arrives after it came back.
STALE_START = (
    "Your connection dropped when you pressed Start, so no lesson was started and nothing "
    "was charged. Press Start session again."
)


class CallViewState(rx.State):
    welcome: bool = False
    start_refused: str = ""

    @rx.event
    def load(self) -> None:
        self.welcome = self.router.url.query_parameters.get("welcome") == "1"
        self.start_refused = ""

    @rx.event
    def press_start(self, connection_id: str) -> Any:
        """Start a lesson only if pressed on the connection that delivers the press."""
        self.start_refused = ""
        if not connection_id or connection_id != self.router.session.session_id:
            log.info("refused a Start pressed on an earlier connection")
            self.start_refused = STALE_START
            return None
        self.welcome = False
        return ClassroomState.start

    @rx.event
    def press_placement(self, connection_id: str) -> Any:
        """The placement offer's start button, guarded like Start."""
        self.start_refused = ""
        if not connection_id or connection_id != self.router.session.session_id:
            log.info("refused a placement start pressed on an earlier connection")
            self.start_refused = STALE_START
            return None
        self.welcome = False
        return ClassroomState.start_placement
