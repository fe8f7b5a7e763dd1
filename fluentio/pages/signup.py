"""/signup: create an account with email and password (30 free credits)."""

from __future__ import annotations

import reflex as rx

from fluentio.auth.cookies import safe_next_path
from fluentio.auth.errors import AuthError
from fluentio.auth.service import normalise_email, sign_up
from fluentio.components.forms import auth_card, auth_form, error_callout, field, new_password_field
from fluentio.components.layout import page, shell
from fluentio.db import session_scope
from fluentio.pages.login import provider_buttons
from fluentio.settings import get_settings


class SignupState(rx.State):
    error: str = ""
    sent_to: str = ""

    @rx.event
    def load(self) -> None:
        self.error = ""
        self.sent_to = ""

    @rx.event
    def submit(self, form: dict[str, str]) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                # None when the address already has an account: its owner is emailed
                # instead, and this form gives the very same answer (no enumeration).
                sign_up(
                    session=session,
                    email=form.get("email", ""),
                    password=form.get("password", ""),
                    display_name=form.get("name", "").strip(),
                    ip=self.router.session.client_ip,
                    next_path=safe_next_path(self.router.url.query_parameters.get("next"), default=""),
                )
        except AuthError as exc:
            self.error = exc.message
            return
        self.sent_to = normalise_email(form.get("email", ""))


def free_credits_line() -> str:
    credits = get_settings().signup_credits
    return (
        f"Get {credits} free credits — about {credits} minutes of conversation — once you verify "
        "your email. No card needed."
    )


def check_inbox() -> rx.Component:
    return rx.vstack(
        rx.callout(
            rx.text(
                "Check your inbox: we sent an email to ",
                rx.text.strong(SignupState.sent_to),
                ". Open the link in it to confirm your address — it signs you in and you can start.",
            ),
            icon="mail",
            color_scheme="green",
            role="status",
            id="signup-sent",
        ),
        rx.text(
            "Nothing after a few minutes? Look in your spam folder. The link works for 24 hours.",
            size="2",
            color="var(--gray-11)",
        ),
        spacing="3",
        width="100%",
    )


@page(
    route="/signup",
    title="Sign up · Fluentio",
    description="Create your Fluentio account.",
    public=False,
    on_load=SignupState.load,
)
def signup() -> rx.Component:
    return shell(
        auth_card(
            "Create your account",
            rx.text(free_credits_line(), color="var(--gray-11)"),
            rx.cond(
                SignupState.sent_to != "",
                check_inbox(),
                rx.fragment(
                    error_callout(SignupState.error),
                    provider_buttons(),
                    auth_form(
                        field("Name", name="name", auto_complete="name", max_length=100),
                        field("Email", name="email", type_="email", auto_complete="email", required=True),
                        new_password_field(),
                        submit="Sign up",
                        on_submit=SignupState.submit,
                    ),
                    rx.text("Already have an account? ", rx.link("Log in", href="/login"), size="2"),
                ),
            ),
        )
    )
