"""Accounts end to end in Chromium: sign up, verify by email, log out and in, guards.

Sign-up answers "check your inbox" whether or not the address has an account; the
verification link is what signs a new learner in."""

from __future__ import annotations

import re
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, delete

from fluentio.auth.ratelimit import SIGN_UP_PER_IP
from fluentio.models import AuthAttempt
from tests.conftest import E2E_ADMIN_EMAIL
from tests.support.app_server import RunningApp
from tests.support.databases import session_on

pytestmark = pytest.mark.e2e
PASSWORD = "correct-horse-battery-42"


def unique_email(prefix: str = "learner") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def link_sent_to(outbox: Path, email: str, path: str) -> str:
    for eml in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        if message["To"] and email in message["To"]:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            match = re.search(
                r"https?://\S+" + re.escape(path) + r"\?token=[\w\-]+(?:&next=\S+)?", body.get_content()
            )
            if match:
                return match.group(0)
    raise AssertionError(f"no {path} link was sent to {email}")


def submit_sign_up(page: Page, email: str, name: str = "Ana", password: str = PASSWORD) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()


def sign_up(page: Page, app: RunningApp, email: str, name: str = "Ana") -> None:
    """Sign up, then open the emailed verification link, which signs in (classroom)."""
    page.goto(app.url("/signup"))
    submit_sign_up(page, email, name)
    expect(page.locator("#signup-sent")).to_contain_text(f"Check your inbox: we sent an email to {email}")
    assert app.outbox is not None
    page.goto(link_sent_to(app.outbox, email, "/verify-email"))
    # A new learner lands where they can start talking.
    expect(page).to_have_url(re.compile(r"/classroom\?welcome=1$"))
    expect(page.get_by_test_id("welcome")).to_contain_text("Welcome to Fluentio")
    expect(page.get_by_role("button", name="Start session")).to_be_visible()


def forget_sign_up_attempts(app: RunningApp) -> None:
    """Every test signs up from 127.0.0.1: start with a fresh per-IP sign-up count."""
    with session_on(app.database_url) as s:
        s.exec(delete(AuthAttempt).where(col(AuthAttempt.scope) == SIGN_UP_PER_IP.scope))
        s.commit()


def emails_to(outbox: Path, email: str) -> list[str]:
    """Subjects of the emails sent to `email`, oldest first."""
    messages = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in outbox.glob("*.eml")]
    return [
        str(m["Subject"])
        for m in sorted(messages, key=lambda m: str(m["Date"] or ""))
        if email in str(m["To"])
    ]


