"""Help that matches the learner's device, in Chromium with the user agent of each
platform: the microphone-denied message in the classroom and the install steps on the
account page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from fluentio.components.platform_help import INSTALL_HELP, MICROPHONE_HELP, Platform
from tests.support.app_server import RunningApp
from tests.support.sessions import add_session_cookie, signed_in_user
from tests.support.user_agents import USER_AGENTS

pytestmark = pytest.mark.e2e

REFUSE_MICROPHONE = """
navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
"""

DEVICES = {
    Platform.IOS_SAFARI: ("iPhone Safari", {"width": 390, "height": 844}),
    Platform.ANDROID_CHROME: ("Android Chrome", {"width": 412, "height": 915}),
    Platform.DESKTOP_FIREFOX: ("Linux Firefox ESR", {"width": 1280, "height": 800}),
}


@pytest.mark.parametrize("platform", list(DEVICES))
def test_a_denied_microphone_says_where_to_allow_it_on_this_device(
    app_server: RunningApp, browser: Browser, platform: Platform
) -> None:
    # getUserMedia refused as when the learner taps "Don't Allow" (every browser rejects
    # with a NotAllowedError; this machine has no microphone to refuse).
    name, viewport = DEVICES[platform]
    who = signed_in_user(app_server, credits=5)
    context = browser.new_context(user_agent=USER_AGENTS[name][0], viewport=viewport)
    add_session_cookie(context, app_server, who)
    context.add_init_script(REFUSE_MICROPHONE)
    page = context.new_page()
    page.goto(app_server.url("/classroom"))
    page.get_by_role("button", name="Start session").click()
    error = page.get_by_test_id("call-error")
    expect(error).to_contain_text(MICROPHONE_HELP[platform], timeout=15_000)
    expect(page.get_by_test_id("call-status")).to_have_text("Ready")
    context.close()


def test_the_generic_microphone_text_for_an_unknown_browser(app_server: RunningApp, browser: Browser) -> None:
    who = signed_in_user(app_server, credits=5)
    context = browser.new_context(user_agent="ExoticBrowser/1.0")
    add_session_cookie(context, app_server, who)
    context.add_init_script(REFUSE_MICROPHONE)
    page = context.new_page()
    page.goto(app_server.url("/classroom"))
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-error")).to_contain_text(MICROPHONE_HELP[Platform.OTHER], timeout=15_000)
    context.close()


@pytest.mark.parametrize("platform", list(DEVICES))
def test_the_account_page_shows_how_to_install_on_this_device(
    app_server: RunningApp, browser: Browser, platform: Platform
) -> None:
    name, viewport = DEVICES[platform]
    who = signed_in_user(app_server, credits=5)
    context = browser.new_context(user_agent=USER_AGENTS[name][0], viewport=viewport)
    add_session_cookie(context, app_server, who)
    context.add_init_script(REFUSE_MICROPHONE)
    page = context.new_page()
    page.goto(app_server.url("/account"))
    expect(page.get_by_test_id("install-steps")).to_have_text(INSTALL_HELP[platform])
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    context.close()
