"""Ctrl-C while a lesson is live: the server hangs the call up, finalises and charges it
once, closes the built-in simulator's peers in-process, and exits 0 (issue 11)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.support.app_server import start_prod_app, stop_app
from tests.support.classroom import classroom_page, launch_mic_browser, stored_session
from tests.support.databases import fresh_postgres
from tests.support.sessions import signed_in_user

pytestmark = pytest.mark.e2e
# A bound, not a measurement: before the fix the server never exited at all.
EXIT_BOUND_SECONDS = 30


def test_ctrl_c_during_a_live_lesson_finalises_it_once_and_exits(
    artifacts_dir: Path, browser: Browser
) -> None:
    with fresh_postgres(prefix="fluentio_e2e_stop") as url:
        app = start_prod_app(database_url=url, log_dir=artifacts_dir)
        mic = launch_mic_browser(browser.browser_type)
        try:
            who = signed_in_user(app, credits=10)
            page = classroom_page(mic, app, who)
            page.get_by_role("button", name="Start session").click()
            expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
            page.wait_for_function(
                "() => (window.__fluentioCall || {}).tutorAudibleFrames > 5", timeout=15_000
            )

            os.killpg(app.process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
            try:
                code = app.process.wait(timeout=EXIT_BOUND_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the server did not exit after Ctrl-C:\n{app.log()[-3000:]}")
            assert code == 0, app.log()[-3000:]

            practice, _items, usage = stored_session(app, who.user_id)
            assert practice.status == "ended" and practice.end_reason == "server_shutdown"
            assert practice.billable_seconds >= 1 and len(usage) == 1
            assert -usage[0].millicredits == practice.charged_millicredits > 0
        finally:
            mic.close()
            stop_app(app)
