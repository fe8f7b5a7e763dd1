"""The public pages as visitors get them: plain prerendered HTML without the app's
JavaScript, their CSS inlined, the header and footer for who is signed in (decided on
the server), and caching that never keeps a stale shell."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.app_server import RunningApp
from tests.support.sessions import add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e
PUBLIC = ("/", "/pricing", "/faq", "/about")


@pytest.mark.parametrize("path", PUBLIC)
def test_a_public_page_carries_no_app_javascript_and_inlines_its_css(
    app_server: RunningApp, path: str
) -> None:
    response = httpx.get(app_server.url(path))
    assert response.status_code == 200
    html = response.text
    assert not re.search(r"<script[^>]*\bsrc=", html) and 'type="module"' not in html
    assert "modulepreload" not in html
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    assert len(scripts) == 1 and "serviceWorker" in scripts[0], "only the service-worker registration"
    assert not re.search(r'<link[^>]*rel="stylesheet"', html), "the stylesheet is inlined"
    inlined = max(re.findall(r"<style>(.*?)</style>", html, flags=re.S), key=len)
    assert ".rt-Button" in inlined and len(inlined) < 250_000, len(inlined)
    assert response.headers["cache-control"] == "private, no-cache"
    assert "Cookie" in response.headers["vary"]


def test_hashed_assets_are_immutable_and_other_files_revalidate(app_server: RunningApp) -> None:
    full_page = httpx.get(app_server.url("/account")).text  # an app page still loads the app
    asset = re.search(r'href="(/assets/[^"]+-[A-Za-z0-9_-]{8,}\.(?:js|css))"', full_page)
    assert asset, "the app page links hashed assets"
    path = asset.group(1)
    assert httpx.get(app_server.url(path)).headers["cache-control"] == "public, max-age=31536000, immutable"
    assert httpx.get(app_server.url("/account")).headers["cache-control"] == "no-cache"
    assert httpx.get(app_server.url("/manifest.webmanifest")).headers["cache-control"] == "no-cache"
    assert httpx.get(app_server.url("/api/account/export")).headers["cache-control"] == "no-store"


def visible_link_names(page: Page, where: str) -> set[str]:
    return {
        link.inner_text().strip()
        for link in page.locator(f"{where} a").all()
        if link.is_visible() and link.inner_text().strip()
    }


@pytest.mark.parametrize("path", PUBLIC)
def test_the_header_and_footer_know_a_signed_in_learner(
    app_server: RunningApp, page: Page, path: str
) -> None:
    page.goto(app_server.url(path))
    assert {"Log in", "Start free"} <= visible_link_names(page, "header")
    assert {"Sign up free", "Log in"} <= visible_link_names(page, "footer")
    assert "Account" not in visible_link_names(page, "header")

    who = signed_in_user(app_server)
    add_session_cookie(page.context, app_server, who)
    page.goto(app_server.url(path))
    header, footer = visible_link_names(page, "header"), visible_link_names(page, "footer")
    assert {"Account", "Classroom"} <= header and not {"Log in", "Start free"} & header, header
    assert {"Classroom", "History", "Account"} <= footer and not {"Sign up free", "Log in"} & footer, footer


def test_the_landing_page_invites_a_signed_in_learner_back_to_practise(
    app_server: RunningApp, page: Page
) -> None:
    add_session_cookie(page.context, app_server, signed_in_user(app_server))
    page.goto(app_server.url("/"))
    main = page.locator("main")
    expect(main.get_by_role("link", name="Go to the classroom").first).to_be_visible()
    expect(main.get_by_role("link", name=re.compile("^Start free"))).to_be_hidden()
    expect(main.get_by_role("link", name="Create your free account")).to_be_hidden()


def test_a_logged_out_session_gets_the_visitor_header(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server)
    add_session_cookie(page.context, app_server, who)
    page.goto(app_server.url("/account"))
    page.get_by_test_id("app-header").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/\?signed_out=1$"))
    add_session_cookie(page.context, app_server, who)  # the old, now revoked, token
    page.goto(app_server.url("/pricing"))
    assert "Log in" in visible_link_names(page, "header")
    assert "Account" not in visible_link_names(page, "header")
