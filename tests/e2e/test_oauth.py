"""Google and Apple sign-in end to end in Chromium, against local OpenID providers.

The providers (tests/support/oidc_provider.py) sign real ID tokens with keys made here
and are served as `localhost`, another site than the app at 127.0.0.1, so Apple's
form_post callback is a real cross-site POST, as in production.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, func, select

from fluentio.auth.passwords import hash_password
from fluentio.billing import ledger
from fluentio.models import MILLICREDITS_PER_CREDIT, LedgerEntry, LoginSession, OAuthIdentity, Role, User
from tests.support.app_server import RunningApp, start_prod_app, stop_app
from tests.support.databases import fresh_postgres, session_on
from tests.support.factories import make_user
from tests.support.oidc_provider import AppleClientAuth, LocalOpenIDProvider, NextLogin, make_apple_key

pytestmark = pytest.mark.e2e

GOOGLE_ID = "fluentio-e2e.apps.googleusercontent.test"
GOOGLE_SECRET = "google-e2e-secret"
APPLE_ID = "com.fluentio.e2e.web"
APPLE_TEAM = "TEAME2E123"
APPLE_KEY_ID = "KEYE2E1234"
ADMIN_EMAIL = "oauth-admin@example.com"
PASSWORD = "owner-password-42"


@dataclass
class Idps:
    google: LocalOpenIDProvider
    apple: LocalOpenIDProvider
    apple_key_pem: str  # what the app gets as APPLE_PRIVATE_KEY


@pytest.fixture(scope="module")
def idps() -> Iterator[Idps]:
    apple_key, pem = make_apple_key()
    google = LocalOpenIDProvider(client_id=GOOGLE_ID, client_secret=GOOGLE_SECRET).start()
    apple = LocalOpenIDProvider(
        client_id=APPLE_ID,
        apple=AppleClientAuth(team_id=APPLE_TEAM, key_id=APPLE_KEY_ID, public_key=apple_key),
        email_verified_as_string=True,
        send_user_field=True,
    ).start()
    yield Idps(google, apple, pem)
    google.stop()
    apple.stop()


@pytest.fixture(scope="module")
def oauth_app(
    idps: Idps, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningApp]:
    """The production build with Google and Apple pointed at the local providers."""
    with fresh_postgres(prefix="fluentio_oauth") as url:
        app = start_prod_app(
            database_url=url,
            log_dir=artifacts_dir,
            extra_env={
                "FLUENTIO_OUTBOX_DIR": str(tmp_path_factory.mktemp("oauth-outbox")),
                "FLUENTIO_ADMIN_EMAILS": ADMIN_EMAIL,
                "GOOGLE_CLIENT_ID": GOOGLE_ID,
                "GOOGLE_CLIENT_SECRET": GOOGLE_SECRET,
                "GOOGLE_METADATA_URL": idps.google.metadata_url,
                "APPLE_CLIENT_ID": APPLE_ID,
                "APPLE_TEAM_ID": APPLE_TEAM,
                "APPLE_KEY_ID": APPLE_KEY_ID,
                # As written in a .env file: one line, newlines as \n.
                "APPLE_PRIVATE_KEY": idps.apple_key_pem.replace("\n", "\\n"),
                "APPLE_METADATA_URL": idps.apple.metadata_url,
            },
        )
        try:
            yield app
        finally:
            stop_app(app)


def unique_email(prefix: str = "oauth") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def continue_with(page: Page, app: RunningApp, provider: str, start: str = "/login") -> None:
    """From a Fluentio page, through the provider's consent page, back to Fluentio."""
    page.goto(app.url(start))
    link = page.get_by_role("link", name=f"Continue with {provider}")
    if "next=" in start:  # the page's on_load passes `next` on to the provider link
        expect(link).to_have_attribute("href", re.compile(r"\?next=%2F"))
    link.click()
    expect(page.get_by_role("heading", name="Test OpenID provider")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Sign in as ")).click()


def user_by_email(app: RunningApp, email: str) -> User | None:
    with session_on(app.database_url) as session:
        return session.exec(select(User).where(User.email == email.lower())).first()


def identity_rows(app: RunningApp, user_id: uuid.UUID) -> list[tuple[str, str]]:
    with session_on(app.database_url) as session:
        rows = session.exec(select(OAuthIdentity).where(OAuthIdentity.user_id == user_id)).all()
        return [(row.provider, row.subject) for row in rows]


def credits_of(app: RunningApp, user_id: uuid.UUID) -> tuple[int, int]:
    """(balance in credits, number of welcome-bonus entries)."""
    with session_on(app.database_url) as session:
        bonuses = session.exec(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.user_id == user_id, col(LedgerEntry.idempotency_key).startswith("signup:"))
        ).one()
        return ledger.balance(session=session, user_id=user_id) // MILLICREDITS_PER_CREDIT, bonuses


