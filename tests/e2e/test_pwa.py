"""Fluentio as a Progressive Web App, checked in real headless Chromium against the prod build.

Covers the manifest and its icons, Chromium's own installability verdict, the service
worker's life cycle, the offline page, and that backend traffic never lands in a cache.

Chromium reports every page as not installable in Playwright's default (incognito-like)
contexts, so these tests share one persistent profile. It is launched through the
session's `browser` fixture, because a second sync_playwright() cannot start while that
fixture's one is running.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page

from tests.support.app_server import RunningApp
from tests.support.browser import CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.e2e

NETWORK_ONLY_PREFIXES = ("/api/", "/healthz", "/_event", "/_upload", "/ping")
OFFLINE_HEADING = "You're offline"

WAIT_FOR_ACTIVE_WORKER = """
async () => {
  const registration = await navigator.serviceWorker.ready;
  const worker = registration.active;
  if (worker.state !== 'activated') {
    await new Promise((resolve) => worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') resolve();
    }));
  }
  return { state: worker.state, scriptURL: worker.scriptURL, scope: registration.scope };
}
"""

# Every entry of every cache, as {cache name: [path + query, ...]}.
LIST_CACHES = """
async () => {
  const listing = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    listing[name] = (await cache.keys()).map((request) => {
      const url = new URL(request.url);
      return url.pathname + url.search;
    });
  }
  return listing;
}
"""

# A fetch from the page: status and content type, or the error if the request failed.
FETCH = """
async (path) => {
  try {
    const response = await fetch(path, { cache: 'no-store' });
    return { ok: true, status: response.status, type: response.headers.get('content-type') };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}
"""


@pytest.fixture(scope="module")
def pwa_context(
    browser: Browser, app_server: RunningApp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    """A persistent Chromium profile whose service worker has activated on the home page.

    Before the first app page loads, the profile gets a stale Fluentio cache and another
    app's cache, so the tests can see what activation deletes and what it leaves alone.
    """
    context = browser.browser_type.launch_persistent_context(
        user_data_dir=tmp_path_factory.mktemp("pwa-profile"),
        executable_path=chromium_path(),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 800},
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        # The offline page registers no worker, so it is a same-origin place to seed caches.
        page.goto(app_server.url("/offline.html"))
        page.evaluate(
            """async () => {
              await (await caches.open('fluentio-shell-v0')).put('/stale', new Response('old'));
              await (await caches.open('another-app')).put('/theirs', new Response('keep'));
            }"""
        )
        page.goto(app_server.url("/"))
        page.evaluate(WAIT_FOR_ACTIVE_WORKER)
        yield context
    finally:
        context.close()


@pytest.fixture
def pwa_page(pwa_context: BrowserContext, app_server: RunningApp) -> Iterator[Page]:
    page = pwa_context.new_page()
    page.goto(app_server.url("/"))
    try:
        yield page
    finally:
        pwa_context.set_offline(False)
        page.close()


def test_manifest_is_served_linked_and_parsed_without_errors(
    pwa_context: BrowserContext, pwa_page: Page, app_server: RunningApp
) -> None:
    assert pwa_page.get_attribute("link[rel=manifest]", "href") == "/manifest.webmanifest"
    served = pwa_page.evaluate(FETCH, "/manifest.webmanifest")
    assert served["status"] == 200
    assert served["type"].split(";")[0] == "application/manifest+json"

    manifest = pwa_page.evaluate("async () => (await fetch('/manifest.webmanifest')).json()")
    assert manifest["name"].startswith("Fluentio")
    assert manifest["short_name"] == "Fluentio"
    assert len(manifest["description"]) > 20
    assert manifest["start_url"] == "/classroom"
    assert manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == pwa_page.get_attribute("meta[name=theme-color]", "content")
    assert manifest["background_color"].startswith("#")

    cdp = pwa_context.new_cdp_session(pwa_page)
    parsed = cdp.send("Page.getAppManifest")
    assert parsed["url"] == app_server.url("/manifest.webmanifest")
    assert parsed["errors"] == []


def test_manifest_icons_load_as_png_at_their_declared_sizes(pwa_page: Page) -> None:
    icons: list[dict[str, Any]] = pwa_page.evaluate(
        """async () => {
          const manifest = await (await fetch('/manifest.webmanifest')).json();
          return Promise.all(manifest.icons.map(async (icon) => {
            const response = await fetch(icon.src, { cache: 'no-store' });
            const bitmap = await createImageBitmap(await response.blob());
            return {
              ...icon,
              status: response.status,
              contentType: response.headers.get('content-type'),
              width: bitmap.width,
              height: bitmap.height,
            };
          }));
        }"""
    )
    for icon in icons:
        assert icon["status"] == 200, icon
        assert icon["contentType"] == "image/png" == icon["type"], icon
        assert icon["sizes"] == f"{icon['width']}x{icon['height']}", icon

    declared = {(icon["sizes"], icon.get("purpose", "any")) for icon in icons}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= declared


def test_chromium_finds_the_app_installable(pwa_context: BrowserContext, pwa_page: Page) -> None:
    cdp = pwa_context.new_cdp_session(pwa_page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []


def test_service_worker_activates_and_controls_the_page_after_reload(
    pwa_page: Page, app_server: RunningApp
) -> None:
    worker = pwa_page.evaluate(WAIT_FOR_ACTIVE_WORKER)
    assert worker == {
        "state": "activated",
        "scriptURL": app_server.url("/sw.js"),
        "scope": app_server.url("/"),
    }
    pwa_page.reload()
    controller = pwa_page.evaluate("() => navigator.serviceWorker.controller?.scriptURL ?? null")
    assert controller == app_server.url("/sw.js")


def test_activation_keeps_only_current_fluentio_caches(pwa_page: Page) -> None:
    caches: dict[str, list[str]] = pwa_page.evaluate(LIST_CACHES)
    assert "fluentio-shell-v0" not in caches
    assert caches["another-app"] == ["/theirs"]
    shell = [entries for name, entries in caches.items() if name.startswith("fluentio-shell-")]
    assert len(shell) == 1
    assert {
        "/offline.html",
        "/manifest.webmanifest",
        "/icons/icon-192.png",
        "/icons/icon-512.png",
        "/icons/icon-maskable-512.png",
    } <= set(shell[0])


def test_offline_navigation_shows_the_offline_page_and_try_again_recovers(
    pwa_context: BrowserContext, pwa_page: Page, app_server: RunningApp
) -> None:
    pwa_context.set_offline(True)
    response = pwa_page.goto(app_server.url("/pricing"))
    assert response is not None and response.from_service_worker
    assert pwa_page.get_by_role("heading", name=OFFLINE_HEADING).is_visible()
    assert "classroom needs a connection" in pwa_page.inner_text("main")
    # The learner keeps the address they asked for, so "Try again" retries that page.
    assert pwa_page.url == app_server.url("/pricing")

    pwa_page.get_by_role("button", name="Try again").click()
    assert "Still offline" in pwa_page.inner_text("#status")

    # Coming back online reloads by itself; the real app page carries the manifest link.
    with pwa_page.expect_navigation():
        pwa_context.set_offline(False)
    pwa_page.wait_for_selector("link[rel=manifest]", state="attached")
    assert OFFLINE_HEADING not in pwa_page.content()


def test_offline_navigation_to_auth_pages_is_left_to_the_browser(
    pwa_context: BrowserContext, pwa_page: Page, app_server: RunningApp
) -> None:
    pwa_context.set_offline(True)
    with pytest.raises(Error, match="ERR_INTERNET_DISCONNECTED"):
        pwa_page.goto(app_server.url("/login"))


def test_backend_requests_never_come_from_a_cache(
    pwa_context: BrowserContext, pwa_page: Page, app_server: RunningApp
) -> None:
    # Browse while online: app pages (their build files and the /_event websocket) and
    # direct requests to the API and the health check.
    for path in ("/", "/no-such-page", "/"):
        pwa_page.goto(app_server.url(path))
    pwa_page.wait_for_load_state("networkidle")
    for path in ("/healthz", "/api/anything", "/_event/?EIO=4&transport=polling"):
        assert pwa_page.evaluate(FETCH, path)["ok"], path
    assert pwa_page.evaluate(FETCH, "/healthz")["status"] == 200

    caches: dict[str, list[str]] = pwa_page.evaluate(LIST_CACHES)
    entries = [entry for name, names in caches.items() if name.startswith("fluentio-") for entry in names]
    cached_builds = [entry for entry in entries if entry.startswith("/assets/")]
    assert cached_builds, f"expected hashed build files in the cache, got {caches}"
    assert not [entry for entry in entries if entry.startswith(NETWORK_ONLY_PREFIXES)], caches

    pwa_context.set_offline(True)
    for path in ("/healthz", "/api/anything", "/_event/?EIO=4&transport=polling"):
        result = pwa_page.evaluate(FETCH, path)
        assert not result["ok"], f"{path} answered offline: {result}"
    # The same page can still read what the worker is allowed to keep.
    assert pwa_page.evaluate(FETCH, cached_builds[0])["status"] == 200
    assert pwa_page.evaluate(FETCH, "/manifest.webmanifest")["status"] == 200
