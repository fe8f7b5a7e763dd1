"""The signed-in app's header and footer, in Chromium: they know who is signed in,
lead to every section (History included, Admin only for admins), mark where you are,
never offer "Log in" or "Sign up" to someone signed in, and nothing on a signed-in page
scrolls sideways on a phone.

After sign-up the learner lands in the classroom: tests/e2e/test_accounts.py (sign_up).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from fluentio.models import Role
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.feedback_data import add_feedback, add_practice_session
from tests.support.sessions import SignedIn, add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SIGNED_OUT_OFFERS = re.compile(r"^(Log in|Sign up( free)?|Start free)$")


def open_as(browser: Browser, app: RunningApp, who: SignedIn, path: str, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport)
    add_session_cookie(context, app, who)
    page = context.new_page()
    page.goto(app.url(path))
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    return page


def nav_names(page: Page) -> list[str]:
    return [
        name.strip()
        for name in page.get_by_test_id("app-header")
        .get_by_role("navigation")
        .get_by_role("link")
        .all_inner_texts()
    ]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_learner_sees_their_own_navigation(
    app_server: RunningApp, browser: Browser, viewport: dict[str, int]
) -> None:
    who = signed_in_user(app_server, credits=5)
    page = open_as(browser, app_server, who, "/classroom", viewport)
    header = page.get_by_test_id("app-header")
    nav = header.get_by_role("navigation")
    footer = page.get_by_test_id("app-footer")

    expect(nav.get_by_role("link", name="Classroom")).to_have_attribute("aria-current", "page")
    assert nav_names(page) == ["Classroom", "History", "Words", "Account"]
    expect(header.get_by_role("button", name="Log out")).to_be_visible()
    expect(footer).to_contain_text(f"Signed in as {who.email}")
    for link in ("Classroom", "History", "Account", "Pricing", "FAQ", "About"):
        expect(footer.get_by_role("link", name=link, exact=True)).to_be_visible()
    for region in (header, footer):
        expect(region.get_by_role("link", name=SIGNED_OUT_OFFERS)).to_have_count(0)
        expect(region.get_by_role("button", name=SIGNED_OUT_OFFERS)).to_have_count(0)
    expect(page.get_by_role("link", name="Admin", exact=True)).to_have_count(0)
    for name in ("Classroom", "History", "Account"):
        box = nav.get_by_role("link", name=name).bounding_box()
        assert box is not None and box["height"] >= 44, f"{name} is too small to tap"

    # History is one tap away, and stays marked on a lesson's own page.
    nav.get_by_role("link", name="History").click()
    expect(page).to_have_url(app_server.url("/history"))
    expect(page.get_by_role("heading", name="Your history")).to_be_visible()
    expect(nav.get_by_role("link", name="History")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Classroom")).to_have_attribute("aria-current", "false")
    page.context.close()


def test_an_admin_also_sees_admin(app_server: RunningApp, browser: Browser) -> None:
    admin = signed_in_user(app_server, role=Role.ADMIN, display_name="Ada Admin")
    page = open_as(browser, app_server, admin, "/account", DESKTOP)
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Ada Admin")
    assert nav_names(page) == ["Classroom", "History", "Words", "Account", "Admin"]
    expect(page.get_by_test_id("app-footer").get_by_role("link", name="Admin")).to_be_visible()
    nav = page.get_by_test_id("app-header").get_by_role("navigation")
    nav.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    expect(nav.get_by_role("link", name="Admin")).to_have_attribute("aria-current", "page")
    page.context.close()


def test_log_out_from_the_header(app_server: RunningApp, browser: Browser) -> None:
    page = open_as(browser, app_server, signed_in_user(app_server), "/history", PHONE)
    page.get_by_test_id("app-header").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/\?signed_out=1$"))
    page.goto(app_server.url("/history"))
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fhistory$"))
    page.context.close()


@pytest.mark.parametrize("role", [Role.LEARNER, Role.ADMIN])
def test_no_signed_in_page_scrolls_sideways_on_a_phone(
    app_server: RunningApp, browser: Browser, role: Role
) -> None:
    who = signed_in_user(app_server, credits=5, role=role)
    with session_on(app_server.database_url) as session:
        practice = add_practice_session(session, user_id=who.user_id, topic="small_talk")
        add_feedback(session, practice)
        session.commit()
        lesson = f"/history/{practice.id}"
    paths = [
        "/classroom",
        "/history",
        lesson,
        "/account",
        "/checkout/return?status=cancelled",
        *(["/admin"] if role == Role.ADMIN else []),
    ]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    add_session_cookie(context, app_server, who)
    page = context.new_page()
    for path in paths:
        page.goto(app_server.url(path))
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px phone"
    context.close()
