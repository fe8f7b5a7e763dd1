"""Accessibility of the public pages in a real browser, checked with axe-core.

axe-core comes bundled in the `axe-playwright-python` wheel, so the check runs offline.
Every public page must load without console or page errors and pass the WCAG 2.x A/AA
rules (colour contrast included) plus heading order, at desktop and phone sizes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.support.a11y import AXE_OPTIONS, describe
from tests.support.app_server import RunningApp

pytestmark = pytest.mark.e2e

PUBLIC_ROUTES = ["/", "/pricing", "/faq", "/about"]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# Rules this test must have actually run, so a typo in the options cannot turn it green.
REQUIRED_RULES = {"color-contrast", "image-alt", "document-title", "html-has-lang", "heading-order"}


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


@pytest.fixture(params=list(VIEWPORTS))
def viewport_page(request: pytest.FixtureRequest, browser: object) -> Iterator[object]:
    context = browser.new_context(viewport=VIEWPORTS[request.param])  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


def open_and_collect_errors(page: object, url: str) -> list[str]:
    """Load `url` and return every console error and uncaught exception it produced."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))  # type: ignore[attr-defined]
    page.goto(url, wait_until="networkidle")  # type: ignore[attr-defined]
    # Hydration and the backend websocket finish after network idle; give late errors a chance.
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    return errors


@pytest.mark.parametrize("route", PUBLIC_ROUTES)
def test_page_loads_without_errors(app_server: RunningApp, page: object, route: str) -> None:
    errors = open_and_collect_errors(page, app_server.url(route))
    assert errors == []
    # Public pages are served as plain prerendered HTML without the app (see
    # fluentio/public_pages): the content is there and React never loads.
    assert page.locator("#main h1").count() == 1  # type: ignore[attr-defined]
    assert not page.evaluate(  # type: ignore[attr-defined]
        "Object.keys(document.querySelector('#main')).some(k => k.startsWith('__react'))"
    )


@pytest.mark.parametrize("route", PUBLIC_ROUTES)
def test_every_image_has_alt_text(app_server: RunningApp, page: object, route: str) -> None:
    page.goto(app_server.url(route), wait_until="networkidle")  # type: ignore[attr-defined]
    images = page.locator("img")  # type: ignore[attr-defined]
    assert images.count() >= 1
    missing = page.evaluate(  # type: ignore[attr-defined]
        "[...document.images].filter(i => !i.hasAttribute('alt')).map(i => i.outerHTML)"
    )
    assert missing == []


@pytest.mark.parametrize("route", PUBLIC_ROUTES)
def test_axe_finds_no_violations(app_server: RunningApp, viewport_page: object, axe: Axe, route: str) -> None:
    page = viewport_page
    page.goto(app_server.url(route), wait_until="networkidle")  # type: ignore[attr-defined]
    # Closed <details> are hidden from axe; open every FAQ answer so its contrast is checked too.
    opened = page.evaluate(  # type: ignore[attr-defined]
        "(() => { const all = [...document.querySelectorAll('details')];"
        " all.forEach(d => { d.open = true; }); return all.length; })()"
    )
    if route == "/faq":
        assert opened >= 8

    results = axe.run(page, options={**AXE_OPTIONS, "resultTypes": ["violations", "passes"]})
    checked = {rule["id"] for rule in results.response["passes"]} | {
        rule["id"] for rule in results.response["violations"]
    }
    assert checked >= REQUIRED_RULES, f"axe did not run: {REQUIRED_RULES - checked}"
    assert results.response["violations"] == [], describe(results.response["violations"])
