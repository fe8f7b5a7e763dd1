"""/history: guarded on the server (its own issue replaces this body)."""

from __future__ import annotations

import reflex as rx

from fluentio.auth.state import AuthState
from fluentio.components.guards import signed_in_only
from fluentio.components.layout import page, shell
from fluentio.components.placeholder import BalanceState, area


@page(
    route="/history",
    title="Your history · Fluentio",
    description="Your practice history.",
    public=False,
    on_load=[AuthState.require_learner, BalanceState.load],
)
def history() -> rx.Component:
    return shell(signed_in_only(area("Your history", "Your sessions and feedback will be listed here.")))