def password_account(app: RunningApp, email: str) -> uuid.UUID:
    with session_on(app.database_url) as session:
        user = make_user(session, email=email, password_hash=hash_password(PASSWORD), display_name="Owner")
        ledger.ensure_signup_bonus(session=session, user_id=user.id)
        session.commit()
        return user.id


def test_google_sign_up_then_sign_in_again(oauth_app: RunningApp, idps: Idps, page: Page) -> None:
    email = unique_email("google")
    idps.google.login = NextLogin(email=email, name="Gabi Souza")
    continue_with(page, oauth_app, "Google", start="/login?next=%2Fclassroom")
    expect(page).to_have_url(oauth_app.url("/classroom"))

    user = user_by_email(oauth_app, email)
    assert user is not None and user.email_verified_at is not None and user.display_name == "Gabi Souza"
    assert credits_of(oauth_app, user.id) == (30, 1)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["fluentio_session"]["httpOnly"] and "fluentio_oauth" not in cookies

    page.goto(oauth_app.url("/account"))
    expect(page.locator("#credit-balance")).to_have_text("30 credits")
    expect(page.get_by_text("Sign-in methods:")).to_contain_text("Google")

    # Signing in again, from a fresh browser: the same account, no second bonus.
    page.context.clear_cookies()
    continue_with(page, oauth_app, "Google")
    expect(page).to_have_url(oauth_app.url("/classroom"))
    assert credits_of(oauth_app, user.id) == (30, 1)
    assert len(identity_rows(oauth_app, user.id)) == 1


def test_apple_form_post_survives_the_cross_site_post(oauth_app: RunningApp, idps: Idps, page: Page) -> None:
    email = unique_email("apple")
    idps.apple.login = NextLogin(email=email, name="Bo Chen")
    callbacks: list[str] = []
    page.on(
        "request",
        lambda r: callbacks.append(r.post_data or "") if r.url.endswith("/auth/apple/callback") else None,
    )
    continue_with(page, oauth_app, "Apple", start="/signup")
    expect(page).to_have_url(oauth_app.url("/classroom"))

    # The provider's POST came without the Lax flow cookie; the app re-posted it itself.
    assert len(callbacks) == 2 and "fluentio_relayed=1" in callbacks[1]
    user = user_by_email(oauth_app, email)
    assert user is not None and user.display_name == "Bo Chen"  # from Apple's `user` field
    assert [p for p, _ in identity_rows(oauth_app, user.id)] == ["apple"]
    assert credits_of(oauth_app, user.id) == (30, 1)


def test_a_verified_email_links_to_the_existing_password_account(
    oauth_app: RunningApp, idps: Idps, page: Page
) -> None:
    email = unique_email("owner")
    owner_id = password_account(oauth_app, email)
    idps.google.login = NextLogin(email=email)
    continue_with(page, oauth_app, "Google")
    expect(page).to_have_url(oauth_app.url("/classroom"))
    assert [p for p, _ in identity_rows(oauth_app, owner_id)] == ["google"]
    assert credits_of(oauth_app, owner_id) == (30, 1)
    page.goto(oauth_app.url("/account"))
    expect(page.get_by_text("Sign-in methods:")).to_contain_text("Email and password, Google")


def test_an_unverified_email_never_takes_over_an_account(
    oauth_app: RunningApp, idps: Idps, page: Page
) -> None:
    email = unique_email("victim")
    owner_id = password_account(oauth_app, email)
    with session_on(oauth_app.database_url) as session:
        owner = session.get(User, owner_id)
        assert owner is not None
        before = (owner.password_hash, owner.email_verified_at, owner.role, owner.display_name)

    idps.apple.login = NextLogin(email=email, email_verified=False)
    continue_with(page, oauth_app, "Apple")
    expect(page).to_have_url(re.compile(r"/login\?error=oauth_unverified&provider=apple$"))
    expect(page.get_by_role("alert")).to_contain_text("Log in with your email and password instead")
    assert "fluentio_session" not in {c["name"] for c in page.context.cookies()}

    with session_on(oauth_app.database_url) as session:
        owner = session.get(User, owner_id)
        assert owner is not None
        assert (owner.password_hash, owner.email_verified_at, owner.role, owner.display_name) == before
        sessions = session.exec(select(LoginSession).where(LoginSession.user_id == owner_id)).all()
        assert sessions == []
    assert identity_rows(oauth_app, owner_id) == []


