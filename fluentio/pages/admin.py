"""/admin: dashboard with charts, user search, a user's credits, sessions and payments,
credit grants and deductions with a reason, roles, payments held for review, and failed
background jobs with "Retry".

Guarded on the server twice: `AuthState.require_admin` on load, and every AdminState
handler resolves the user from the session cookie and re-checks the admin role (the
service functions in fluentio/backoffice/service.py check it once more), so events sent
straight to the socket by a learner are refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx
from sqlmodel import Session

from fluentio.auth.roles import is_admin
from fluentio.auth.state import AuthState, signed_in_user
from fluentio.backoffice import service
from fluentio.components.forms import error_callout, field, info_callout
from fluentio.components.guards import admins_only
from fluentio.components.layout import app_shell, page
from fluentio.components.stacked_table import stacked_on_phones, table_caption
from fluentio.components.theme import ACCENT
from fluentio.db import session_scope
from fluentio.models import User

T = TypeVar("T")

NOT_ALLOWED = "Only administrators can do this. Log in with an admin account."


class AdminState(rx.State):
    """The admin page's data. Lists and the open user are cleared whenever a non-admin acts."""

    query: str = ""
    results: list[dict[str, str]] = []
    profile: dict[str, str] = {}
    ledger_rows: list[dict[str, str]] = []
    session_rows: list[dict[str, str]] = []
    payment_rows: list[dict[str, str]] = []
    figures: list[dict[str, str]] = []
    weekly: list[dict[str, Any]] = []
    revenue_currency: str = "USD"
    held: list[dict[str, str]] = []
    failed_jobs: list[dict[str, str]] = []
    notice: str = ""
    error: str = ""

    def _clear(self) -> None:
        self.results, self.figures, self.weekly, self.held, self.failed_jobs = [], [], [], [], []
        self._close()

    def _close(self) -> None:
        self.profile, self.ledger_rows, self.session_rows, self.payment_rows = {}, [], [], []

    def _admin(self) -> User | None:
        """The signed-in admin, or None after clearing the page and saying why."""
        user = signed_in_user(self)
        if not is_admin(user):
            self._clear()
            self.notice, self.error = "", NOT_ALLOWED
            return None
        return user

    def _run(self, admin: User, action: Callable[[Session, User], T]) -> T | None:
        """Run a service call (which checks the role again); show its refusal instead of raising."""
        try:
            with session_scope() as session:
                return action(session, admin)
        except service.AdminError as exc:
            self.error = str(exc)
            return None

    def _refresh_lists(self, admin: User) -> None:
        def read(session: Session, admin: User) -> None:
            board = service.dashboard(session, admin=admin)
            self.figures, self.weekly, self.revenue_currency = (
                board.figures,
                board.weekly,
                board.revenue_currency,
            )
            self.held = service.held_payments(session, admin=admin)
            self.results = service.search_users(session, admin=admin, query=self.query)

        self._run(admin, read)

    def _open(self, admin: User, user_id: str) -> None:
        try:
            target = uuid.UUID(user_id)
        except ValueError:
            self.error = "That is not a user id. Pick a user from the search results."
            return
        detail = self._run(admin, lambda session, a: service.user_detail(session, admin=a, user_id=target))
        if detail is not None:
            self.profile = detail.profile
            self.ledger_rows, self.session_rows, self.payment_rows = (
                detail.ledger,
                detail.sessions,
                detail.payments,
            )

    @rx.event
    def load(self) -> None:
        self.notice = self.error = ""
        self._close()
        admin = self._admin()
        if admin is not None:
            self._refresh_lists(admin)

    @rx.event
    def search(self, form: dict[str, str]) -> None:
        self.notice = self.error = ""
        admin = self._admin()
        if admin is None:
            return
        self.query = str(form.get("query", ""))[:100]
        results = self._run(
            admin, lambda session, a: service.search_users(session, admin=a, query=self.query)
        )
        if results is not None:
            self.results = results

    @rx.event
    def open_user(self, user_id: str) -> None:
        self.notice = self.error = ""
        admin = self._admin()
        if admin is not None:
            self._open(admin, user_id)

    @rx.event
    def close_user(self) -> None:
        self._close()

    def _change_open_user(self, missing: str, change: Callable[[Session, User, uuid.UUID], str]) -> None:
        """Apply `change` to the user open on the page, then show them and the lists anew."""
        self.notice = self.error = ""
        admin = self._admin()
        if admin is None:
            return
        user_id = self.profile.get("id", "")
        try:
            target = uuid.UUID(user_id)
        except ValueError:
            self.error = missing
            return
        message = self._run(admin, lambda session, a: change(session, a, target))
        if message is not None:
            self._open(admin, user_id)
            self._refresh_lists(admin)
            self.notice = message

    @rx.event
    def adjust(self, form: dict[str, str]) -> None:
        grant = form.get("direction", "grant") != "deduct"
        self._change_open_user(
            "Open a user first, then grant or deduct.",
            lambda session, admin, target: service.adjust_credits(
                session,
                admin=admin,
                user_id=target,
                amount=str(form.get("amount", "")),
                reason=str(form.get("reason", "")),
                grant=grant,
            ),
        )

    @rx.event
    def set_role(self, role: str) -> None:
        self._change_open_user(
            "Open a user first.",
            lambda session, admin, target: service.set_role(
                session, admin=admin, user_id=target, role=str(role)
            ),
        )

    @rx.event
    def release(self, form: dict[str, str]) -> None:
        self.notice = self.error = ""
        admin = self._admin()
        if admin is None:
            return
        try:
            payment_id = uuid.UUID(str(form.get("payment_id", "")))
        except ValueError:
            self.error = "Pick a held payment from the list."
            return
        message = self._run(
            admin,
            lambda session, a: service.release_held_payment(
                session, admin=a, payment_id=payment_id, email=str(form.get("email", ""))
            ),
        )
        if message is not None:
            self._refresh_lists(admin)
            self.notice = message

    async def _refresh_jobs(self, admin: User) -> None:
        try:
            self.failed_jobs = await service.failed_jobs(admin=admin)
        except service.AdminError as exc:
            self.failed_jobs, self.error = [], str(exc)

    @rx.event
    async def load_jobs(self) -> None:
        admin = self._admin()
        if admin is not None:
            await self._refresh_jobs(admin)

    @rx.event
    async def retry_job(self, job_id: str) -> None:
        self.notice = self.error = ""
        admin = self._admin()
        if admin is None:
            return
        try:
            self.notice = await service.retry_failed_job(admin=admin, job_id=str(job_id))
        except service.AdminError as exc:
            self.error = str(exc)
        await self._refresh_jobs(admin)


