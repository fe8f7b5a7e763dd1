"""Tables: captions for screen readers, and stacked cards on phones instead of scrolling sideways.

Wrap a table in `stacked_on_phones(...)` and give each cell `data_label=<its column
header>`: below PHONE_MAX_WIDTH the header row is hidden and every row is a card whose
cells stand one under another, each with its column's name above the value. The markup
stays one table, so screen readers still read rows and columns.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

PHONE_MAX_WIDTH = "40em"

_STACKED = {
    f"@media (max-width: {PHONE_MAX_WIDTH})": {
        "& thead": {"display": "none"},
        "& table, & tbody, & tr, & td, & th": {"display": "block", "width": "100%"},
        # Radix gives the table height 0 (a cell-height trick) that a block would keep.
        "& table": {"height": "auto"},
        "& tr": {
            "padding": "0.5rem 0.75rem",
            "border_bottom": "1px solid var(--gray-a5)",
        },
        "& td, & tbody th": {
            "box_shadow": "none",
            "padding": "0.25rem 0",
            "overflow_wrap": "anywhere",
        },
        "& [data-label]::before": {
            "content": "attr(data-label)",
            "display": "block",
            "font_size": "var(--font-size-1)",
            "color": "var(--gray-11)",
        },
        "& [data-label='']::before": {"display": "none"},
    }
}


def stacked_on_phones(table: rx.Component, **props: Any) -> rx.Component:
    return rx.box(table, width="100%", overflow_x="auto", style=_STACKED, **props)


def table_caption(text: str) -> rx.Component:
    """A caption that names a table for screen readers (Radix puts aria-label on a wrapper)."""
    return rx.el.caption(
        text,
        style={
            "position": "absolute",
            "width": "1px",
            "height": "1px",
            "overflow": "hidden",
            "clip": "rect(0 0 0 0)",
            "white_space": "nowrap",
        },
    )
