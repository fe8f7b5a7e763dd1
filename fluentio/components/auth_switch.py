"""One place for "show this to a signed-in learner, that to a visitor".

In the app, React picks the branch from `AuthState.signed_in` once the page has
hydrated. Before that — which is all a prerendered page ever is — both branches are in
the HTML, marked `data-auth="in"` / `data-auth="out"`; the signed-in one is hidden. The
public pages are served as that plain HTML without the app's JavaScript
(fluentio.public_pages), and the server reveals the right branch from the session cookie.
"""

from __future__ import annotations

import reflex as rx

from fluentio.auth.state import AuthState

SIGNED_IN = "in"
SIGNED_OUT = "out"


def auth_switch(signed_in: rx.Component, signed_out: rx.Component) -> rx.Component:
    return rx.cond(
        rx.State.is_hydrated,
        rx.cond(AuthState.signed_in, signed_in, signed_out),
        rx.fragment(
            rx.el.div(signed_in, data_auth=SIGNED_IN, style={"display": "none"}),
            rx.el.div(signed_out, data_auth=SIGNED_OUT, style={"display": "contents"}),
        ),
    )
