"""Classroom latency on loopback: the app against a bare WebRTC reference page.

Both talk to the same local Realtime simulator, in the same Chromium with the same fake
microphone, alternating run by run. The reference leaves barge-in to the provider's
server VAD (`interrupt_response` and `create_response` on), as the bare article flow
does. Measured in the page (performance.now()):
- start: click → data channel open ("live"); for the app also click → SDP offer ready
  (offer) and click → the relay's answer back (answer);
- reply: the server's end-of-speech event → the tutor's audio audible in the page;
- duck (app only): the learner's speech onset → the tutor lowered by 20 dB;
- silent: the learner's speech onset → the tutor silent (no audible output for 150 ms,
  dated from its start).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.support.app_server import RunningApp, start_prod_app, stop_app
from tests.support.classroom import NOISE_CLIPS, launch_mic_browser, noise_mic_wav
from tests.support.databases import fresh_postgres
from tests.support.sessions import add_session_cookie, signed_in_user

ROOT = Path(__file__).resolve().parents[1]
LEARNER_WAV = ROOT / "tests" / "assets" / "audio" / "classroom_learner.wav"
REFERENCE_HTML = (Path(__file__).parent / "reference.html").read_text()
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WAIT_MS = 40_000


METRICS = ("start_ms", "offer_ms", "answer_ms", "reply_ms", "duck_ms", "silent_ms")


def _collect(metrics: dict[str, Any]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in METRICS}
    if metrics.get("liveAt") is not None and metrics.get("clickedAt") is not None:
        out["start_ms"].append(metrics["liveAt"] - metrics["clickedAt"])
    # Where the app's start time goes: the offer is ready in the page, the answer is back.
    for name, mark in (("offer_ms", "offerAt"), ("answer_ms", "answerAt")):
        if metrics.get(mark) is not None and metrics.get("clickedAt") is not None:
            out[name].append(metrics[mark] - metrics["clickedAt"])
    out["reply_ms"] += [r["audibleAt"] - r["speechStoppedAt"] for r in metrics.get("replies", [])]
    barges = [b for b in metrics.get("bargeIns", []) if b.get("silentAt") is not None]
    out["duck_ms"] += [b["duckedAt"] - b["onsetAt"] for b in barges if b.get("duckedAt") is not None]
    out["silent_ms"] += [b["silentAt"] - b["onsetAt"] for b in barges]
    return out


WAIT_FOR_BARGE_IN = """() => {
  const m = window.__fluentioCall || {};
  return (m.bargeIns || []).some((b) => b.silentAt !== null) && (m.replies || []).length >= 1;
}"""


def app_call(browser: Any, app: RunningApp, until: str) -> dict[str, Any]:
    """One lesson in the app: click Start, wait for `until` (JS), return the page's metrics."""
    who = signed_in_user(app, credits=60)
    context = browser.new_context(permissions=["microphone"])
    add_session_cookie(context, app, who)
    page = context.new_page()
    page.goto(app.url("/classroom"))
    page.get_by_role("button", name="Start session").wait_for()
    page.wait_for_function("() => !!document.querySelector('[data-testid=mic-level]')")
    # The speech model loads while the learner looks at the page, before Start.
    page.wait_for_timeout(1500)
    page.evaluate(
        """() => { const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Start session');
                   window.__clickedAt = performance.now(); b.click(); }"""
    )
    page.wait_for_function(until, timeout=WAIT_MS)
    metrics: dict[str, Any] = page.evaluate(
        "() => ({...window.__fluentioCall, clickedAt: window.__clickedAt})"
    )
    page.get_by_role("button", name="End session").click()
    page.wait_for_timeout(500)
    context.close()
    return metrics


def reference_call(browser: Any, sim_v1: str, key: str, until: str) -> dict[str, Any]:
    """The same exchange on the bare reference page; returns its metrics."""
    secret = httpx.post(
        f"{sim_v1}/realtime/client_secrets",
        headers={"Authorization": f"Bearer {key}"},
        json={"expires_after": {"anchor": "created_at", "seconds": 120}, "session": _reference_session()},
        timeout=10,
    ).json()["value"]
    context = browser.new_context(permissions=["microphone"])
    page = context.new_page()
    # A blank document on the loopback origin (a secure context, so the microphone is
    # allowed); none of the app's code runs in it.
    page.goto(sim_v1.split("/sim/")[0] + "/healthz")
    page.set_content(REFERENCE_HTML)
    page.evaluate(
        "([url, secret]) => { window.__clickedAt = performance.now(); window.__startReference(url, secret); }",
        [f"{sim_v1}/realtime/calls", secret],
    )
    page.wait_for_function(until, timeout=WAIT_MS)
    metrics: dict[str, Any] = page.evaluate(
        "() => ({...window.__fluentioCall, clickedAt: window.__clickedAt})"
    )
    page.evaluate("() => window.__hangup && window.__hangup()")
    context.close()
    return metrics


