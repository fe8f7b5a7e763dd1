"""/classroom: guarded on the server (its own issue replaces this body)."""

from __future__ import annotations

import reflex as rx

from fluentio.auth.state import AuthState
from fluentio.components.guards import signed_in_only
from fluentio.components.layout import page, shell
from fluentio.components.placeholder import BalanceState, area


@page(
    route="/classroom",
    title="Classroom · Fluentio",
    description="Talk with your tutor.",
    public=False,
    on_load=[AuthState.require_learner, BalanceState.load],
)
def classroom() -> rx.Component:
    return shell(signed_in_only(area("Classroom", "The live voice classroom opens here.")))
