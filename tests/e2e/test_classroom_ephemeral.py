"""The classroom in a production-like set-up: a real-looking secret OPENAI_API_KEY, and
OPENAI_BASE_URL pointing at the Realtime simulator running as its own process (as
OpenAI would be). With a key, signalling is relay: ephemeral is refused at start-up
(tests/unit/test_settings.py), because a client secret could open calls the server
never follows; ephemeral itself is covered against the simulator, which spends a
secret on its first call (tests/integration/test_classroom_calls.py).

One credit buys 8 seconds here, so running out of credits takes seconds, not a minute.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from fluentio.billing import ledger
from tests.support.app_server import RunningApp, start_prod_app, stop_app
from tests.support.classroom import classroom_page, launch_mic_browser, run_conversation, stored_session
from tests.support.databases import fresh_postgres, session_on
from tests.support.sessions import signed_in_user
from tests.support.sim_server import running_simulator

SECONDS_PER_CREDIT = 8
SECRET_KEY = "sk-e2e-" + secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def keyed_app(artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    outbox = tmp_path_factory.mktemp("outbox-ephemeral")
    with (
        running_simulator(artifacts_dir, api_key=SECRET_KEY) as sim,
        fresh_postgres(prefix="fluentio_e2e_eph") as url,
    ):
        app = start_prod_app(
            database_url=url,
            log_dir=artifacts_dir,
            extra_env={
                "OPENAI_API_KEY": SECRET_KEY,
                "OPENAI_BASE_URL": sim.base_url,
                # A strong secret: the app refuses a weak one once a provider key is set.
                "FLUENTIO_SECRET_KEY": secrets.token_urlsafe(48),
                "FLUENTIO_SECONDS_PER_CREDIT": str(SECONDS_PER_CREDIT),
                "FLUENTIO_OUTBOX_DIR": str(outbox),
            },
        )
        try:
            yield app
        finally:
            stop_app(app)


@pytest.fixture(scope="module")
def mic_browser(browser: Browser) -> Iterator[Browser]:
    mic = launch_mic_browser(browser.browser_type)
    yield mic
    mic.close()


def record_traffic(page: Page) -> list[str]:
    """Every response body and websocket frame the page sees, as text."""
    seen: list[str] = []

    def on_response(response: Any) -> None:
        try:
            seen.append(f"{response.url} {response.headers} " + response.body().decode("utf-8", "replace"))
        except Exception:  # a body that is gone (redirects, aborted loads)
            seen.append(f"{response.url} {response.headers}")

    def on_websocket(ws: Any) -> None:
        ws.on("framereceived", lambda payload: seen.append(str(payload)))
        ws.on("framesent", lambda payload: seen.append(str(payload)))

    page.on("response", on_response)
    page.on("websocket", on_websocket)
    return seen


def test_keyed_lesson_and_the_key_never_reaches_the_browser(
    keyed_app: RunningApp, mic_browser: Browser
) -> None:
    who = signed_in_user(keyed_app, credits=100)
    page = classroom_page(mic_browser, keyed_app, who)
    seen = record_traffic(page)
    page.reload()  # record the whole page load, assets included
    expect(page.get_by_role("button", name="Start session")).to_be_visible()
    # No simulator banner: as far as the app knows, this is OpenAI.
    expect(page.get_by_test_id("simulator-banner")).to_have_count(0)

    metrics = run_conversation(page)
    assert metrics["callId"].startswith("rtc_")
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)

    practice, items, usage = stored_session(keyed_app, who.user_id)
    assert practice.signaling == "relay"
    assert practice.provider_call_id == metrics["callId"]
    assert practice.simulated is False
    assert {i.speaker for i in items} == {"learner", "tutor"}
    assert practice.charged_millicredits == practice.billable_seconds * 1000 // SECONDS_PER_CREDIT
    assert len(usage) == 1

    # Every asset the page loaded, every response and every socket frame: no server key.
    assert len(seen) > 20
    assert not [text[:200] for text in seen if SECRET_KEY in text]
    for asset in {text.split(" ", 1)[0] for text in seen if "/_next/" in text or text.endswith(".js")}:
        assert SECRET_KEY not in page.request.get(asset).text()
    page.context.close()


def test_one_credit_is_warned_and_hung_up_when_it_runs_out(
    keyed_app: RunningApp, mic_browser: Browser
) -> None:
    who = signed_in_user(keyed_app, credits=1)
    page = classroom_page(mic_browser, keyed_app, who)
    page.get_by_role("button", name="Start session").click()
    expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
    # Less than a minute of credit from the start: the warning shows while talking.
    expect(page.get_by_test_id("low-balance")).to_be_visible(timeout=10_000)
    # The server hangs up when the credit is used up; the page says why and what to do.
    expect(page.get_by_test_id("call-status")).to_have_text(
        "Ended", timeout=SECONDS_PER_CREDIT * 1000 + 15_000
    )
    notice = page.get_by_test_id("call-notice")
    expect(notice).to_contain_text("credits ran out")
    expect(notice.get_by_role("link", name="See credit packs")).to_have_attribute("href", "/pricing")

    practice, _, usage = stored_session(keyed_app, who.user_id)
    assert practice.end_reason == "out_of_credits"
    assert SECONDS_PER_CREDIT - 1 <= practice.billable_seconds <= SECONDS_PER_CREDIT + 3
    assert len(usage) == 1 and usage[0].millicredits == -1000
    with session_on(keyed_app.database_url) as s:
        assert ledger.balance(session=s, user_id=who.user_id) == 0
    page.context.close()
