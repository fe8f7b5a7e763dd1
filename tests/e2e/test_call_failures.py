"""A browser that can't make a live call fails honestly: before asking for the
microphone the page checks for WebRTC, getUserMedia and Web Audio; any step of setting up
that throws stops the call, releases the microphone, says what happened in plain words,
and charges nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from fluentio.models import PracticeSession
from tests.support.app_server import RunningApp
from tests.support.classroom import classroom_page, launch_mic_browser
from tests.support.databases import session_on
from tests.support.sessions import signed_in_user

# Count microphone requests and keep every stream handed out, to check it was released.
WATCH_MIC = """
window.__micRequests = 0;
window.__micStreams = [];
const realGetUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (constraints) => {
  window.__micRequests += 1;
  const stream = await realGetUserMedia(constraints);
  window.__micStreams.push(stream);
  return stream;
};
"""
NO_WEBRTC = "delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;"
WEBRTC_THROWS = """
window.RTCPeerConnection = function () {
  throw new DOMException("WebRTC is disabled by policy", "NotSupportedError");
};
"""


@pytest.fixture(scope="module")
def mic_browser(browser: Browser) -> Iterator[Browser]:
    mic = launch_mic_browser(browser.browser_type)
    yield mic
    mic.close()


def assert_nothing_started(page: Page, app: RunningApp, user_id: object) -> None:
    expect(page.get_by_test_id("call-status")).to_have_text("Ready")
    expect(page.get_by_role("button", name="Start session")).to_be_enabled()
    with session_on(app.database_url) as s:
        rows = s.exec(select(PracticeSession).where(PracticeSession.user_id == user_id)).all()
        assert all(r.charged_millicredits == 0 for r in rows)


def test_without_webrtc_the_microphone_is_never_opened(app_server: RunningApp, mic_browser: Browser) -> None:
    who = signed_in_user(app_server, credits=5)
    page = classroom_page(mic_browser, app_server, who, init_script=WATCH_MIC + NO_WEBRTC)
    page.get_by_role("button", name="Start session").click()
    error = page.get_by_test_id("call-error")
    expect(error).to_contain_text("Your browser can't make live calls", timeout=15_000)
    expect(error).to_contain_text("Safari, Chrome, Edge or Firefox")
    assert page.evaluate("window.__micRequests") == 0
    assert_nothing_started(page, app_server, who.user_id)
    page.context.close()


def test_webrtc_that_throws_stops_the_call_and_releases_the_microphone(
    app_server: RunningApp, mic_browser: Browser
) -> None:
    who = signed_in_user(app_server, credits=5)
    page = classroom_page(mic_browser, app_server, who, init_script=WATCH_MIC + WEBRTC_THROWS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.get_by_role("button", name="Start session").click()
    error = page.get_by_test_id("call-error")
    expect(error).to_contain_text("could not set up the call", timeout=15_000)
    expect(error).to_contain_text("No credits were used")
    assert page.evaluate("window.__micRequests") == 1
    states = page.evaluate("window.__micStreams.flatMap((s) => s.getTracks().map((t) => t.readyState))")
    assert states and all(state == "ended" for state in states), "the microphone is released"
    assert_nothing_started(page, app_server, who.user_id)
    assert errors == [], "no unhandled error in the page"
    # The learner can try again, and gets the same honest answer, not a hang.
    page.get_by_role("button", name="Start session").click()
    page.wait_for_function("window.__micRequests === 2", timeout=15_000)
    expect(error).to_contain_text("could not set up the call", timeout=15_000)
    page.wait_for_function(
        "window.__micStreams.every((s) => s.getTracks().every((t) => t.readyState === 'ended'))",
        timeout=5_000,
    )
    assert_nothing_started(page, app_server, who.user_id)
    page.context.close()
