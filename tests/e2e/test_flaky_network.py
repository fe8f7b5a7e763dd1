"""Flaky networks, in Chromium against the production build: the learner always knows
the state, and nothing starts (or is charged) later because of a click made offline.

- Start pressed offline says so at once, and when the network comes back no lesson is
  created and the ledger is unchanged. A press that reaches the server over a newer
  connection than the one it was made on is refused there too.
- Offline during a lesson: "reconnecting" shows in the call view and clears when the
  network is back; the time left catches up.
- Offline, a page visited before shows our offline page (on reload) or our shell with
  our banner (on an in-app link), never Reflex's developer text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import select

from fluentio.billing import ledger
from fluentio.classroom.view_state import OFFLINE_START, STALE_START, CallViewState
from fluentio.models import PracticeSession
from tests.support.app_server import RunningApp
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.classroom import launch_mic_browser
from tests.support.databases import session_on
from tests.support.reflex_events import send_event
from tests.support.sessions import SignedIn, add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e

REFLEX_DEVELOPER_TEXT = re.compile("Cannot connect to server|Check if server is reachable", re.I)


@pytest.fixture(scope="module")
def mic_browser(browser: Browser) -> Iterator[Browser]:
    mic = launch_mic_browser(browser.browser_type)
    yield mic
    mic.close()


def lessons_and_balance(app: RunningApp, user_id: uuid.UUID) -> tuple[int, int]:
    with session_on(app.database_url) as session:
        lessons = session.exec(select(PracticeSession).where(PracticeSession.user_id == user_id)).all()
        return len(lessons), ledger.balance(session=session, user_id=user_id)


def classroom(browser: Browser, app: RunningApp, who: SignedIn) -> Page:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    add_session_cookie(context, app, who)
    page = context.new_page()
    page.goto(app.url("/classroom"))
    expect(page.get_by_role("button", name="Start session")).to_be_visible()
    return page


def test_start_pressed_offline_never_fires_later(
    app_server: RunningApp, mic_browser: Browser, artifacts_dir: Path
) -> None:
    who = signed_in_user(app_server, credits=30)
    before = lessons_and_balance(app_server, who.user_id)
    page = classroom(mic_browser, app_server, who)

    page.context.set_offline(True)
    expect(page.get_by_test_id("call-connection")).to_contain_text("You're offline")
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("offline-refusal")).to_have_text(OFFLINE_START)
    expect(page.get_by_test_id("call-status")).to_have_text("Ready")
    page.screenshot(path=str(artifacts_dir / "classroom-start-offline.png"))

    page.context.set_offline(False)
    expect(page.get_by_test_id("call-connection")).to_have_count(0, timeout=15_000)
    expect(page.get_by_test_id("offline-refusal")).to_have_count(0)
    # A round trip through the server after the reconnect: events of one tab run in order,
    # so a queued click would have been handled before this change of topic shows.
    topic = page.get_by_label("Topic or role-play")
    other = topic.locator("option").nth(1).get_attribute("value")
    topic.select_option(other)
    expect(topic).to_have_value(other or "", timeout=10_000)
    page.wait_for_timeout(1000)
    expect(page.get_by_test_id("call-status")).to_have_text("Ready")
    expect(page.get_by_test_id("call-stage")).to_have_attribute("data-mode", "docked")
    assert lessons_and_balance(app_server, who.user_id) == before

    # Back online, the same button starts a lesson (the refusal was not a dead end).
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
    assert lessons_and_balance(app_server, who.user_id)[0] == before[0] + 1
    page.context.close()


def test_a_start_delivered_over_a_newer_connection_is_refused(app_server: RunningApp) -> None:
    """What a Start queued during a drop looks like to the server: it names the
    connection it was pressed on, and arrives over another one."""
    who = signed_in_user(app_server, credits=30)
    before = lessons_and_balance(app_server, who.user_id)
    reply = send_event(
        app_server,
        CallViewState.press_start,
        {"connection_id": "a-connection-that-dropped"},
        cookies=who.cookies,
        path="/classroom",
    )
    assert reply.values(CallViewState)["start_refused"] == STALE_START
    assert lessons_and_balance(app_server, who.user_id) == before


def test_offline_mid_lesson_shows_reconnecting_then_catches_up(
    app_server: RunningApp, mic_browser: Browser, artifacts_dir: Path
) -> None:
    who = signed_in_user(app_server, credits=30)
    page = classroom(mic_browser, app_server, who)
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
    left = page.get_by_test_id("minutes-left")
    expect(left).to_contain_text("left")

    page.context.set_offline(True)
    notice = page.get_by_test_id("call-connection")
    expect(notice).to_contain_text("reconnecting")
    expect(notice).to_contain_text("captions and the time left catch up")
    # Inside the full-screen call, not hidden behind it.
    assert notice.evaluate(
        "(el) => { const r = el.getBoundingClientRect(); const hit = document.elementFromPoint(r.left + 5, r.top + 5);"
        " return r.bottom <= innerHeight && (hit === el || el.contains(hit)); }"
    )
    page.screenshot(path=str(artifacts_dir / "call-view-reconnecting.png"))
    frozen = left.inner_text()
    page.wait_for_timeout(2500)
    assert left.inner_text() == frozen, "nothing reaches the page while it is offline"
    assert not REFLEX_DEVELOPER_TEXT.search(page.content())

    page.context.set_offline(False)
    expect(notice).to_have_count(0, timeout=15_000)
    expect(page.get_by_test_id("call-status")).to_have_text("Live")
    expect(left).not_to_have_text(frozen, timeout=10_000)
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
    page.context.close()


@pytest.fixture
def offline_ready_context(
    browser: Browser, app_server: RunningApp, tmp_path: Path
) -> Iterator[tuple[BrowserContext, Page]]:
    """A persistent profile (service workers need one) that has visited the app's pages."""
    context = browser.browser_type.launch_persistent_context(
        user_data_dir=tmp_path / "profile",
        executable_path=chromium_path(),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 390, "height": 844},
    )
    try:
        add_session_cookie(context, app_server, signed_in_user(app_server, credits=5))
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(app_server.url("/classroom"))
        page.evaluate("async () => { await navigator.serviceWorker.ready; }")
        for path in ("/history", "/classroom"):
            page.goto(app_server.url(path))
            expect(page.get_by_role("heading", level=1)).to_be_visible()
        yield context, page
    finally:
        context.close()


