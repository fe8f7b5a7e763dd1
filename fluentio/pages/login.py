"""/login: email and password sign-in."""

from __future__ import annotations

import json
from urllib.parse import quote

import reflex as rx

from fluentio.auth.cookies import safe_next_path
from fluentio.auth.errors import AuthError
from fluentio.auth.login_flow import issue_login_ticket
from fluentio.auth.service import sign_in
from fluentio.components.forms import (
    auth_card,
    auth_form,
    error_callout,
    field,
    info_callout,
)
from fluentio.components.layout import page, shell
from fluentio.db import session_scope

NOTICES = {
    "expired": "That sign-in took too long. Please log in again.",
    "verified": "Your email is verified. Log in to continue.",
    "reset": "Your password was changed. Log in with the new one.",
}


def complete_sign_in_script(ticket: str, next_path: str) -> rx.event.EventSpec:
    """A full page load (not client-side routing) so the route can set the HttpOnly cookie."""
    url = f"/auth/complete?ticket={quote(ticket)}&next={quote(next_path, safe='')}"
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


class LoginState(rx.State):
    error: str = ""
    notice: str = ""
    busy: bool = False

    @rx.event
    def load(self) -> None:
        self.error = ""
        self.busy = False
        self.notice = NOTICES.get(self.router.url.query_parameters.get("error", ""), "")
        if not self.notice:
            self.notice = NOTICES.get(self.router.url.query_parameters.get("notice", ""), "")

    @rx.event
    def submit(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        self.error = ""
        next_path = safe_next_path(self.router.url.query_parameters.get("next"))
        try:
            with session_scope() as session:
                user = sign_in(
                    session=session,
                    email=form.get("email", ""),
                    password=form.get("password", ""),
                    ip=self.router.session.client_ip,
                )
                ticket = issue_login_ticket(session=session, user_id=user.id)
        except AuthError as exc:
            self.error = exc.message
            return None
        self.busy = True
        return complete_sign_in_script(ticket, next_path)


@page(
    route="/login",
    title="Log in · Fluentio",
    description="Log in to Fluentio.",
    public=False,
    on_load=LoginState.load,
)
def login() -> rx.Component:
    return shell(
        auth_card(
            "Log in",
            info_callout(LoginState.notice),
            error_callout(LoginState.error),
            auth_form(
                field("Email", name="email", type_="email", auto_complete="email", required=True),
                field(
                    "Password",
                    name="password",
                    type_="password",
                    auto_complete="current-password",
                    required=True,
                ),
                submit="Log in",
                on_submit=LoginState.submit,
                busy=LoginState.busy,
            ),
            rx.hstack(
                rx.link("Forgot your password?", href="/forgot-password"),
                rx.spacer(),
                rx.link("Create an account", href="/signup"),
                width="100%",
                wrap="wrap",
            ),
        )
    )
