"""/signup: create an account with email and password (30 free credits)."""

from __future__ import annotations

import reflex as rx

from fluentio.auth.cookies import safe_next_path
from fluentio.auth.errors import AuthError
from fluentio.auth.login_flow import issue_login_ticket
from fluentio.auth.service import sign_up
from fluentio.components.forms import auth_card, auth_form, error_callout, field, new_password_field
from fluentio.components.layout import page, shell
from fluentio.db import session_scope
from fluentio.pages.login import complete_sign_in_script, provider_buttons
from fluentio.settings import get_settings


class SignupState(rx.State):
    error: str = ""
    busy: bool = False

    @rx.event
    def load(self) -> None:
        self.error = ""
        self.busy = False

    @rx.event
    def submit(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        self.error = ""
        try:
            with session_scope() as session:
                user = sign_up(
                    session=session,
                    email=form.get("email", ""),
                    password=form.get("password", ""),
                    display_name=form.get("name", "").strip(),
                    ip=self.router.session.client_ip,
                )
                ticket = issue_login_ticket(session=session, user_id=user.id)
        except AuthError as exc:
            self.error = exc.message
            return None
        self.busy = True
        # Back to where the visitor was going (e.g. /pricing to buy a pack), else the
        # classroom, where a new learner can start at once.
        next_path = safe_next_path(
            self.router.url.query_parameters.get("next"), default="/classroom?welcome=1"
        )
        return complete_sign_in_script(ticket, next_path)


def free_credits_line() -> str:
    credits = get_settings().signup_credits
    return f"Get {credits} free credits — about {credits} minutes of conversation. No card needed."


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
            error_callout(SignupState.error),
            provider_buttons(),
            auth_form(
                field("Name", name="name", auto_complete="name", max_length=100),
                field("Email", name="email", type_="email", auto_complete="email", required=True),
                new_password_field(),
                submit="Sign up",
                on_submit=SignupState.submit,
                busy=SignupState.busy,
            ),
            rx.text("Already have an account? ", rx.link("Log in", href="/login"), size="2"),
        )
    )