def panel(title: str, *children: rx.Component, **props: Any) -> rx.Component:
    return rx.card(
        rx.vstack(rx.heading(title, as_="h2", size="5"), *children, spacing="3", width="100%"),
        size="3",
        width="100%",
        **props,
    )


def table(headers: list[str], rows: rx.Var, cells: list[str], label: str, extra: Any = None) -> rx.Component:
    """A simple table of `rows` (dicts), one column per key in `cells`; stacked on phones."""
    return stacked_on_phones(
        rx.table.root(
            table_caption(label),
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
            rx.table.body(
                rx.foreach(
                    rows,
                    # `headers` may name one more column than `cells`: the `extra` one.
                    lambda row: rx.table.row(
                        *[
                            rx.table.cell(row[key], data_label=header)
                            for key, header in zip(cells, headers, strict=False)
                        ],
                        *([extra(row)] if extra else []),
                    ),
                )
            ),
            size="1",
            variant="surface",
            width="100%",
        ),
    )


def figure_card(figure: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(figure["label"], size="2", color="var(--gray-11)"),
            rx.text(figure["value"], size="6", weight="bold"),
            rx.text(figure["hint"], size="1", color="var(--gray-11)"),
            spacing="1",
        ),
        size="2",
    )


def chart(title: str | rx.Var[str], *series: rx.Component, kind: str = "bar") -> rx.Component:
    make = rx.recharts.bar_chart if kind == "bar" else rx.recharts.line_chart
    return rx.card(
        rx.vstack(
            rx.text(title, weight="medium"),
            make(
                *series,
                rx.recharts.x_axis(data_key="week"),
                rx.recharts.y_axis(),
                rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                rx.recharts.graphing_tooltip(),
                rx.recharts.legend(),
                data=AdminState.weekly,
                width="100%",
                height=240,
            ),
            width="100%",
        ),
        size="2",
        width="100%",
    )


