"""Accessibility of the signed-in pages (classroom, history, a session's feedback,
account, admin) with axe-core, at desktop and phone sizes, with no console errors.

The rules are the public pages' (tests/support/a11y.py): WCAG 2.x A/AA, colour contrast
included, plus heading order and landmarks.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from fluentio.models import Role
from tests.support.a11y import AXE_OPTIONS, describe
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.feedback_data import add_feedback, add_practice_session
from tests.support.sessions import SignedIn, add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def learner(app_server: RunningApp) -> tuple[SignedIn, str]:
    who = signed_in_user(app_server, credits=12)
    with session_on(app_server.database_url) as session:
        practice = add_practice_session(session, user_id=who.user_id, topic="small_talk")
        add_feedback(session, practice)
        session.commit()
        return who, str(practice.id)


@pytest.fixture(scope="module")
def admin(app_server: RunningApp) -> SignedIn:
    return signed_in_user(app_server, role=Role.ADMIN, display_name="Ada Admin")


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    return VIEWPORTS[request.param]


def open_page(
    browser: Browser, app: RunningApp, who: SignedIn, path: str, viewport: dict[str, int]
) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport=viewport)
    add_session_cookie(context, app, who)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.goto(app.url(path), wait_until="networkidle")
    page.get_by_role("heading", level=1).first.wait_for()
    page.wait_for_timeout(500)
    return page, errors


def check(page: Page, errors: list[str]) -> None:
    results = Axe().run(page, options=AXE_OPTIONS)
    assert results.response["violations"] == [], describe(results.response["violations"])
    assert errors == []
    page.context.close()


@pytest.mark.parametrize("path", ["/classroom", "/history", "/history/{id}", "/account", "/words"])
def test_learner_pages(
    app_server: RunningApp,
    browser: Browser,
    learner: tuple[SignedIn, str],
    viewport: dict[str, int],
    path: str,
) -> None:
    who, practice_id = learner
    page, errors = open_page(browser, app_server, who, path.format(id=practice_id), viewport)
    check(page, errors)


def test_admin_page(
    app_server: RunningApp, browser: Browser, admin: SignedIn, viewport: dict[str, int]
) -> None:
    page, errors = open_page(browser, app_server, admin, "/admin", viewport)
    check(page, errors)
