"""Browser helpers for the classroom tests and the benchmark: a Chromium whose fake
microphone plays a recorded learner, and a signed-in classroom page."""

from __future__ import annotations

import uuid
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from fluentio.models import LedgerEntry, LedgerReason, PracticeSession, TranscriptItem
from tests.support.app_server import RunningApp
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.databases import session_on
from tests.support.sessions import SignedIn, add_session_cookie

ROOT = Path(__file__).resolve().parents[2]
# 6 s of silence (the tutor greets), a sentence with mistakes, a short pause (the tutor
# starts answering), a second sentence spoken over the tutor (barge-in), then silence.
LEARNER_WAV = ROOT / "tests" / "assets" / "audio" / "classroom_learner.wav"
# Sounds a learner's room makes that must never cut the tutor (scripts/make-noise-corpus.sh).
NOISE_DIR = ROOT / "tests" / "assets" / "audio" / "noise"
NOISE_CLIPS = ("typing", "cough", "knock", "fan", "music", "tv", "echo", "mmhm")
# Sounds that last the whole call rather than starting partway through.
UNDER_EVERYTHING = ("fan",)


def place_clip(clip: Path, out: Path, *, at_s: float, total_s: float) -> Path:
    """A fake-microphone WAV: silence, `clip` starting `at_s` seconds in, silence to `total_s`."""
    with wave.open(str(clip)) as src:
        rate = src.getframerate()
        samples = np.frombuffer(src.readframes(src.getnframes()), dtype=np.int16)
    track = np.zeros(int(total_s * rate), dtype=np.int16)
    start = int(at_s * rate)
    part = samples[: max(0, len(track) - start)]
    track[start : start + len(part)] = part
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(rate)
        dst.writeframes(track.tobytes())
    return out


def noise_mic_wav(name: str, out_dir: Path) -> Path:
    """The noise clip `name` as the fake microphone, landing while the tutor greets (the
    microphone opens at the click; the 7 s greeting starts about a second later)."""
    at_s = 0.0 if name in UNDER_EVERYTHING else 3.0
    return place_clip(NOISE_DIR / f"{name}.wav", out_dir / f"mic-{name}.wav", at_s=at_s, total_s=14.0)


def fake_mic_args(wav: Path = LEARNER_WAV) -> list[str]:
    assert wav.exists(), f"missing fake microphone file {wav}"
    return [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    ]


def launch_mic_browser(browser_type: Any, wav: Path = LEARNER_WAV) -> Browser:
    """A second Chromium from the tests' Playwright (one Playwright per process)."""
    return browser_type.launch(executable_path=chromium_path(), headless=True, args=fake_mic_args(wav))


@contextmanager
def mic_browser(wav: Path = LEARNER_WAV) -> Iterator[Browser]:
    """A fake-microphone Chromium with a Playwright of its own (for the benchmark)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_mic_browser(p.chromium, wav)
        try:
            yield browser
        finally:
            browser.close()


def classroom_page(browser: Browser, app: RunningApp, who: SignedIn, init_script: str = "") -> Page:
    """The signed-in classroom; `init_script` runs before the page's own scripts."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["microphone"])
    add_session_cookie(context, app, who)
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.goto(app.url("/classroom"))
    expect(page.get_by_role("heading", name="Classroom")).to_be_visible()
    return page


def call_metrics(page: Page) -> dict[str, Any]:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.__fluentioCall || {}))")


def run_conversation(page: Page) -> dict[str, Any]:
    """Start, hear the greeting, speak, hear the reply, cut it off; return the metrics."""
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
    captions = page.get_by_test_id("captions")
    # The tutor greets first: its caption shows and its audio is audible in the page.
    expect(captions.locator("[data-speaker=tutor]").first).to_be_visible(timeout=15_000)
    page.wait_for_function("() => (window.__fluentioCall || {}).tutorAudibleFrames > 20", timeout=15_000)
    # The learner's first sentence is captioned, then the tutor answers.
    expect(captions.locator("[data-speaker=learner]").first).to_be_visible(timeout=20_000)
    page.wait_for_function("() => (window.__fluentioCall || {}).replies.length >= 1", timeout=15_000)
    # The learner speaks over the tutor's answer: the tutor falls silent.
    page.wait_for_function(
        "() => { const b = (window.__fluentioCall || {}).bargeIns || [];"
        " return b.length >= 1 && b[0].silentAt !== null; }",
        timeout=20_000,
    )
    expect(page.get_by_test_id("tutor-speaking")).to_have_attribute("data-on", "false")
    return call_metrics(page)


def stored_session(
    app: RunningApp, user_id: uuid.UUID
) -> tuple[PracticeSession, list[TranscriptItem], list[LedgerEntry]]:
    """The learner's one practice session, its transcript and its usage charges."""
    with session_on(app.database_url) as s:
        practice = s.exec(select(PracticeSession).where(PracticeSession.user_id == user_id)).one()
        items = list(
            s.exec(
                select(TranscriptItem)
                .where(TranscriptItem.session_id == practice.id)
                .order_by(col(TranscriptItem.seq))
            )
        )
        usage = list(
            s.exec(
                select(LedgerEntry).where(
                    LedgerEntry.user_id == user_id, LedgerEntry.reason == LedgerReason.SESSION_USAGE.value
                )
            )
        )
        s.expunge_all()
        return practice, items, usage
