"""Classroom latency on loopback: the app against a bare WebRTC reference page.

Both talk to the same local Realtime simulator, in the same Chromium with the same fake
microphone, alternating run by run. Measured in the page (performance.now()):
- start: click → data channel open ("live");
- reply: the server's end-of-speech event → the tutor's audio audible in the page;
- barge-in: the learner's speech onset (a local level detector) → the tutor silent.
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
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.databases import fresh_postgres
from tests.support.sessions import add_session_cookie, signed_in_user

ROOT = Path(__file__).resolve().parents[1]
LEARNER_WAV = ROOT / "tests" / "assets" / "audio" / "classroom_learner.wav"
REFERENCE_HTML = (Path(__file__).parent / "reference.html").read_text()
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WAIT_MS = 40_000


def _collect(metrics: dict[str, Any]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"start_ms": [], "reply_ms": [], "barge_in_ms": []}
    if metrics.get("liveAt") is not None and metrics.get("clickedAt") is not None:
        out["start_ms"].append(metrics["liveAt"] - metrics["clickedAt"])
    out["reply_ms"] += [r["audibleAt"] - r["speechStoppedAt"] for r in metrics.get("replies", [])]
    out["barge_in_ms"] += [
        b["silentAt"] - b["onsetAt"] for b in metrics.get("bargeIns", []) if b.get("silentAt") is not None
    ]
    return out


WAIT_FOR_BARGE_IN = """() => {
  const m = window.__fluentioCall || {};
  return (m.bargeIns || []).some((b) => b.silentAt !== null) && (m.replies || []).length >= 1;
}"""


def _app_run(browser: Any, app: RunningApp) -> dict[str, list[float]]:
    who = signed_in_user(app, credits=60)
    context = browser.new_context(permissions=["microphone"])
    add_session_cookie(context, app, who)
    page = context.new_page()
    page.goto(app.url("/classroom"))
    page.get_by_role("button", name="Start session").wait_for()
    page.wait_for_function("() => !!document.querySelector('[data-testid=mic-level]')")
    page.evaluate(
        """() => { const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Start session');
                   window.__clickedAt = performance.now(); b.click(); }"""
    )
    page.wait_for_function(WAIT_FOR_BARGE_IN, timeout=WAIT_MS)
    metrics = page.evaluate("() => ({...window.__fluentioCall, clickedAt: window.__clickedAt})")
    page.get_by_role("button", name="End session").click()
    page.wait_for_timeout(500)
    context.close()
    return _collect(metrics)


def _reference_run(browser: Any, sim_v1: str, key: str) -> dict[str, list[float]]:
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
    page.wait_for_function(WAIT_FOR_BARGE_IN, timeout=WAIT_MS)
    metrics = page.evaluate("() => ({...window.__fluentioCall, clickedAt: window.__clickedAt})")
    page.evaluate("() => window.__hangup && window.__hangup()")
    context.close()
    return _collect(metrics)


def _reference_session() -> dict[str, Any]:
    """The same session config the app sends (same VAD, transcription and voice)."""
    from fluentio.classroom.realtime_config import build_session_config
    from fluentio.settings import get_settings

    return dict(
        build_session_config(settings=get_settings(), instructions="You are a friendly English tutor.")
    )


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def run() -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from fluentio.settings import SIMULATOR_OPENAI_KEY

    app_samples: dict[str, list[float]] = {"start_ms": [], "reply_ms": [], "barge_in_ms": []}
    ref_samples: dict[str, list[float]] = {"start_ms": [], "reply_ms": [], "barge_in_ms": []}
    with tempfile.TemporaryDirectory() as tmp, fresh_postgres(prefix="fluentio_bench") as url:
        app = start_prod_app(database_url=url, log_dir=Path(tmp), extra_env={"FLUENTIO_OUTBOX_DIR": tmp})
        try:
            sim_v1 = app.url("/sim/openai/v1")
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium_path(),
                    headless=True,
                    args=[
                        *CHROMIUM_ARGS,
                        "--use-fake-ui-for-media-stream",
                        "--use-fake-device-for-media-stream",
                        f"--use-file-for-fake-audio-capture={LEARNER_WAV}%noloop",
                    ],
                )
                for _ in range(RUNS):
                    for key, value in _reference_run(browser, sim_v1, SIMULATOR_OPENAI_KEY).items():
                        ref_samples[key] += value
                    for key, value in _app_run(browser, app).items():
                        app_samples[key] += value
                browser.close()
        finally:
            stop_app(app)
    rows = {}
    for metric in ("start_ms", "reply_ms", "barge_in_ms"):
        app_median, ref_median = _median(app_samples[metric]), _median(ref_samples[metric])
        rows[metric] = {
            "app_median": app_median,
            "reference_median": ref_median,
            "ratio": round(app_median / ref_median, 2) if app_median and ref_median else None,
            "app_samples": [round(v, 1) for v in app_samples[metric]],
            "reference_samples": [round(v, 1) for v in ref_samples[metric]],
        }
    return {"runs": RUNS, "id": uuid.uuid4().hex[:8], "metrics": rows}
