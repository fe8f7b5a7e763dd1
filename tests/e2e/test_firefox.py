"""The learner's journey in Firefox (ESR), driven through Marionette: the public pages,
signing up and in, and a whole lesson on the built-in Realtime simulator.

Firefox gets a private PulseAudio (tests/support/firefox.py): a null sink so its
AudioContexts run, and a null source, a silent microphone on Firefox's real capture path.
One lesson uses that silent microphone (the tutor's greeting plays uncut and must be
heard); another uses Firefox's own fake microphone, a steady 1 kHz tone, whose
assertions hold whether or not the barge-in takes the tone for the learner.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, delete, select

from fluentio.auth.ratelimit import SIGN_UP_PER_IP
from fluentio.components.platform_help import INSTALL_HELP, MICROPHONE_HELP, Platform
from fluentio.models import AuthAttempt, PracticeSession
from tests.e2e.test_accounts import PASSWORD, link_sent_to, unique_email
from tests.e2e.test_public_pages import PUBLIC_PAGES
from tests.support.app_server import RunningApp
from tests.support.classroom import stored_session
from tests.support.databases import session_on
from tests.support.firefox import Firefox, firefox_path, firefox_session, pulse_audio
from tests.support.sessions import signed_in_user

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def firefox(artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Firefox]:
    binary = firefox_path()
    if binary is None:
        pytest.skip("no Firefox here: scripts/ensure-firefox.sh installs Firefox ESR (Debian, as root)")
    with (
        pulse_audio(tmp_path_factory.mktemp("pulse")) as pulse_server,
        firefox_session(binary, pulse_server=pulse_server, log_dir=artifacts_dir) as browser,
    ):
        if pulse_server is None:
            pytest.skip("no PulseAudio here: Firefox's AudioContexts cannot run without a sound server")
        yield browser


@pytest.fixture
def ff(firefox: Firefox, app_server: RunningApp) -> Iterator[Firefox]:
    """The module's Firefox, signed out, with an empty error console; no page errors after."""
    firefox.goto(app_server.url("/robots.txt"))
    firefox.sign_out()
    firefox.reset_console()
    yield firefox
    assert firefox.script_errors(app_server.base_url) == []


@pytest.mark.parametrize("route", list(PUBLIC_PAGES))
def test_public_pages_render(app_server: RunningApp, ff: Firefox, route: str) -> None:
    heading, sentence = PUBLIC_PAGES[route]
    ff.goto(app_server.url(route))
    assert ff.text("h1") == heading
    assert sentence in " ".join(ff.js("return document.body.textContent;").split())
    # Served as plain prerendered HTML: none of the app's modules to load or to fail.
    assert ff.js("return document.querySelectorAll('script[type=module]').length;") == 0
    assert ff.js("return document.getElementById('old-browser');") is None


def test_sign_up_log_out_and_log_in(app_server: RunningApp, ff: Firefox) -> None:
    # Every browser test signs up from 127.0.0.1: start this one under the per-IP limit.
    with session_on(app_server.database_url) as s:
        s.exec(delete(AuthAttempt).where(col(AuthAttempt.scope) == SIGN_UP_PER_IP.scope))
        s.commit()
    email = unique_email("firefox")
    ff.goto(app_server.url("/signup"))
    ff.hydrated()
    ff.fill("name", "Fran")
    ff.fill("email", email)
    ff.fill("password", PASSWORD)
    ff.button("Sign up").click()
    ff.wait_for_text("#signup-sent", f"we sent an email to {email}", timeout=30)
    # The emailed link verifies the address, grants the free credits and signs in.
    assert app_server.outbox is not None
    ff.goto(link_sent_to(app_server.outbox, email, "/verify-email"))
    ff.wait_for_url(lambda url: url.endswith("/classroom?welcome=1"), timeout=30)
    ff.goto(app_server.url("/account"))
    ff.wait_for_text("#credit-balance", "30 credits")
    # Firefox's real user agent picks Firefox's install advice.
    ff.wait_for_text("[data-testid=install-steps]", INSTALL_HELP[Platform.DESKTOP_FIREFOX])

    ff.button("Log out").click()
    ff.wait_for_url(lambda url: url.endswith("/?signed_out=1"))

    ff.goto(app_server.url("/login?next=%2Fclassroom"))
    ff.hydrated()
    ff.fill("email", email)
    ff.fill("password", PASSWORD)
    ff.button("Log in").click()
    ff.wait_for_url(lambda url: url.endswith("/classroom"), timeout=30)
    ff.button("Start session")