def dashboard() -> rx.Component:
    return panel(
        "Dashboard",
        rx.grid(
            rx.foreach(AdminState.figures, figure_card),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="3",
            width="100%",
            id="admin-figures",
        ),
        rx.grid(
            chart(
                "Minutes practised per week", rx.recharts.bar(data_key="minutes", fill=f"var(--{ACCENT}-9)")
            ),
            chart(
                "Active learners and sign-ups per week",
                rx.recharts.line(data_key="active", stroke=f"var(--{ACCENT}-9)"),
                rx.recharts.line(data_key="signups", stroke="var(--orange-9)"),
                kind="line",
            ),
            chart(
                "Revenue (" + AdminState.revenue_currency + ") and estimated OpenAI cost (USD) per week",
                rx.recharts.bar(data_key="revenue", fill="var(--green-9)"),
                rx.recharts.bar(data_key="cost", fill="var(--red-9)"),
            ),
            columns=rx.breakpoints(initial="1", lg="3"),
            spacing="3",
            width="100%",
        ),
    )


def held_payments() -> rx.Component:
    def release_form(row: rx.Var) -> rx.Component:
        return rx.table.cell(
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="payment_id", value=row["id"]),
                    rx.input(
                        name="email",
                        type="email",
                        placeholder="learner@example.com",
                        aria_label="Email of the account to credit",
                        required=True,
                    ),
                    rx.button("Credit this account", type="submit", size="1"),
                    spacing="2",
                ),
                on_submit=AdminState.release,
                reset_on_submit=True,
            )
        )

    return rx.cond(
        AdminState.held.length() > 0,
        panel(
            "Payments on hold",
            rx.text(
                "Verified payments that couldn't be credited automatically (deleted account, amount or "
                "product mismatch). Credit the pack to the right account, or refund it in Dodo.",
                size="2",
                color="var(--gray-11)",
            ),
            table(
                ["Date", "Dodo payment", "Email", "Amount", "Why", "Resolve"],
                AdminState.held,
                ["when", "provider_id", "email", "amount", "note"],
                "Payments on hold",
                release_form,
            ),
        ),
    )


def background_jobs() -> rx.Component:
    def retry_cell(row: rx.Var) -> rx.Component:
        return rx.table.cell(
            rx.button(
                "Retry",
                size="1",
                on_click=AdminState.retry_job(row["id"]),
                aria_label="Run this job again",
            ),
            data_label="Retry",
        )

    return panel(
        "Background jobs",
        rx.text(
            "Jobs that failed for good after their retries (feedback analyses, reminders, reconcile). "
            "Fix the cause, then Retry.",
            size="2",
            color="var(--gray-11)",
        ),
        rx.cond(
            AdminState.failed_jobs.length() > 0,
            table(
                ["Task", "About", "Failed at", "Attempts", "Error", "Retry"],
                AdminState.failed_jobs,
                ["task", "about", "when", "attempts", "error"],
                "Failed background jobs",
                retry_cell,
            ),
            rx.text("No failed jobs.", size="2", data_testid="no-failed-jobs"),
        ),
    )


def users_panel() -> rx.Component:
    return panel(
        "Users",
        rx.form(
            rx.hstack(
                rx.input(
                    name="query",
                    placeholder="Search by email or name",
                    aria_label="Search users by email or name",
                    default_value=AdminState.query,
                    width="100%",
                ),
                rx.button("Search", type="submit", color_scheme=ACCENT),
                width="100%",
            ),
            on_submit=AdminState.search,
            reset_on_submit=False,
            width="100%",
        ),
        table(
            ["Email", "Name", "Role", "Balance", "Joined", "Deleted", ""],
            AdminState.results,
            ["email", "name", "role", "balance", "joined", "deleted"],
            "Users",
            lambda row: rx.table.cell(
                rx.button("Open", size="1", variant="outline", on_click=AdminState.open_user(row["id"]))
            ),
        ),
    )


