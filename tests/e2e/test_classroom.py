"""The live classroom end to end: Chromium with a fake microphone playing a recorded
learner, the production app, and the built-in Realtime simulator (a real WebRTC peer).

The learner file (tests/assets/audio/classroom_learner.wav) is 6 s of silence (the tutor
greets), a sentence with mistakes, a short pause (the tutor starts answering), a second
sentence spoken over the tutor (barge-in), then silence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlmodel import select

from fluentio.models import PracticeSession
from fluentio.simulator.validation import validate_client_event
from tests.support.app_server import RunningApp
from tests.support.classroom import classroom_page, launch_mic_browser, run_conversation, stored_session
from tests.support.databases import session_on
from tests.support.sessions import add_session_cookie, signed_in_user


@pytest.fixture(scope="module")
def mic_browser(browser: Browser) -> Iterator[Browser]:
    mic = launch_mic_browser(browser.browser_type)
    yield mic
    mic.close()


def assert_client_events_valid(metrics: dict[str, Any]) -> None:
    sent = metrics["sent"]
    assert {e["type"] for e in sent} >= {"response.cancel", "output_audio_buffer.clear"}
    for event in sent:
        validate_client_event(event)


def test_a_lesson_end_to_end_relay(app_server: RunningApp, mic_browser: Browser) -> None:
    who = signed_in_user(app_server, credits=30)
    page = classroom_page(mic_browser, app_server, who)
    expect(page.get_by_test_id("simulator-banner")).to_be_visible()

    metrics = run_conversation(page)
    assert_client_events_valid(metrics)
    barge = metrics["bargeIns"][0]
    assert barge["silentAt"] - barge["onsetAt"] < 1000

    # What the learner said over the tutor is heard and captioned too.
    learner_lines = page.get_by_test_id("captions").locator("[data-speaker=learner]")
    expect(learner_lines).to_have_count(2, timeout=20_000)
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
    expect(page.get_by_test_id("call-status")).to_have_text("Ended")

    practice, items, usage = stored_session(app_server, who.user_id)
    assert practice.status == "ended"
    assert practice.end_reason == "ended_by_learner"
    assert practice.signaling == "relay"
    assert practice.simulated is True
    assert practice.billable_seconds >= 10
    assert practice.charged_millicredits == practice.billable_seconds * 1000 // 60
    assert len(usage) == 1 and usage[0].millicredits == -practice.charged_millicredits
    speakers = [i.speaker for i in items]
    assert "learner" in speakers and "tutor" in speakers
    assert any(i.truncated for i in items if i.speaker == "tutor"), (
        "the interrupted answer is cut to what was heard"
    )
    assert practice.output_audio_tokens > 0

    # The lesson is analysed: its feedback shows in History with the mistakes marked in
    # the transcript, and "Hear it" plays the corrected sentence.
    page.get_by_role("link", name="Open this lesson in History").click()
    expect(page).to_have_url(re.compile(rf"/history/{practice.id}$"))
    marks = page.locator("#transcript mark.mistake")
    expect(marks.first).to_be_visible(timeout=60_000)
    correction = page.locator(".correction").first
    expect(correction).to_be_visible()
    hear = correction.get_by_role("button", name=re.compile("Hear it"))
    clip_id = hear.get_attribute("data-hear")
    hear.click()
    page.wait_for_function(
        "(id) => { const a = document.getElementById(id); return a && (a.ended || a.currentTime > 0.2); }",
        arg=clip_id,
        timeout=20_000,
    )
    page.context.close()


def test_no_credits_cannot_start(app_server: RunningApp, mic_browser: Browser) -> None:
    who = signed_in_user(app_server, credits=0)
    page = classroom_page(mic_browser, app_server, who)
    page.get_by_role("button", name="Start session").click()
    error = page.get_by_test_id("call-error")
    expect(error).to_contain_text("out of credits")
    expect(error.get_by_role("link", name="See credit packs")).to_have_attribute("href", "/pricing")
    expect(page.get_by_test_id("call-status")).to_have_text("Ready")
    with session_on(app_server.database_url) as s:
        assert s.exec(select(PracticeSession).where(PracticeSession.user_id == who.user_id)).first() is None
    page.context.close()


def test_leaving_the_page_ends_the_call(app_server: RunningApp, mic_browser: Browser) -> None:
    who = signed_in_user(app_server, credits=30)
    page = classroom_page(mic_browser, app_server, who)
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
    page.wait_for_timeout(1500)
    page.goto(app_server.url("/account"))
    expect(page).to_have_url(re.compile(r"/account$"))
    deadline_ms = 10_000
    waited = 0
    while waited < deadline_ms:
        practice, _, usage = stored_session(app_server, who.user_id)
        if practice.status == "ended":
            break
        page.wait_for_timeout(250)
        waited += 250
    assert practice.status == "ended"
    assert len(usage) <= 1
    page.context.close()


def test_a_denied_microphone_says_what_to_do(app_server: RunningApp, browser: Browser) -> None:
    # The plain browser has no fake-media flags, and the context grants no microphone
    # permission, so getUserMedia is refused as when a learner clicks "Block".
    who = signed_in_user(app_server, credits=5)
    context = browser.new_context()
    add_session_cookie(context, app_server, who)
    page = context.new_page()
    page.goto(app_server.url("/classroom"))
    page.get_by_role("button", name="Start session").click()
    error = page.get_by_test_id("call-error")
    expect(error).to_contain_text(re.compile("microphone"), timeout=15_000)
    expect(page.get_by_test_id("call-status")).to_have_text("Ready")
    expect(page.get_by_role("button", name="Start session")).to_be_enabled()
    with session_on(app_server.database_url) as s:
        rows = s.exec(select(PracticeSession).where(PracticeSession.user_id == who.user_id)).all()
        assert all(r.charged_millicredits == 0 for r in rows)
    context.close()


def test_the_classroom_fits_a_phone(app_server: RunningApp, browser: Browser) -> None:
    who = signed_in_user(app_server, credits=5)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    add_session_cookie(context, app_server, who)
    page = context.new_page()
    page.goto(app_server.url("/classroom"))
    expect(page.get_by_role("button", name="Start session")).to_be_visible()
    expect(page.get_by_label("Topic or role-play")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    context.close()
