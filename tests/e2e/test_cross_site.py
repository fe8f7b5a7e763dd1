"""A page on another origin attacks a signed-in learner in Chromium (issue 11).

The hostile page runs on another port of 127.0.0.1 (the same *site*: cookies are shared
and SameSite=Lax cookies are sent) and on `localhost` (another site). Every attack is
paired with the same request from the app's own page, which works.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import socketio
from playwright.sync_api import Browser, expect

from fluentio.auth.cookies import LOGIN_TICKET_COOKIE, SESSION_COOKIE
from fluentio.auth.passwords import hash_password
from fluentio.auth.state import AuthState
from fluentio.models import User
from fluentio.pages.login import LoginState
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.hostile_site import hostile_site
from tests.support.reflex_events import send_event
from tests.support.sessions import add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e
HOSTS = ["127.0.0.1", "localhost"]
MALLORY_PASSWORD = "mallory-password-77"

# Read a learner's data with their cookie, and open the Reflex socket that drives their state.
PROBE_JS = """
async (app) => {
  const out = {};
  try {
    const r = await fetch(app + "/api/invoices/" + crypto.randomUUID(), {credentials: "include"});
    out.read = r.status + " " + (await r.text());
  } catch (e) {
    out.read = "blocked";
  }
  out.socket = await new Promise((done) => {
    const ws = new WebSocket(app.replace("http", "ws") + "/_event/?EIO=4&transport=websocket");
    ws.onmessage = (m) => { ws.close(); done("open: " + String(m.data).slice(0, 1)); };
    ws.onerror = () => done("refused");
    ws.onclose = () => done("refused");
    setTimeout(() => done("timeout"), 8000);
  });
  return out;
}
"""


@pytest.fixture(scope="module")
def hostile_port() -> Iterator[int]:
    with hostile_site() as port:
        yield port


@pytest.mark.parametrize("host", HOSTS)
def test_another_origin_can_neither_read_nor_drive_a_signed_in_learner(
    app_server: RunningApp, browser: Browser, hostile_port: int, host: str
) -> None:
    victim = signed_in_user(app_server)
    context = browser.new_context()
    add_session_cookie(context, app_server, victim)
    page = context.new_page()
    try:
        page.goto(f"http://{host}:{hostile_port}/")
        attacked: dict[str, Any] = page.evaluate(PROBE_JS, app_server.base_url)
        assert attacked == {"read": "blocked", "socket": "refused"}

        page.goto(app_server.url("/healthz"))
        own: dict[str, Any] = page.evaluate(PROBE_JS, app_server.base_url)
        # The learner's own page reads with their cookie (their own "no such invoice")
        # and its socket opens (Engine.IO's "0" open packet).
        assert own == {"read": "404 No such invoice on your account.", "socket": "open: 0"}
    finally:
        context.close()


def test_the_socket_refuses_a_foreign_origin_and_serves_its_own(app_server: RunningApp) -> None:
    victim = signed_in_user(app_server)
    for origin in ("http://127.0.0.1:1", "http://localhost:1"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            send_event(app_server, AuthState.refresh, cookies=victim.cookies, origin=origin)
    own = send_event(app_server, AuthState.refresh, cookies=victim.cookies, origin=app_server.base_url)
    assert own.values(AuthState)["signed_in"] is True


def mallory_ticket(app: RunningApp) -> tuple[str, str, str]:
    """Mallory signs in over the socket: (her email, the ticket's URL half, its browser half)."""
    mallory = signed_in_user(app, display_name="Mallory")
    with session_on(app.database_url) as session:
        user = session.get(User, mallory.user_id)
        assert user is not None
        user.password_hash = hash_password(MALLORY_PASSWORD)
        session.add(user)
        session.commit()
    reply = send_event(
        app,
        LoginState.submit,
        {"form": {"email": mallory.email, "password": MALLORY_PASSWORD}},
        path="/login",
    )
    [script] = reply.scripts
    url_half = re.search(r"\?ticket=([\w-]+)", script)
    browser_half = re.search(LOGIN_TICKET_COOKIE + r"=([\w-]+)", script)
    assert url_half and browser_half, script
    return mallory.email, url_half.group(1), browser_half.group(1)


@pytest.mark.parametrize("host", HOSTS)
def test_an_attackers_login_ticket_does_not_sign_a_victim_in(
    app_server: RunningApp, browser: Browser, hostile_port: int, host: str
) -> None:
    _email, url_half, browser_half = mallory_ticket(app_server)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"http://{host}:{hostile_port}/")
        # On 127.0.0.1 the hostile page can even plant the browser half (cookies ignore ports).
        page.evaluate(
            "([name, value]) => { document.cookie = `${name}=${value}; Path=/auth/complete`; }",
            [LOGIN_TICKET_COOKIE, browser_half],
        )
        page.evaluate(
            "(url) => { window.location.href = url; }",
            app_server.url(f"/auth/complete?ticket={url_half}&next=/account"),
        )
        expect(page).to_have_url(re.compile(r"/login\?error=(cross_site|expired)$"))
        assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}
    finally:
        context.close()


def test_a_login_ticket_works_only_with_its_browser_half(app_server: RunningApp) -> None:
    _email, url_half, browser_half = mallory_ticket(app_server)
    target = app_server.url(f"/auth/complete?ticket={url_half}&next=/account")
    alone = httpx.get(target, headers={"Sec-Fetch-Site": "same-origin"})
    assert alone.headers["location"] == "/login?error=expired" and SESSION_COOKIE not in alone.cookies
    # The ticket was spent by that try: a fresh one, now with both halves, signs in.
    _email, url_half, browser_half = mallory_ticket(app_server)
    target = app_server.url(f"/auth/complete?ticket={url_half}&next=/account")
    cookies = {LOGIN_TICKET_COOKIE: browser_half}
    cross = httpx.get(target, headers={"Sec-Fetch-Site": "cross-site"}, cookies=cookies)
    assert cross.headers["location"] == "/login?error=cross_site" and SESSION_COOKIE not in cross.cookies
    both = httpx.get(target, headers={"Sec-Fetch-Site": "same-origin"}, cookies=cookies)
    assert both.status_code == 303 and both.headers["location"] == "/account"
    assert both.cookies.get(SESSION_COOKIE)