def adjust_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                field("Credits", name="amount", type_="text", input_mode="decimal", required=True),
                rx.vstack(
                    rx.el.label("Action", html_for="field-direction", font_weight="500", font_size="0.95rem"),
                    rx.el.select(
                        rx.el.option("Grant", value="grant"),
                        rx.el.option("Deduct", value="deduct"),
                        id="field-direction",
                        name="direction",
                        style={"padding": "0.5rem", "border_radius": "6px", "font_size": "1rem"},
                    ),
                    spacing="1",
                ),
                spacing="3",
                align="end",
                width="100%",
            ),
            field(
                "Reason (the learner sees it)",
                name="reason",
                required=True,
                min_length=3,
                max_length=300,
                hint="Recorded on the ledger with your name.",
            ),
            rx.button("Apply", type="submit", color_scheme=ACCENT),
            spacing="3",
            width="100%",
        ),
        on_submit=AdminState.adjust,
        reset_on_submit=True,
        width="100%",
    )


def user_panel() -> rx.Component:
    profile = AdminState.profile
    return rx.cond(
        profile.contains("id"),
        panel(
            "User",
            rx.hstack(
                rx.vstack(
                    rx.heading(profile["name"], as_="h3", size="6", id="admin-user-name"),
                    rx.text(profile["email"]),
                    rx.text(
                        "Role: ",
                        rx.text.strong(profile["role"]),
                        " · Level ",
                        profile["level"],
                        " · Joined ",
                        profile["joined"],
                        " · Verified: ",
                        profile["verified"],
                        size="2",
                        color="var(--gray-11)",
                    ),
                    rx.cond(
                        profile["deleted"] != "", rx.badge("Deleted ", profile["deleted"], color_scheme="red")
                    ),
                    spacing="1",
                    align="start",
                ),
                rx.spacer(),
                rx.vstack(
                    rx.text("Balance", size="2", color="var(--gray-11)"),
                    rx.text(profile["balance"], size="6", weight="bold", id="admin-user-balance"),
                    align="end",
                    spacing="1",
                ),
                width="100%",
                wrap="wrap",
            ),
            rx.hstack(
                rx.cond(
                    profile["role"] == "admin",
                    rx.button(
                        "Remove admin role",
                        variant="outline",
                        color_scheme="red",
                        on_click=AdminState.set_role("learner"),
                    ),
                    rx.button("Make admin", variant="outline", on_click=AdminState.set_role("admin")),
                ),
                rx.button("Close", variant="ghost", on_click=AdminState.close_user),
                spacing="3",
            ),
            rx.heading("Grant or deduct credits", as_="h3", size="4"),
            adjust_form(),
            rx.heading("Ledger", as_="h3", size="4"),
            table(
                ["When", "Movement", "Actor", "By"],
                AdminState.ledger_rows,
                ["when", "what", "actor", "by"],
                "Ledger",
            ),
            rx.heading("Sessions", as_="h3", size="4"),
            table(
                ["When", "Topic", "Level", "Minutes", "Charged", "Status"],
                AdminState.session_rows,
                ["when", "topic", "level", "minutes", "charged", "status"],
                "Practice sessions",
            ),
            rx.heading("Payments", as_="h3", size="4"),
            table(
                ["When", "Pack", "Amount", "Status", "Dodo payment", "Note"],
                AdminState.payment_rows,
                ["when", "pack", "amount", "status_label", "provider_id", "note"],
                "Payments",
            ),
            id="admin-user",
        ),
    )


@page(
    route="/admin",
    title="Admin · Fluentio",
    description="Administration.",
    public=False,
    on_load=[AuthState.require_admin, AdminState.load, AdminState.load_jobs],
)
def admin() -> rx.Component:
    return app_shell(
        admins_only(
            rx.vstack(
                rx.heading("Admin", as_="h1", size="8"),
                info_callout(AdminState.notice),
                error_callout(AdminState.error),
                user_panel(),
                dashboard(),
                held_payments(),
                background_jobs(),
                users_panel(),
                spacing="5",
                padding_y="2rem",
                width="100%",
            )
        )
    )