def test_offline_reload_of_a_visited_page_shows_our_offline_page(
    offline_ready_context: tuple[BrowserContext, Page], app_server: RunningApp
) -> None:
    context, page = offline_ready_context
    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="You're offline")).to_be_visible()
    assert not REFLEX_DEVELOPER_TEXT.search(page.content())
    assert page.url == app_server.url("/classroom")

    # The offline page reloads by itself when the network is back.
    with page.expect_navigation():
        context.set_offline(False)
    expect(page.get_by_role("button", name="Start session")).to_be_visible(timeout=20_000)


def test_offline_link_to_a_visited_page_keeps_a_working_shell(
    offline_ready_context: tuple[BrowserContext, Page], app_server: RunningApp
) -> None:
    context, page = offline_ready_context
    context.set_offline(True)
    page.get_by_test_id("app-header").get_by_role("link", name="History").click()
    expect(page).to_have_url(app_server.url("/history"))
    expect(page.get_by_test_id("connection-notice")).to_contain_text("You're offline")
    expect(page.get_by_test_id("app-header")).to_be_visible()
    page.wait_for_timeout(2000)
    assert not REFLEX_DEVELOPER_TEXT.search(page.content())

    context.set_offline(False)
    expect(page.get_by_test_id("connection-notice")).to_have_count(0, timeout=15_000)
    expect(page.get_by_role("heading", name="Your history")).to_be_visible()
