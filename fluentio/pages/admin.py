"""/admin: guarded on the server (its own issue replaces this body)."""

from __future__ import annotations

import reflex as rx

from fluentio.auth.state import AuthState
from fluentio.components.guards import admins_only
from fluentio.components.layout import page, shell
from fluentio.components.placeholder import BalanceState, area


@page(
    route="/admin",
    title="Admin · Fluentio",
    description="Administration.",
    public=False,
    on_load=[AuthState.require_admin, BalanceState.load],
)
def admin() -> rx.Component:
    return shell(admins_only(area("Admin", "Administration tools for credits, users and payments.")))