def _start_lesson(ff: Firefox, app_server: RunningApp) -> None:
    ff.goto(app_server.url("/classroom"))
    ff.wait_for_text("h1", "Classroom")
    ff.element("[data-testid=simulator-banner]")
    ff.button("Start session").click()
    ff.wait_for_text("[data-testid=call-status]", "Live", timeout=20)


def _end_lesson_and_check_the_charge(ff: Firefox, app_server: RunningApp, who_id: uuid.UUID) -> None:
    ff.button("End session").click()
    ff.wait_for_text("[data-testid=call-summary]", "Lesson saved", timeout=20)
    ff.wait_for_text("[data-testid=call-status]", "Ended")
    practice, _, usage = stored_session(app_server, who_id)
    assert practice.status == "ended"
    assert practice.end_reason == "ended_by_learner"
    assert practice.simulated is True
    assert practice.billable_seconds >= 1
    assert practice.charged_millicredits == practice.billable_seconds * 1000 // 60
    assert [entry.millicredits for entry in usage] == [-practice.charged_millicredits]


def test_a_lesson_with_a_silent_microphone(app_server: RunningApp, ff: Firefox) -> None:
    who = signed_in_user(app_server, credits=30)
    ff.sign_in_as(app_server, who)
    # The PulseAudio null source instead of Firefox's fake tone: a quiet room.
    with ff.marionette.using_prefs({"media.navigator.streams.fake": False}):
        _start_lesson(ff, app_server)
        # The greeting plays through the page's Web Audio graph and is captioned.
        ff.wait_for_js("(window.__fluentioCall || {}).tutorAudibleFrames > 20", timeout=20)
        ff.wait_for_text("[data-testid=captions] [data-speaker=tutor]", "Hello", timeout=20)
        assert ff.js("return (window.__fluentioCall || {}).bargeIns.length;") == 0, "silence is not speech"
        _end_lesson_and_check_the_charge(ff, app_server, who.user_id)


def test_a_lesson_with_firefox_fake_microphone(app_server: RunningApp, ff: Firefox) -> None:
    who = signed_in_user(app_server, credits=30)
    ff.sign_in_as(app_server, who)
    _start_lesson(ff, app_server)
    # The tutor greets (a barge-in may cut the greeting short, never its first caption).
    ff.element("[data-testid=captions] [data-speaker=tutor]", timeout=20)
    _end_lesson_and_check_the_charge(ff, app_server, who.user_id)


def test_leaving_the_classroom_ends_the_call(app_server: RunningApp, ff: Firefox) -> None:
    who = signed_in_user(app_server, credits=30)
    ff.sign_in_as(app_server, who)
    with ff.marionette.using_prefs({"media.navigator.streams.fake": False}):
        _start_lesson(ff, app_server)
        ff.wait_for_js("(window.__fluentioCall || {}).tutorAudibleFrames > 5", timeout=20)
        ff.goto(app_server.url("/account"))
        ff.wait_for_text("h1", "Your account")

        def ended(_: object) -> bool:
            practice, _items, _usage = stored_session(app_server, who.user_id)
            return practice.status == "ended"

        ff.wait_until(ended, timeout=15, message="the call was still open after leaving the page")
    practice, _, usage = stored_session(app_server, who.user_id)
    assert [entry.millicredits for entry in usage] == [-practice.charged_millicredits]


def test_a_blocked_microphone_says_how_to_allow_it_in_firefox(app_server: RunningApp, ff: Firefox) -> None:
    who = signed_in_user(app_server, credits=5)
    ff.sign_in_as(app_server, who)
    # As when the learner chose "Block" for microphones: Firefox refuses without asking.
    with ff.marionette.using_prefs(
        {"media.navigator.permission.disabled": False, "permissions.default.microphone": 2}
    ):
        ff.goto(app_server.url("/classroom"))
        ff.button("Start session").click()
        ff.wait_for_text("[data-testid=call-error]", MICROPHONE_HELP[Platform.DESKTOP_FIREFOX])
        ff.wait_for_text("[data-testid=call-status]", "Ready")
    with session_on(app_server.database_url) as s:
        rows = s.exec(select(PracticeSession).where(PracticeSession.user_id == who.user_id)).all()
        assert all(row.charged_millicredits == 0 for row in rows)
