"""The classroom's call view in Chromium with a fake microphone, at phone and desktop sizes.

During a live lesson the conversation is the whole screen: the latest caption, the
tutor's state, End and Mute are all on screen without scrolling and not covered by
anything, nothing scrolls sideways, and the screen is kept awake. Screenshots of each
size are kept in test-artifacts/ (docs/call-view-phone.png in the README is one of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.app_server import RunningApp
from tests.support.classroom import launch_mic_browser
from tests.support.sessions import add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e

SIZES = {
    "phone": {"width": 390, "height": 844},
    "phone-landscape": {"width": 844, "height": 390},
    "desktop": {"width": 1280, "height": 800},
}

# True when the element's centre is inside the viewport and the element itself (not
# something drawn over it) is what a finger would touch there.
ON_SCREEN_AND_UNCOVERED = """
(el) => {
  const r = el.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const inside = r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
  const hit = document.elementFromPoint(x, y);
  return inside && r.width > 0 && r.height > 0 && (hit === el || el.contains(hit));
}
"""


# The safe-area insets the page sees (all 0 on the desktop).
SAFE_AREAS = """
() => {
  const probe = document.createElement('div');
  probe.style.cssText = 'position:fixed;padding:env(safe-area-inset-top) env(safe-area-inset-right) '
    + 'env(safe-area-inset-bottom) env(safe-area-inset-left)';
  document.body.appendChild(probe);
  const s = getComputedStyle(probe);
  const insets = { top: parseFloat(s.paddingTop), right: parseFloat(s.paddingRight),
                   bottom: parseFloat(s.paddingBottom), left: parseFloat(s.paddingLeft) };
  probe.remove();
  return insets;
}
"""


@pytest.fixture(scope="module")
def mic_browser(browser: Browser) -> Iterator[Browser]:
    mic = launch_mic_browser(browser.browser_type)
    yield mic
    mic.close()


def on_screen(locator: Locator) -> bool:
    return bool(locator.evaluate(ON_SCREEN_AND_UNCOVERED))


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))


def open_classroom(browser: Browser, app: RunningApp, size: str) -> Page:
    viewport = SIZES[size]
    phone = size.startswith("phone")
    # No permission overrides: the fake-media flags accept the microphone, and the
    # screen wake lock keeps Chromium's default (granted for a visible page).
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    add_session_cookie(context, app, signed_in_user(app, credits=30))
    page = context.new_page()
    if phone:
        # A notch and a home bar (an iPhone's safe areas, in CSS pixels).
        inset = {"top": 47, "bottom": 34} if size == "phone" else {"left": 47, "right": 47, "bottom": 21}
        context.new_cdp_session(page).send("Emulation.setSafeAreaInsetsOverride", {"insets": inset})
    page.goto(app.url("/classroom"))
    expect(page.get_by_role("button", name="Start session")).to_be_visible()
    return page


@pytest.mark.parametrize("size", list(SIZES))
def test_the_lesson_is_the_whole_screen(
    app_server: RunningApp, mic_browser: Browser, artifacts_dir: Path, size: str
) -> None:
    page = open_classroom(mic_browser, app_server, size)
    stage = page.get_by_test_id("call-stage")
    expect(stage).to_have_attribute("data-mode", "docked")
    expect(page.get_by_test_id("wake-lock")).to_have_attribute("data-wake-lock", "released")
    assert no_sideways_scroll(page)
    # Start is within reach without scrolling, at every size.
    assert on_screen(page.get_by_role("button", name="Start session"))
    assert "viewport-fit=cover" in (page.get_attribute("meta[name=viewport]", "content") or "")
    if size.startswith("phone"):
        assert max(page.evaluate(SAFE_AREAS).values()) > 0, "the phone's safe areas are emulated"

    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
    expect(stage).to_have_attribute("data-mode", "full")
    # The settings fold away behind the call: the level picker can't be reached.
    assert not on_screen(page.get_by_label("Your level"))

    captions = page.get_by_test_id("captions")
    # Wait for the talk to fill the screen: the greeting, the learner, the tutor's answer.
    expect(captions.locator("[data-speaker=learner]").first).to_be_visible(timeout=25_000)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=captions] .caption').length >= 3", timeout=20_000
    )
    latest = captions.locator(".caption").last
    for name, element in {
        "latest caption": latest,
        "tutor state": page.get_by_test_id("tutor-state"),
        "voice orb": page.get_by_test_id("tutor-orb"),
        "time left": page.get_by_test_id("minutes-left"),
        "End": page.get_by_role("button", name="End session"),
        "Mute": page.get_by_role("button", name="Mute"),
    }.items():
        assert on_screen(element), f"{name} is not fully visible at {size}"
    # The page behind the call does not scroll under the learner's thumb.
    assert page.evaluate("() => getComputedStyle(document.documentElement).overflowY") == "hidden"
    assert no_sideways_scroll(page)
    # Nothing the learner needs sits under the notch or the home bar.
    insets = page.evaluate(SAFE_AREAS)
    for name, element in {
        "status": page.get_by_test_id("call-status"),
        "End": page.get_by_role("button", name="End session"),
        "Mute": page.get_by_role("button", name="Mute"),
    }.items():
        box = element.bounding_box()
        assert box is not None
        assert (
            box["y"] >= insets["top"] and box["y"] + box["height"] <= SIZES[size]["height"] - insets["bottom"]
        ), name
        assert (
            box["x"] >= insets["left"] and box["x"] + box["width"] <= SIZES[size]["width"] - insets["right"]
        ), name
    # Touch targets a thumb can hit.
    for button in ("End session", "Mute"):
        box = page.get_by_role("button", name=button).bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44

    # The orb follows the tutor's voice: its level moves while the tutor speaks.
    expect(page.get_by_test_id("tutor-orb")).to_have_attribute("data-mode", "speaking", timeout=20_000)
    page.wait_for_function(
        "() => parseFloat(document.querySelector('.fluentio-orb__halo').style.getPropertyValue('--level')) > 0.05",
        timeout=10_000,
    )
    expect(page.get_by_test_id("wake-lock")).to_have_attribute("data-wake-lock", "held")

    page.screenshot(path=str(artifacts_dir / f"call-view-{size}.png"))

    # Mute is a real toggle on the call.
    page.get_by_role("button", name="Mute").click()
    expect(page.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Unmute").click()

    page.get_by_role("button", name="End session").click()
    expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
    expect(stage).to_have_attribute("data-mode", "docked")
    expect(page.get_by_test_id("wake-lock")).to_have_attribute("data-wake-lock", "released")
    expect(page.get_by_label("Your level")).to_be_enabled()
    assert no_sideways_scroll(page)
    page.context.close()