def _reference_session() -> dict[str, Any]:
    """The app's session (same transcription, voice and VAD timing) with barge-in and
    answers left to the provider's server VAD, as a bare page does."""
    from fluentio.classroom.realtime_config import build_session_config, validate_session_config
    from fluentio.settings import get_settings

    config: dict[str, Any] = dict(
        build_session_config(settings=get_settings(), instructions="You are a friendly English tutor.")
    )
    config["audio"]["input"]["turn_detection"].update(create_response=True, interrupt_response=True)
    return dict(validate_session_config(config))


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def run() -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from fluentio.settings import SIMULATOR_OPENAI_KEY

    app_samples: dict[str, list[float]] = {name: [] for name in METRICS}
    ref_samples: dict[str, list[float]] = {name: [] for name in METRICS}
    with tempfile.TemporaryDirectory() as tmp, fresh_postgres(prefix="fluentio_bench") as url:
        app = start_prod_app(database_url=url, log_dir=Path(tmp), extra_env={"FLUENTIO_OUTBOX_DIR": tmp})
        try:
            sim_v1 = app.url("/sim/openai/v1")
            with sync_playwright() as p:
                browser = launch_mic_browser(p.chromium, LEARNER_WAV)
                for _ in range(RUNS):
                    ref = reference_call(browser, sim_v1, SIMULATOR_OPENAI_KEY, WAIT_FOR_BARGE_IN)
                    for key, value in _collect(ref).items():
                        ref_samples[key] += value
                    for key, value in _collect(app_call(browser, app, WAIT_FOR_BARGE_IN)).items():
                        app_samples[key] += value
                browser.close()
                noise = noise_table(p.chromium, app, sim_v1, SIMULATOR_OPENAI_KEY, Path(tmp))
        finally:
            stop_app(app)
    rows = {}
    for metric in METRICS:
        app_median, ref_median = _median(app_samples[metric]), _median(ref_samples[metric])
        rows[metric] = {
            "app_median": app_median,
            "reference_median": ref_median,
            "ratio": round(app_median / ref_median, 2) if app_median and ref_median else None,
            "app_samples": [round(v, 1) for v in app_samples[metric]],
            "reference_samples": [round(v, 1) for v in ref_samples[metric]],
        }
    return {"runs": RUNS, "id": uuid.uuid4().hex[:8], "metrics": rows, "noise": noise}


# Wait for the tutor's greeting to end (completed or cut), then 1.5 s more for the rest of
# the clip and any answer to it.
AFTER_GREETING = """() => {
  const m = window.__fluentioCall || {};
  if (!Object.keys(m.responses || {}).length) return false;
  window.__greetingDoneAt = window.__greetingDoneAt || performance.now();
  return performance.now() - window.__greetingDoneAt > 1500;
}"""


def _cut(metrics: dict[str, Any]) -> bool:
    sent = [e.get("type") for e in metrics.get("sent", [])]
    return "response.cancel" in sent or "cancelled" in metrics.get("responses", {}).values()


def _answered(metrics: dict[str, Any], *, app: bool) -> bool:
    """Did the noise get a reply of its own (beyond the greeting)?"""
    if app:
        return any(e.get("type") == "response.create" for e in metrics.get("sent", []))
    return len(metrics.get("responses", {})) > 1


def noise_table(chromium: Any, app: RunningApp, sim_v1: str, key: str, tmp: Path) -> dict[str, Any]:
    """Each clip of the noise corpus on the fake microphone while the tutor greets: was the
    tutor cut, and did the noise get an answer, in the app and in the reference?"""
    rows: dict[str, Any] = {}
    for clip in NOISE_CLIPS:
        browser = launch_mic_browser(chromium, noise_mic_wav(clip, tmp))
        try:
            ref = reference_call(browser, sim_v1, key, AFTER_GREETING)
            ours = app_call(browser, app, AFTER_GREETING)
        finally:
            browser.close()
        rows[clip] = {
            "app_cut": _cut(ours),
            "reference_cut": _cut(ref),
            "app_answered": _answered(ours, app=True),
            "reference_answered": _answered(ref, app=False),
            "app_vad": ours.get("vad"),
        }
    rows["total"] = {
        name: sum(1 for clip in NOISE_CLIPS if rows[clip][name])
        for name in ("app_cut", "reference_cut", "app_answered", "reference_answered")
    }
    return rows
