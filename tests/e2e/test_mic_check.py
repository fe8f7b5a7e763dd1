"""The microphone check and push-to-talk, end to end in Chromium with a fake microphone:
a silent microphone, a noisy room (which suggests push-to-talk, remembered per learner)
and a good microphone; push-to-talk keeps a talking room from cutting the tutor until
the learner holds the button."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from fluentio.models import ClassroomPreferences
from tests.support.app_server import RunningApp
from tests.support.classroom import (
    NOISE_DIR,
    ROOT,
    call_metrics,
    classroom_page,
    launch_mic_browser,
    place_clip,
)
from tests.support.databases import session_on
from tests.support.sessions import SignedIn, signed_in_user

AUDIO = ROOT / "tests" / "assets" / "audio"


def silent_wav(out: Path) -> Path:
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(16_000)
        dst.writeframes(np.zeros(16_000 * 10, dtype=np.int16).tobytes())
    return out


def run_check(browser: Browser, wav: Path, app: RunningApp) -> tuple[Page, SignedIn]:
    mic = launch_mic_browser(browser.browser_type, wav)
    who = signed_in_user(app, credits=5)
    page = classroom_page(mic, app, who)
    expect(page.get_by_test_id("mic-check-first")).to_be_visible()
    page.get_by_role("button", name="Check microphone").click()
    expect(page.get_by_test_id("mic-check-result")).to_be_visible(timeout=20_000)
    return page, who


def test_a_silent_microphone_is_named(app_server: RunningApp, browser: Browser, tmp_path: Path) -> None:
    page, _ = run_check(browser, silent_wav(tmp_path / "silent.wav"), app_server)
    result = page.get_by_test_id("mic-check-result")
    expect(result).to_have_attribute("data-verdict", "silent")
    expect(result).to_contain_text("We can't hear you: check the microphone")
    page.context.browser.close()


def test_a_noisy_room_suggests_headphones_and_push_to_talk(
    app_server: RunningApp, browser: Browser, tmp_path: Path
) -> None:
    wav = place_clip(NOISE_DIR / "music.wav", tmp_path / "music.wav", at_s=0.0, total_s=10.0)
    page, who = run_check(browser, wav, app_server)
    result = page.get_by_test_id("mic-check-result")
    expect(result).to_have_attribute("data-verdict", "noisy")
    expect(result).to_contain_text("headphones will help")
    result.get_by_role("button", name="Use push-to-talk").click()
    expect(page.get_by_role("switch")).to_have_attribute("data-state", "checked")
    # Remembered for this learner: on the server, and after a reload.
    page.reload()
    expect(page.get_by_role("switch")).to_have_attribute("data-state", "checked")
    # The hold-to-talk button is part of the call: there, disabled, until a lesson starts.
    expect(page.get_by_test_id("push-to-talk")).to_be_attached()
    expect(page.get_by_test_id("push-to-talk")).to_be_disabled()
    expect(page.get_by_test_id("mic-check-first")).to_have_count(0)
    with session_on(app_server.database_url) as s:
        prefs = s.exec(select(ClassroomPreferences).where(ClassroomPreferences.user_id == who.user_id)).one()
        assert prefs.push_to_talk and prefs.mic_checked_at is not None
    page.context.browser.close()


def test_a_good_microphone_sounds_good(app_server: RunningApp, browser: Browser) -> None:
    page, _ = run_check(browser, AUDIO / "learner_hello.wav", app_server)
    result = page.get_by_test_id("mic-check-result")
    expect(result).to_have_attribute("data-verdict", "good")
    expect(result).to_contain_text("Sounds good")
    check = page.evaluate("window.__fluentioMicCheck")
    assert check["model"] and check["speechMs"] >= 300
    page.context.browser.close()


def test_push_to_talk_sends_only_while_held(app_server: RunningApp, browser: Browser) -> None:
    # The learner talks from 1.5 s to 10.5 s without pause, all over the tutor's greeting.
    mic = launch_mic_browser(browser.browser_type, AUDIO / "learner_long.wav")
    try:
        who = signed_in_user(app_server, credits=30)
        page = classroom_page(mic, app_server, who)
        page.get_by_role("switch").click()
        expect(page.get_by_role("switch")).to_have_attribute("data-state", "checked")
        page.get_by_role("button", name="Start session").click()
        expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
        page.wait_for_function("() => (window.__fluentioCall || {}).tutorAudibleFrames > 20", timeout=15_000)
        page.wait_for_timeout(2500)
        # Not holding: the talking room neither cuts the tutor nor reaches it.
        metrics = call_metrics(page)
        assert metrics["bargeIns"] == [] and "response.cancel" not in [e["type"] for e in metrics["sent"]]
        expect(page.get_by_test_id("captions").locator("[data-speaker=learner]")).to_have_count(0)
        # Holding the button over the tutor cuts it at once and lets the learner speak.
        button = page.get_by_test_id("push-to-talk")
        button.hover()
        page.mouse.down()
        expect(button).to_have_attribute("aria-pressed", "true")
        page.wait_for_function("() => window.__fluentioCall.bargeIns.length === 1", timeout=5_000)
        page.wait_for_timeout(2000)
        page.mouse.up()
        expect(button).to_have_attribute("aria-pressed", "false")
        assert call_metrics(page)["bargeIns"][0]["source"] == "push_to_talk"
        expect(page.get_by_test_id("captions").locator("[data-speaker=learner]")).to_have_count(
            1, timeout=15_000
        )
        page.wait_for_function(
            "() => window.__fluentioCall.sent.some((e) => e.type === 'response.create')", timeout=15_000
        )
        page.get_by_role("button", name="End session").click()
        expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
        page.context.close()
    finally:
        mic.close()
