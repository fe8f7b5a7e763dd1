"""Pages behind the links we email: /verify-email, /forgot-password, /reset-password."""

from __future__ import annotations

import reflex as rx

from fluentio.auth import service
from fluentio.auth.cookies import safe_next_path
from fluentio.auth.errors import AuthError, InvalidTokenError
from fluentio.auth.login_flow import issue_login_ticket
from fluentio.components.forms import (
    auth_card,
    auth_form,
    error_callout,
    field,
    info_callout,
    new_password_field,
)
from fluentio.components.layout import page, shell
from fluentio.components.theme import ACCENT
from fluentio.db import session_scope
from fluentio.pages.login import complete_sign_in_script

RESET_SENT = (
    "If an account exists for that email, we've sent a link to reset your password. "
    "It works for 1 hour. Check your spam folder too."
)


class VerifyEmailState(rx.State):
    outcome: str = ""  # "", "verified", "failed"
    message: str = ""

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        token = self.router.url.query_parameters.get("token", "")
        try:
            with session_scope() as session:
                user = service.verify_email(session=session, token=token)
                # The link proves the inbox is theirs, as a reset link does: it signs them
                # in and takes them where they were going, else the classroom (sign-up
                # itself never signs in, so it cannot reveal whether an address has an account).
                ticket = issue_login_ticket(session=session, user_id=user.id)
        except AuthError as exc:
            self.outcome, self.message = "failed", exc.message
            return None
        self.outcome, self.message = "verified", "Your email is verified. Signing you in…"
        next_path = safe_next_path(
            self.router.url.query_parameters.get("next"), default="/classroom?welcome=1"
        )
        return complete_sign_in_script(ticket, next_path)


@page(
    route="/verify-email",
    title="Verify your email · Fluentio",
    description="Verify your email.",
    public=False,
    on_load=VerifyEmailState.load,
)
def verify_email() -> rx.Component:
    return shell(
        auth_card(
            "Email verification",
            rx.cond(
                VerifyEmailState.outcome == "verified",
                rx.vstack(
                    info_callout(VerifyEmailState.message),
                    rx.link(rx.button("Go to your account", color_scheme=ACCENT), href="/account"),
                ),
                rx.cond(
                    VerifyEmailState.outcome == "failed",
                    rx.vstack(
                        error_callout(VerifyEmailState.message),
                        rx.text("Log in and use “Resend verification link” on your account page."),
                        rx.link(rx.button("Log in", color_scheme=ACCENT), href="/login?next=/account"),
                    ),
                    rx.spinner(),
                ),
            ),
        )
    )


class ForgotPasswordState(rx.State):
    notice: str = ""
    error: str = ""

    @rx.event
    def load(self) -> None:
        self.notice = self.error = ""

    @rx.event
    def submit(self, form: dict[str, str]) -> None:
        self.notice = self.error = ""
        try:
            with session_scope() as session:
                service.request_password_reset(
                    session=session, email=form.get("email", ""), ip=self.router.session.client_ip
                )
        except AuthError as exc:
            self.error = exc.message
            return
        self.notice = RESET_SENT


@page(
    route="/forgot-password",
    title="Reset your password · Fluentio",
    description="Reset your password.",
    public=False,
    on_load=ForgotPasswordState.load,
)
def forgot_password() -> rx.Component:
    return shell(
        auth_card(
            "Reset your password",
            rx.text("Enter your account's email and we'll send you a link to choose a new password."),
            info_callout(ForgotPasswordState.notice),
            error_callout(ForgotPasswordState.error),
            auth_form(
                field("Email", name="email", type_="email", auto_complete="email", required=True),
                submit="Send reset link",
                on_submit=ForgotPasswordState.submit,
            ),
            rx.link("Back to log in", href="/login"),
        )
    )


class ResetPasswordState(rx.State):
    error: str = ""
    expired: bool = False

    @rx.event
    def load(self) -> None:
        self.error, self.expired = "", False

    @rx.event
    def submit(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        self.error, self.expired = "", False
        token = self.router.url.query_parameters.get("token", "")
        try:
            with session_scope() as session:
                service.reset_password(session=session, token=token, new_password=form.get("password", ""))
        except InvalidTokenError as exc:
            self.error, self.expired = exc.message, True
            return None
        except AuthError as exc:
            self.error = exc.message
            return None
        return rx.redirect("/login?notice=reset")


@page(
    route="/reset-password",
    title="Choose a new password · Fluentio",
    description="Choose a new password.",
    public=False,
    on_load=ResetPasswordState.load,
)
def reset_password() -> rx.Component:
    return shell(
        auth_card(
            "Choose a new password",
            error_callout(ResetPasswordState.error),
            rx.cond(ResetPasswordState.expired, rx.link("Ask for a new link", href="/forgot-password")),
            auth_form(
                new_password_field("New password"),
                submit="Save new password",
                on_submit=ResetPasswordState.submit,
            ),
        )
    )
