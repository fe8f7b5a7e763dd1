"""/account: profile, email verification, password, sign-in methods, credits, deletion.

Every handler resolves the user from the session cookie on the server first.
"""

from __future__ import annotations

import reflex as rx
from sqlmodel import select

from fluentio.auth import service
from fluentio.auth.cookies import read_cookie
from fluentio.auth.errors import AuthError
from fluentio.auth.levels import levels_for
from fluentio.auth.state import AuthState, signed_in_user
from fluentio.billing import ledger
from fluentio.billing.packs import credit_packs
from fluentio.classroom import calls
from fluentio.classroom.reasons import EndReason
from fluentio.components.buy_button import buy_button
from fluentio.components.data_export import data_export_panel
from fluentio.components.forms import error_callout, field, info_callout
from fluentio.components.guards import signed_in_only
from fluentio.components.layout import app_shell, page
from fluentio.components.platform_help import install_panel
from fluentio.components.stacked_table import table_caption
from fluentio.components.theme import ACCENT
from fluentio.db import session_scope
from fluentio.languages import get_language, is_supported
from fluentio.languages import options as language_options
from fluentio.levels import DEFAULT_LEVEL, LEVELS
from fluentio.models import OAuthIdentity, User
from fluentio.payments import statements

PROVIDER_NAMES = {"google": "Google", "apple": "Apple"}
DELETE_CONFIRMATION = "DELETE"
RECENT_SIGN_IN_MINUTES = int(service.RECENT_SIGN_IN.total_seconds() // 60)


class AccountState(rx.State):
    display_name: str = ""
    # The level shown: the one of the language picked to practise (`levels` holds them all).
    level: str = "B1"
    levels: dict[str, str] = {}
    target_language: str = "en"
    explanation_language: str = "en"
    email: str = ""
    email_verified: bool = False
    sign_in_methods: list[str] = []
    has_password: bool = False
    balance: str = ""
    history: list[dict[str, str]] = []
    payments: list[dict[str, str]] = []
    profile_notice: str = ""
    profile_error: str = ""
    verify_notice: str = ""
    verify_error: str = ""
    password_notice: str = ""
    password_error: str = ""
    delete_error: str = ""

    def _fill(self, user: User) -> None:
        with session_scope() as session:
            identities = session.exec(select(OAuthIdentity).where(OAuthIdentity.user_id == user.id)).all()
            self.history = statements.ledger_rows(session, user.id, limit=100)
            self.payments = statements.payment_rows(session, user.id)
            self.balance = ledger.format_credits(ledger.balance(session=session, user_id=user.id))
            self.levels = levels_for(session, user.id)
        self.display_name = user.display_name
        self.level = self.levels.get(user.target_language, DEFAULT_LEVEL.value)
        self.target_language = user.target_language
        self.explanation_language = user.explanation_language
        self.email = user.email
        self.email_verified = user.email_verified_at is not None
        self.has_password = bool(user.password_hash)
        methods = ["Email and password"] if user.password_hash else []
        methods += [PROVIDER_NAMES.get(i.provider, i.provider.title()) for i in identities]
        self.sign_in_methods = methods

    @rx.event
    def load(self) -> None:
        for name in ("profile", "verify", "password"):
            setattr(self, f"{name}_notice", "")
            setattr(self, f"{name}_error", "")
        self.delete_error = ""
        user = signed_in_user(self)
        if user is not None:
            self._fill(user)

    @rx.event
    def type_name(self, name: str) -> None:
        self.display_name = name[:100]

    @rx.event
    def choose_level(self, level: str) -> None:
        self.level = level if level in LEVELS else self.level

    @rx.event
    def choose_target_language(self, code: str) -> None:
        """Switching the language shows that language's level (saved with it)."""
        if is_supported(code):
            self.target_language = code
            self.level = self.levels.get(code, DEFAULT_LEVEL.value)

    @rx.event
    def choose_explanation_language(self, code: str) -> None:
        self.explanation_language = code if is_supported(code) else self.explanation_language

    @rx.event
    def save_profile(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        self.profile_notice = self.profile_error = ""
        user = signed_in_user(self)
        if user is None:
            return rx.redirect("/login?next=/account")
        try:
            with session_scope() as session:
                service.update_profile(
                    session=session,
                    user_id=user.id,
                    display_name=form.get("display_name", ""),
                    level=form.get("level", ""),
                    # Absent from the form: left as they are.
                    target_language=form.get("target_language"),
                    explanation_language=form.get("explanation_language"),
                )
        except AuthError as exc:
            self.profile_error = exc.message
            return None
        refreshed = signed_in_user(self)
        if refreshed:
            self._fill(refreshed)
        language = get_language(self.target_language).name
        self.profile_notice = f"Saved. Your tutor will speak {language} at this level from your next session."
        return AuthState.refresh

    @rx.event
    def resend_verification(self) -> rx.event.EventSpec | None:
        self.verify_notice = self.verify_error = ""
        user = signed_in_user(self)
        if user is None:
            return rx.redirect("/login?next=/account")
        try:
            with session_scope() as session:
                service.resend_verification(session=session, user_id=user.id)
        except AuthError as exc:
            self.verify_error = exc.message
            return None
        self.verify_notice = f"We sent a new verification link to {user.email}. It works for 24 hours."
        return None

    @rx.event
    def change_password(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        self.password_notice = self.password_error = ""
        user = signed_in_user(self)
        if user is None:
            return rx.redirect("/login?next=/account")
        try:
            with session_scope() as session:
                service.change_password(
                    session=session,
                    user_id=user.id,
                    current_password=form.get("current_password", ""),
                    new_password=form.get("new_password", ""),
                    ip=self.router.session.client_ip,
                    keep_token=read_cookie(self.router.headers.cookie),
                )
        except AuthError as exc:
            self.password_error = exc.message
            return None
        self.password_notice = "Password changed. Other browsers were logged out; this one stays signed in."
        return None

    @rx.event
    async def delete_account(self, form: dict[str, str]) -> rx.event.EventSpec | None:
        self.delete_error = ""
        user = signed_in_user(self)
        if user is None:
            return rx.redirect("/login?next=/account")
        if form.get("confirm", "").strip() != DELETE_CONFIRMATION:
            self.delete_error = (
                f"Type {DELETE_CONFIRMATION} in capitals to confirm, then press the button again."
            )
            return None
        try:
            with session_scope() as session:
                service.confirm_identity(
                    session=session,
                    user_id=user.id,
                    password=form.get("password", ""),
                    login_token=read_cookie(self.router.headers.cookie),
                    ip=self.router.session.client_ip,
                )
        except AuthError as exc:
            self.delete_error = exc.message
            return None
        # A lesson still running in another tab is hung up and charged first.
        await calls.end_open_calls(user_id=user.id, reason=EndReason.ACCOUNT_DELETED)
        with session_scope() as session:
            service.delete_account(session=session, user_id=user.id)
        return rx.call_script("window.location.assign('/?account_deleted=1')")


def panel(title: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(rx.heading(title, as_="h2", size="5"), *children, spacing="3", width="100%"),
        size="3",
        width="100%",
    )


def _picker(label: str, name: str, value: rx.Var, on_change: rx.EventHandler, hint: str) -> rx.Component:
    """A language select (fluentio/languages.py), named `name` in the profile form."""
    return rx.vstack(
        rx.el.label(label, html_for=f"field-{name}", font_weight="500"),
        rx.el.select(
            *[rx.el.option(text, value=code) for code, text in language_options()],
            id=f"field-{name}",
            name=name,
            value=value,
            on_change=on_change,
            style={"padding": "0.5rem", "border_radius": "6px", "font_size": "1rem"},
        ),
        rx.text(hint, size="1", color="var(--gray-11)"),
        spacing="1",
    )


def profile_panel() -> rx.Component:
    return panel(
        "Profile",
        info_callout(AccountState.profile_notice),
        error_callout(AccountState.profile_error),
        rx.form(
            rx.vstack(
                field(
                    "Name",
                    name="display_name",
                    value=AccountState.display_name,
                    on_change=AccountState.type_name,
                    max_length=100,
                ),
                _picker(
                    "Language to practise",
                    "target_language",
                    AccountState.target_language,
                    AccountState.choose_target_language,
                    "The tutor speaks it, and your words and History are kept per language.",
                ),
                _picker(
                    "Explanations in",
                    "explanation_language",
                    AccountState.explanation_language,
                    AccountState.choose_explanation_language,
                    "Your own language: feedback explains each correction in it.",
                ),
                rx.vstack(
                    rx.el.label("Your level", html_for="field-level", font_weight="500"),
                    rx.el.select(
                        *[rx.el.option(level, value=level) for level in LEVELS],
                        id="field-level",
                        name="level",
                        value=AccountState.level,
                        on_change=AccountState.choose_level,
                        style={"padding": "0.5rem", "border_radius": "6px", "font_size": "1rem"},
                    ),
                    rx.text(
                        "In the language you practise (each language keeps its own): "
                        "A1 beginner · B1 intermediate · C2 near-native",
                        size="1",
                        color="var(--gray-11)",
                    ),
                    spacing="1",
                ),
                rx.button("Save profile", type="submit", color_scheme=ACCENT),
                spacing="3",
                width="100%",
            ),
            on_submit=AccountState.save_profile,
            reset_on_submit=False,
        ),
    )


def email_panel() -> rx.Component:
    return panel(
        "Email",
        rx.hstack(
            rx.text(AccountState.email, weight="medium"),
            rx.cond(
                AccountState.email_verified,
                rx.badge("Verified", color_scheme="green"),
                rx.badge("Not verified", color_scheme="orange"),
            ),
            spacing="3",
            wrap="wrap",
        ),
        info_callout(AccountState.verify_notice),
        error_callout(AccountState.verify_error),
        rx.cond(
            ~AccountState.email_verified,
            rx.button(
                "Resend verification link", variant="outline", on_click=AccountState.resend_verification
            ),
        ),
        rx.text("Sign-in methods: ", rx.text.strong(AccountState.sign_in_methods.join(", ")), size="2"),
    )


def password_panel() -> rx.Component:
    return panel(
        "Change password",
        info_callout(AccountState.password_notice),
        error_callout(AccountState.password_error),
        rx.form(
            rx.vstack(
                field(
                    "Current password",
                    name="current_password",
                    type_="password",
                    auto_complete="current-password",
                ),
                field(
                    "New password",
                    name="new_password",
                    type_="password",
                    auto_complete="new-password",
                    hint="8 to 128 characters. Avoid common passwords.",
                ),
                rx.button("Change password", type="submit", color_scheme=ACCENT),
                spacing="3",
                width="100%",
            ),
            on_submit=AccountState.change_password,
            reset_on_submit=True,
        ),
    )


def credits_panel() -> rx.Component:
    return panel(
        "Credits",
        rx.hstack(
            rx.text("Balance: ", rx.text.strong(AccountState.balance, id="credit-balance"), size="4"),
            rx.spacer(),
            rx.link(rx.button("Buy credits", color_scheme=ACCENT), href="/pricing"),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        rx.text("1 credit = 1 minute of conversation, charged per second.", size="2", color="var(--gray-11)"),
        rx.cond(
            AccountState.history.length() > 0,
            rx.el.ul(
                rx.foreach(
                    AccountState.history,
                    lambda row: rx.el.li(
                        rx.hstack(
                            rx.text(row["what"]),
                            rx.spacer(),
                            rx.text(row["when"], size="1", color="var(--gray-11)"),
                            width="100%",
                            wrap="wrap",
                        ),
                        padding_y="0.4rem",
                        border_bottom="1px solid var(--gray-a4)",
                    ),
                ),
                aria_label="Credit history",
                style={"list_style": "none", "padding": 0, "margin": 0, "width": "100%"},
            ),
            rx.text("No credit movements yet.", color="var(--gray-11)"),
        ),
    )


def packs_panel() -> rx.Component:
    return panel(
        "Buy credits",
        rx.text("Credits never expire. You pay on a secure checkout page.", size="2", color="var(--gray-11)"),
        *[
            rx.hstack(
                rx.text(rx.text.strong(pack.name), f" · {pack.credits} credits · {pack.price_label}"),
                rx.spacer(),
                rx.box(buy_button(pack, "Buy"), width="8rem"),
                width="100%",
                align="center",
            )
            for pack in credit_packs()
        ],
    )


def payments_panel() -> rx.Component:
    return panel(
        "Payments and invoices",
        rx.cond(
            AccountState.payments.length() > 0,
            rx.box(
                rx.table.root(
                    table_caption("Payments"),
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ("Date", "Pack", "Amount", "Status", "")
                            ]
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            AccountState.payments,
                            lambda row: rx.table.row(
                                rx.table.cell(row["when"]),
                                rx.table.cell(row["pack"]),
                                rx.table.cell(row["amount"]),
                                rx.table.cell(row["status_label"]),
                                rx.table.cell(
                                    rx.cond(
                                        row["invoice"] != "",
                                        rx.link("Invoice", href=row["invoice"], is_external=True),
                                    )
                                ),
                            ),
                        )
                    ),
                    size="1",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.text("No payments yet.", color="var(--gray-11)"),
        ),
    )


def sessions_panel() -> rx.Component:
    return panel(
        "Signed-in browsers",
        rx.hstack(
            rx.button("Log out", variant="outline", on_click=AuthState.log_out(False)),
            rx.button(
                "Log out everywhere", variant="outline", color_scheme="red", on_click=AuthState.log_out(True)
            ),
            spacing="3",
            wrap="wrap",
        ),
    )


def delete_panel() -> rx.Component:
    return panel(
        "Delete my account",
        rx.text(
            "This removes your name, email, sign-in methods, transcripts and feedback for good. "
            "Records of credits and payments are kept without your personal data, for accounting.",
            color="var(--gray-11)",
        ),
        error_callout(AccountState.delete_error),
        rx.form(
            rx.vstack(
                field(f"Type {DELETE_CONFIRMATION} to confirm", name="confirm", auto_complete="off"),
                rx.cond(
                    AccountState.has_password,
                    field(
                        "Your password", name="password", type_="password", auto_complete="current-password"
                    ),
                    rx.text(
                        f"For your safety, this works within {RECENT_SIGN_IN_MINUTES} minutes of "
                        "signing in: log out and sign in again with Google or Apple first.",
                        color="var(--gray-11)",
                    ),
                ),
                rx.button("Delete my account", type="submit", color_scheme="red"),
                spacing="3",
                width="100%",
            ),
            on_submit=AccountState.delete_account,
        ),
    )


@page(
    route="/account",
    title="Your account · Fluentio",
    description="Your Fluentio account.",
    public=False,
    on_load=[AuthState.require_learner, AccountState.load],
)
def account() -> rx.Component:
    return app_shell(
        signed_in_only(
            rx.vstack(
                rx.heading("Your account", as_="h1", size="8"),
                rx.grid(
                    profile_panel(),
                    email_panel(),
                    credits_panel(),
                    packs_panel(),
                    payments_panel(),
                    password_panel(),
                    sessions_panel(),
                    install_panel(),
                    data_export_panel(),
                    delete_panel(),
                    columns={"initial": "1", "md": "2"},
                    spacing="4",
                    width="100%",
                ),
                spacing="5",
                padding_y="2rem",
                width="100%",
            )
        )
    )
