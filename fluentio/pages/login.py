"""/login: email and password sign-in."""

from __future__ import annotations

import json
from urllib.parse import quote

import reflex as rx

from fluentio.auth.cookies import LOGIN_TICKET_PATH, login_ticket_cookie_script, safe_next_path
from fluentio.auth.errors import AuthError
from fluentio.auth.login_flow import LoginTicket, issue_login_ticket
from fluentio.auth.oauth import PROVIDER_LABELS, configured_providers, error_message
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
    "cross_site": "For your safety, sign-in links only work from this site. Please log in here.",
    "verified": "Your email is verified. Log in to continue.",
    "reset": "Your password was changed. Log in with the new one.",
}


def complete_sign_in_script(ticket: LoginTicket, next_path: str) -> rx.event.EventSpec:
    """A full page load (not client-side routing) so the route can set the HttpOnly cookie;
    the ticket's browser half goes in a cookie first, binding it to this browser."""
    url = f"{LOGIN_TICKET_PATH}?ticket={quote(ticket.url_part)}&next={quote(next_path, safe='')}"
    return rx.call_script(
        login_ticket_cookie_script(ticket.browser_part) + f"window.location.assign({json.dumps(url)})"
    )


def provider_buttons(next_query: rx.Var[str] | str = "") -> rx.Component:
    """A "Continue with …" link for each configured provider (Google, Apple).

    Full page loads (`reload_document`): the start routes are plain HTTP, not pages.
    `next_query` is "" or "?next=…".
    """
    providers = configured_providers()
    if not providers:
        return rx.fragment()
    return rx.vstack(
        *[
            rx.button(
                rx.el.a(
                    f"Continue with {PROVIDER_LABELS[name]}",
                    href=f"/auth/{name}/start{next_query}",
                    reload_document=True,
                ),
                as_child=True,
                variant="outline",
                size="3",
                width="100%",
            )
            for name in providers
        ],
        rx.hstack(
            rx.separator(size="4", flex="1"),
            rx.text("or", size="2", color="var(--gray-11)"),
            rx.separator(size="4", flex="1"),
            align="center",
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


class LoginState(rx.State):
    error: str = ""
    notice: str = ""
    busy: bool = False
    next_query: str = ""

    @rx.event
    def load(self) -> None:
        self.error = ""
        self.busy = False
        query = self.router.url.query_parameters
        next_path = query.get("next", "")
        self.next_query = f"?next={quote(safe_next_path(next_path), safe='')}" if next_path else ""
        code = query.get("error", "")
        if code.startswith("oauth_"):
            self.error = error_message(code, query.get("provider", ""))
        self.notice = NOTICES.get(code, "")
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
            provider_buttons(LoginState.next_query),
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
