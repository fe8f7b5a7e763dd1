"""Accounts end to end in Chromium: sign up, verify by email, log out and in, guards."""

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
            match = re.search(r"https?://\S+" + re.escape(path) + r"\?token=[\w\-]+", body.get_content())
            if match:
                return match.group(0)
    raise AssertionError(f"no {path} link was sent to {email}")


def sign_up(page: Page, app: RunningApp, email: str, name: str = "Ana") -> None:
    page.goto(app.url("/signup"))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    # A new learner lands where they can start talking.
    expect(page).to_have_url(re.compile(r"/classroom\?welcome=1$"))
    expect(page.get_by_test_id("welcome")).to_contain_text("Welcome to Fluentio")
    expect(page.get_by_role("button", name="Start session")).to_be_visible()


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
    expect(page.get_by_text("Not verified")).to_be_visible()

    # The session cookie is HttpOnly, SameSite=Lax: page scripts cannot read it.
    cookie = next(c for c in page.context.cookies() if c["name"] == "fluentio_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "fluentio_session" not in page.evaluate("document.cookie")

    assert app_server.outbox is not None
    page.goto(link_sent_to(app_server.outbox, email, "/verify-email"))
    expect(page.get_by_text("Your email is verified")).to_be_visible()
    page.goto(app_server.url("/account"))
    expect(page.get_by_text("Verified", exact=True)).to_be_visible()

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
        sign_up(admin_page, app_server, E2E_ADMIN_EMAIL)
        admin_page.goto(app_server.url("/admin"))
        expect(admin_page.get_by_role("heading", name="Admin")).to_be_visible()
        expect(admin_page.get_by_role("heading", name="Not allowed")).to_have_count(0)
    finally:
        admin_context.close()


def test_taken_email_and_weak_password_say_what_to_do(app_server: RunningApp, page: Page) -> None:
    email = unique_email()
    sign_up(page, app_server, email)
    page.context.clear_cookies()
    page.goto(app_server.url("/signup"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("already exists")
    page.get_by_label("Email").fill(unique_email())
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert "/signup" in page.url


def test_a_bad_ticket_sets_no_cookie(app_server: RunningApp) -> None:
    response = httpx.get(app_server.url("/auth/complete?ticket=not-a-ticket&next=/classroom"))
    assert response.status_code == 303
    assert response.headers["location"] == "/login?error=expired"
    assert "set-cookie" not in response.headers


def test_sign_up_returns_to_where_the_visitor_was_going(app_server: RunningApp, page: Page) -> None:
    # Every test signs up from 127.0.0.1; start this one with a fresh per-IP sign-up count.
    with session_on(app_server.database_url) as s:
        s.exec(delete(AuthAttempt).where(col(AuthAttempt.scope) == SIGN_UP_PER_IP.scope))
        s.commit()
    page.goto(app_server.url("/pricing"))
    page.get_by_role("link", name=re.compile("^Buy ")).first.click()
    expect(page).to_have_url(re.compile(r"/signup\?next=%2Fpricing$"))
    page.get_by_label("Name").fill("Bea")
    page.get_by_label("Email").fill(unique_email())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/pricing$"))
    expect(page.get_by_role("button", name=re.compile("^Buy ")).first).to_be_visible()
