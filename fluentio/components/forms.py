"""Labelled form fields and the card that holds an auth form."""

from __future__ import annotations

from typing import Any

import reflex as rx

from fluentio.components.theme import ACCENT

# A native <select> styled like Radix's fields (big enough to tap on a phone).
SELECT_STYLE = {
    "width": "100%",
    "min_height": "2.75rem",
    "padding": "0 0.75rem",
    "border_radius": "var(--radius-3)",
    "border": "1px solid var(--gray-a7)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
    "font_size": "1rem",
}


def field(label: str, *, name: str, type_: str = "text", hint: str = "", **props: Any) -> rx.Component:
    """A visible <label> bound to its input, so the input's accessible name is `label`."""
    field_id = f"field-{name}"
    return rx.vstack(
        rx.el.label(label, html_for=field_id, font_weight="500", font_size="0.95rem"),
        rx.input(id=field_id, name=name, type=type_, size="3", width="100%", **props),
        rx.cond(hint != "", rx.text(hint, size="1", color="var(--gray-11)")),
        spacing="1",
        width="100%",
    )


def error_callout(message: rx.Var[str]) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
    )


def info_callout(message: rx.Var[str]) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="info", color_scheme=ACCENT, role="status", width="100%"),
    )


def auth_card(title: str, *children: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(rx.heading(title, as_="h1", size="7"), *children, spacing="4", width="100%"),
            size="4",
            width="100%",
            max_width="28rem",
        ),
        padding_y="3rem",
        width="100%",
    )


def auth_form(
    *fields: rx.Component, submit: str, on_submit: Any, busy: rx.Var[bool] | bool = False
) -> rx.Component:
    """The fields of an auth card above one full-width submit button named `submit`."""
    return rx.form(
        rx.vstack(
            *fields,
            rx.button(submit, type="submit", size="3", width="100%", color_scheme=ACCENT, loading=busy),
            spacing="4",
            width="100%",
        ),
        on_submit=on_submit,
        width="100%",
    )


def new_password_field(label: str = "Password") -> rx.Component:
    return field(
        label,
        name="password",
        type_="password",
        auto_complete="new-password",
        required=True,
        min_length=8,
        max_length=128,
        hint="8 to 128 characters. Avoid common passwords.",
    )
