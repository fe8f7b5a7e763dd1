"""Building blocks of the classroom's call view: the tutor's voice orb, the screen wake
lock (call_view.jsx does the browser's part) and the stylesheet (call_view.css).

The layout itself is in fluentio/pages/classroom.py.
"""

from __future__ import annotations

from pathlib import Path

import reflex as rx

CALL_VIEW_CSS = (Path(__file__).with_name("call_view.css")).read_text(encoding="utf-8")


class VoiceOrb(rx.Component):
    """A circle that grows with the tutor's voice (or the learner's, while it listens)."""

    library = rx.asset("call_view.jsx", shared=True).importable_path
    tag = "VoiceOrb"

    speaking: rx.Var[bool]
    listening: rx.Var[bool]
    # Whether a call is on: the orb follows the audio levels only then.
    active: rx.Var[bool]


class WakeLock(rx.Component):
    """Keeps the screen on while `active`, where the browser offers a screen wake lock."""

    library = rx.asset("call_view.jsx", shared=True).importable_path
    tag = "WakeLock"

    active: rx.Var[bool]


voice_orb = VoiceOrb.create
wake_lock = WakeLock.create


def call_view_styles() -> rx.Component:
    return rx.el.style(CALL_VIEW_CSS)