def test_a_tampered_id_token_is_refused(oauth_app: RunningApp, idps: Idps, page: Page) -> None:
    email = unique_email("tamper")
    idps.google.login = NextLogin(email=email, tamper_id_token=True)
    continue_with(page, oauth_app, "Google")
    expect(page).to_have_url(re.compile(r"/login\?error=oauth_failed&provider=google$"))
    expect(page.get_by_role("alert")).to_contain_text("We could not confirm your Google sign-in")
    assert user_by_email(oauth_app, email) is None
    assert user_by_email(oauth_app, "someone-else@example.com") is None
    assert "fluentio_session" not in {c["name"] for c in page.context.cookies()}


def test_a_wrong_state_is_refused_before_the_code_is_used(
    oauth_app: RunningApp, idps: Idps, page: Page
) -> None:
    email = unique_email("state")
    idps.google.login = NextLogin(email=email, alter_state=True)
    token_calls = len(idps.google.token_requests)
    continue_with(page, oauth_app, "Google")
    expect(page).to_have_url(re.compile(r"/login\?error=oauth_state&provider=google$"))
    expect(page.get_by_role("alert")).to_contain_text("could not be matched to this browser")
    assert len(idps.google.token_requests) == token_calls
    assert user_by_email(oauth_app, email) is None


def test_a_callback_from_another_browser_is_refused(
    oauth_app: RunningApp, idps: Idps, browser: Browser
) -> None:
    """A callback URL made in one browser (say, an attacker's) opened in another."""
    email = unique_email("csrf")
    idps.google.login = NextLogin(email=email)
    attacker = httpx.Client(follow_redirects=False)
    start = attacker.get(oauth_app.url("/auth/google/start"))
    consent = attacker.get(
        start.headers["location"].replace("/authorize?", "/authorize/decide?decision=approve&")
    )
    callback_url = consent.headers["location"]
    attacker.close()

    victim = browser.new_context()
    try:
        victim_page = victim.new_page()
        victim_page.goto(callback_url)
        expect(victim_page).to_have_url(re.compile(r"/login\?error=oauth_state&provider=google$"))
        assert "fluentio_session" not in {c["name"] for c in victim.cookies()}
    finally:
        victim.close()
    assert user_by_email(oauth_app, email) is None


def test_cancelling_at_the_provider_says_so(oauth_app: RunningApp, idps: Idps, page: Page) -> None:
    idps.google.login = NextLogin(email=unique_email("cancel"))
    page.goto(oauth_app.url("/login"))
    page.get_by_role("link", name="Continue with Google").click()
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login\?error=oauth_cancelled&provider=google$"))
    expect(page.get_by_role("alert")).to_contain_text("Google sign-in was cancelled")


def test_an_admin_email_signs_in_as_admin(oauth_app: RunningApp, idps: Idps, page: Page) -> None:
    idps.google.login = NextLogin(email=ADMIN_EMAIL)
    continue_with(page, oauth_app, "Google", start="/login?next=%2Fadmin")
    expect(page).to_have_url(oauth_app.url("/admin"))
    expect(page.get_by_role("heading", name="Not allowed")).to_have_count(0)
    user = user_by_email(oauth_app, ADMIN_EMAIL)
    assert user is not None and user.role == Role.ADMIN


def test_providers_are_offered_only_when_configured(app_server: RunningApp, page: Page) -> None:
    """The shared app has no GOOGLE_/APPLE_ settings: no buttons, no routes."""
    page.goto(app_server.url("/login"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Continue with"))).to_have_count(0)
    for provider in ("google", "apple"):
        assert httpx.get(app_server.url(f"/auth/{provider}/start")).status_code == 404
        assert httpx.post(app_server.url(f"/auth/{provider}/callback")).status_code == 404