def log_in(page: Page, app: RunningApp, email: str, password: str = PASSWORD, next_path: str = "") -> None:
    page.goto(app.url("/login" + (f"?next={next_path}" if next_path else "")))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_verify_log_out_and_in(app_server: RunningApp, page: Page) -> None:
    email = unique_email()
    sign_up(page, app_server, email)
    page.get_by_test_id("app-header").get_by_role("link", name="Account").click()
    expect(page.locator("#credit-balance")).to_have_text("30 credits")
    expect(page.get_by_text("Welcome bonus")).to_be_visible()
    expect(page.get_by_text("Verified", exact=True)).to_be_visible()

    # The session cookie is HttpOnly, SameSite=Lax: page scripts cannot read it.
    cookie = next(c for c in page.context.cookies() if c["name"] == "fluentio_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "fluentio_session" not in page.evaluate("document.cookie")

    page.get_by_test_id("app-header").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/\?signed_out=1$"))
    page.goto(app_server.url("/classroom"))
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fclassroom$"))

    log_in(page, app_server, email, password="wrong-password-123")
    expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/classroom$"))
    expect(page.get_by_role("heading", name="Classroom")).to_be_visible()


@pytest.mark.parametrize("path", ["/classroom", "/history", "/account", "/admin"])
def test_anonymous_visitors_are_sent_to_login(app_server: RunningApp, page: Page, path: str) -> None:
    page.goto(app_server.url(path))
    expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(path.replace("/", "%2F")) + "$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_learner_is_not_allowed_on_admin_but_admin_is(app_server: RunningApp, page: Page, browser) -> None:
    sign_up(page, app_server, unique_email())
    page.goto(app_server.url("/admin"))
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()

    admin_context = browser.new_context()
    admin_page = admin_context.new_page()
    try:
        # Registering the owner's address is not owning it: signed in with the password
        # but not through the emailed link, there is no back office.
        admin_page.goto(app_server.url("/signup"))
        submit_sign_up(admin_page, E2E_ADMIN_EMAIL)
        expect(admin_page.locator("#signup-sent")).to_be_visible()
        log_in(admin_page, app_server, E2E_ADMIN_EMAIL, next_path="/admin")
        expect(admin_page.get_by_role("heading", name="Not allowed")).to_be_visible()
        assert app_server.outbox is not None
        admin_page.goto(link_sent_to(app_server.outbox, E2E_ADMIN_EMAIL, "/verify-email"))
        # The link verifies the address and signs in: the new learner lands in the classroom.
        expect(admin_page).to_have_url(re.compile(r"/classroom\?welcome=1$"))
        admin_page.goto(app_server.url("/admin"))
        expect(admin_page.get_by_role("heading", name="Admin")).to_be_visible()
        expect(admin_page.get_by_role("heading", name="Not allowed")).to_have_count(0)
    finally:
        admin_context.close()


def test_a_taken_email_gets_the_same_answer_and_its_owner_an_email(
    app_server: RunningApp, page: Page
) -> None:
    """Sign-up does not reveal which emails have accounts (as log-in and reset don't):
    a taken address gets the new account's answer word for word, and its owner is told."""
    assert app_server.outbox is not None
    forget_sign_up_attempts(app_server)
    email = unique_email()
    sign_up(page, app_server, email)
    page.context.clear_cookies()
    fresh = unique_email()
    answers = []
    for address in (email.upper(), fresh):
        page.goto(app_server.url("/signup"))
        submit_sign_up(page, address, password="another-long-passphrase-7")
        sent = page.locator("#signup-sent")
        expect(sent).to_be_visible()
        answers.append(sent.inner_text().replace(address.lower(), "<address>"))
        expect(page.get_by_role("alert")).to_have_count(0)
    assert answers[0] == answers[1]
    assert sorted(emails_to(app_server.outbox, email)) == [
        "Verify your email",
        "You already have a Fluentio account",
    ]
    assert emails_to(app_server.outbox, fresh) == ["Verify your email"]


def test_a_weak_password_says_what_to_do(app_server: RunningApp, page: Page) -> None:
    page.goto(app_server.url("/signup"))
    submit_sign_up(page, unique_email(), password="password")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("#signup-sent")).to_have_count(0)
    assert "/signup" in page.url


def test_a_bad_ticket_sets_no_cookie(app_server: RunningApp) -> None:
    response = httpx.get(app_server.url("/auth/complete?ticket=not-a-ticket&next=/classroom"))
    assert response.status_code == 303
    assert response.headers["location"] == "/login?error=expired"
    assert "set-cookie" not in response.headers


def test_sign_up_returns_to_where_the_visitor_was_going(app_server: RunningApp, page: Page) -> None:
    forget_sign_up_attempts(app_server)
    page.goto(app_server.url("/pricing"))
    page.get_by_role("button", name=re.compile("^Buy ")).first.click()
    expect(page).to_have_url(re.compile(r"/signup\?next=%2Fpricing$"))
    email = unique_email()
    submit_sign_up(page, email, name="Bea")
    expect(page.locator("#signup-sent")).to_be_visible()
    assert app_server.outbox is not None
    page.goto(link_sent_to(app_server.outbox, email, "/verify-email"))
    expect(page).to_have_url(re.compile(r"/pricing$"))
    expect(page.get_by_role("button", name=re.compile("^Buy ")).first).to_be_visible()
