"""Barge-in hears speech, not noise: Chromium's fake microphone plays each sound of the
noise corpus while the tutor greets, and the tutor's greeting plays to its end with no
`response.cancel` and no answer to the noise; real speech over the tutor still cuts it
and the stored transcript keeps only what was heard.

The speech model (Silero VAD via onnxruntime-web) runs in the page from /vad/; each test
checks it was really used rather than the provider-VAD fallback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.app_server import RunningApp
from tests.support.classroom import (
    NOISE_CLIPS,
    ROOT,
    call_metrics,
    classroom_page,
    launch_mic_browser,
    noise_mic_wav,
    stored_session,
)
from tests.support.sessions import signed_in_user

SPEECH_OVER_GREETING = ROOT / "tests" / "assets" / "audio" / "learner_barge_in.wav"

GREETING_DONE = """() => {
  const m = window.__fluentioCall || {};
  return Object.keys(m.responses || {}).length >= 1;
}"""


def start_call(page: Page) -> None:
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)


def sent_types(metrics: dict[str, Any]) -> list[str]:
    return [e["type"] for e in metrics["sent"]]


@pytest.mark.parametrize("clip", NOISE_CLIPS)
def test_noise_over_the_tutor_does_not_cut_it(
    clip: str, app_server: RunningApp, browser: Browser, tmp_path: Path
) -> None:
    mic = launch_mic_browser(browser.browser_type, noise_mic_wav(clip, tmp_path))
    try:
        who = signed_in_user(app_server, credits=30)
        page = classroom_page(mic, app_server, who)
        start_call(page)
        page.wait_for_function(GREETING_DONE, timeout=30_000)
        # Let the rest of the clip play out after the greeting too, and every duck it caused
        # be decided (resumed, or let go as a backchannel).
        page.wait_for_timeout(1500)
        page.wait_for_function(
            "() => (window.__fluentioCall.ducks || []).every((d) => d.outcome !== null)", timeout=15_000
        )
        metrics = call_metrics(page)
        assert metrics["vad"] == "ready", "the speech model must run in the page"
        assert metrics["vadFrames"] > 100
        assert next(iter(metrics["responses"].values())) == "completed", "the greeting plays to its end"
        assert "response.cancel" not in sent_types(metrics)
        assert "output_audio_buffer.clear" not in sent_types(metrics)
        assert "response.create" not in sent_types(metrics), "noise gets no answer"
        assert metrics["bargeIns"] == []
        # Any duck the sound caused was lifted again.
        assert all(d["outcome"] in ("resumed", "backchannel") for d in metrics["ducks"]), metrics["ducks"]
        if clip == "mmhm":
            # The tutor reacted to the voice (ducked or silenced while it lasted), then went on.
            assert metrics["ducks"], "a backchannel is heard"
        page.get_by_role("button", name="End session").click()
        expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
        _, items, _ = stored_session(app_server, who.user_id)
        assert not any(i.truncated for i in items if i.speaker == "tutor")
        page.context.close()
    finally:
        mic.close()


def test_speech_over_the_tutor_cuts_it_and_gets_an_answer(app_server: RunningApp, browser: Browser) -> None:
    mic = launch_mic_browser(browser.browser_type, SPEECH_OVER_GREETING)
    try:
        who = signed_in_user(app_server, credits=30)
        page = classroom_page(mic, app_server, who)
        start_call(page)
        page.wait_for_function(
            "() => ((window.__fluentioCall || {}).bargeIns || []).some((b) => b.silentAt !== null)",
            timeout=30_000,
        )
        expect(page.get_by_test_id("tutor-speaking")).to_have_attribute("data-on", "false")
        # The learner's turn is committed and the page asks the tutor to answer it.
        page.wait_for_function(
            "() => (window.__fluentioCall.sent || []).some((e) => e.type === 'response.create')",
            timeout=20_000,
        )
        metrics = call_metrics(page)
        assert metrics["vad"] == "ready"
        barge = metrics["bargeIns"][0]
        assert barge["source"] == "model"
        # Ducked first, then silenced once the model confirmed speech. How fast is measured
        # by `make bench`, not here: a busy test machine must not make this test flaky.
        assert barge["onsetAt"] <= barge["duckedAt"] <= barge["silencedAt"]
        types = sent_types(metrics)
        assert types.index("response.cancel") < types.index("response.create")
        assert "output_audio_buffer.clear" in types
        assert next(iter(metrics["responses"].values())) == "cancelled"
        page.get_by_role("button", name="End session").click()
        expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
        _, items, _ = stored_session(app_server, who.user_id)
        greeting = next(i for i in items if i.speaker == "tutor")
        assert greeting.truncated, "the interrupted greeting is cut to what was heard"
        page.context.close()
    finally:
        mic.close()


def test_without_the_model_the_provider_vad_decides(app_server: RunningApp, browser: Browser) -> None:
    # A browser without WebAssembly cannot run the model: the page falls back to the
    # provider's speech_started for barge-in and answers every committed turn.
    mic = launch_mic_browser(browser.browser_type, SPEECH_OVER_GREETING)
    try:
        who = signed_in_user(app_server, credits=30)
        page = classroom_page(mic, app_server, who, init_script="delete window.WebAssembly;")
        start_call(page)
        page.wait_for_function(
            "() => ((window.__fluentioCall || {}).bargeIns || []).some((b) => b.silentAt !== null)",
            timeout=30_000,
        )
        page.wait_for_function(
            "() => (window.__fluentioCall.sent || []).some((e) => e.type === 'response.create')",
            timeout=20_000,
        )
        metrics = call_metrics(page)
        assert metrics["vad"] == "unavailable"
        assert metrics["bargeIns"][0]["source"] == "server"
        assert "response.cancel" in sent_types(metrics)
        page.context.close()
    finally:
        mic.close()
