"""The placement call on the pages: the classroom's offer before the first lesson, and
the level found with its evidence on the placement's lesson page."""

from __future__ import annotations

import math

import reflex as rx

from fluentio.classroom.meter import max_call_minutes
from fluentio.classroom.scenarios import PLACEMENT_SCENARIO_ID
from fluentio.classroom.state import ClassroomState
from fluentio.classroom.view_state import OFFLINE_START, CallViewState
from fluentio.components.connection import online_guard
from fluentio.components.theme import ACCENT
from fluentio.placement.service import EvidenceView
from fluentio.placement.state import PlacementOfferState, PlacementResultState
from fluentio.settings import get_settings


def placement_cost() -> str:
    """ "at most 5 credits": the call is charged like any lesson (read when the page is built)."""
    settings = get_settings()
    minutes = max_call_minutes(settings, PLACEMENT_SCENARIO_ID)
    credits = math.ceil(minutes * 60 / settings.seconds_per_credit)
    return f"{credits} credit" if credits == 1 else f"{credits} credits"


def placement_offer() -> rx.Component:
    """Before the first lesson: find your level in a short call, or skip (remembered)."""
    minutes = max_call_minutes(get_settings(), PLACEMENT_SCENARIO_ID)
    return rx.box(
        rx.cond(
            PlacementOfferState.offered & ~ClassroomState.in_call & (ClassroomState.last_session_id == ""),
            rx.card(
                rx.vstack(
                    rx.heading("Not sure of your level?", as_="h2", size="4"),
                    rx.text(
                        f"Take a {minutes}-minute placement call before your first lesson: the tutor "
                        "asks questions that get harder as you go, and your lesson page then shows "
                        "the level your answers show, with the evidence. You choose whether to use it.",
                        size="2",
                    ),
                    rx.text(
                        f"It is charged like any lesson, by the second: at most {placement_cost()}.",
                        size="2",
                        color="var(--gray-11)",
                        id="placement-cost",
                    ),
                    rx.hstack(
                        online_guard(
                            rx.button(
                                rx.icon("gauge", size=18),
                                f"Find your level in {'five' if minutes == 5 else minutes} minutes",
                                on_click=CallViewState.press_placement(rx.State.router.session.session_id),
                                # realtime_call.jsx opens the microphone in this click itself.
                                custom_attrs={"data-call-start": "true"},
                                color_scheme=ACCENT,
                                size="3",
                            ),
                            OFFLINE_START,
                        ),
                        rx.button(
                            "Skip, I know my level",
                            on_click=PlacementOfferState.skip,
                            variant="outline",
                            size="3",
                        ),
                        spacing="3",
                        wrap="wrap",
                    ),
                    spacing="2",
                    width="100%",
                ),
                width="100%",
                id="placement-offer",
            ),
        ),
        on_mount=PlacementOfferState.load,
        width="100%",
    )


def _evidence(item: EvidenceView) -> rx.Component:
    return rx.el.li(
        rx.el.blockquote(
            "“",
            item.quote,
            "”",
            style={"margin": 0, "font_style": "italic"},
        ),
        rx.text(item.why, size="2", color="var(--gray-11)"),
        class_name="placement-evidence",
        style={"padding": "0.5rem 0", "border_bottom": "1px solid var(--gray-a3)", "list_style": "none"},
    )


def _answer() -> rx.Component:
    state = PlacementResultState
    return rx.cond(
        state.decision == "",
        rx.cond(
            state.current_level == state.level,
            rx.vstack(
                rx.text("This is already your level.", size="2"),
                rx.button(
                    "Keep my level (", state.current_level, ")", on_click=state.keep, variant="outline"
                ),
                spacing="2",
            ),
            rx.hstack(
                rx.button("Use ", state.level, on_click=state.accept, color_scheme=ACCENT, size="3"),
                rx.button(
                    "Keep my level (",
                    state.current_level,
                    ")",
                    on_click=state.keep,
                    variant="outline",
                    size="3",
                ),
                spacing="3",
                wrap="wrap",
            ),
        ),
        rx.text(
            rx.cond(
                state.decision == "accepted",
                "You chose to use " + state.level + ". ",
                "You kept your level (" + state.level_before + "). ",
            ),
            "You can change your level any time on the Account page.",
            size="2",
            id="placement-decision",
        ),
    )


def placement_result() -> rx.Component:
    """On a placement call's lesson page, once analysed: the level, evidence, the choice."""
    state = PlacementResultState
    return rx.box(
        rx.cond(
            state.found,
            rx.card(
                rx.vstack(
                    rx.heading("Your placement", as_="h2", size="5"),
                    rx.hstack(
                        rx.badge(state.level, size="3", color_scheme=ACCENT, high_contrast=True),
                        rx.text(state.level_name, weight="bold", size="4"),
                        spacing="2",
                        align="center",
                        id="placement-level",
                    ),
                    rx.text(state.summary),
                    rx.heading("The evidence, in your own words", as_="h3", size="3"),
                    rx.el.ul(
                        rx.foreach(state.evidence, _evidence),
                        style={"margin": 0, "padding": 0, "width": "100%"},
                        aria_label="Evidence",
                    ),
                    _answer(),
                    rx.cond(
                        state.message != "",
                        rx.callout(state.message, icon="info", role="status", size="1", width="100%"),
                    ),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                id="placement",
            ),
        ),
        on_mount=PlacementResultState.load,
        width="100%",
    )
