"""/history in Chromium against the production build: a finished session is analysed by
the app's own worker and the built-in simulator, its feedback shows with the mistakes
marked, and "Hear it" plays real audio, the second time without a new request."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from fluentio.feedback.jobs import enqueue_analysis
from fluentio.models import Feedback
from fluentio.models.tutor import Correction, SpeechClip
from fluentio.simulator.script import LEARNER_LINES
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.feedback_data import add_feedback, add_practice_session
from tests.support.sessions import SignedIn, add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e


def finished_session(
    app: RunningApp, who: SignedIn, *, learner_lines: tuple[str, ...] = LEARNER_LINES[:6]
) -> str:
    """A session that has ended, with its analysis queued as the classroom does."""
    with session_on(app.database_url) as session:
        practice = add_practice_session(
            session, user_id=who.user_id, learner_lines=learner_lines, topic="Daily life"
        )
        enqueue_analysis(session=session, practice_session_id=practice.id)
        session.commit()
        return str(practice.id)


def feedback_status(app: RunningApp, practice_id: str) -> str:
    with session_on(app.database_url) as session:
        job = session.exec(select(Feedback).where(Feedback.session_id == uuid.UUID(practice_id))).one()
        return job.status


def wait_for_status(app: RunningApp, practice_id: str, wanted: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while (status := feedback_status(app, practice_id)) != wanted:
        assert time.monotonic() < deadline, (
            f"feedback is {status!r}, expected {wanted!r}:\n{app.log()[-3000:]}"
        )
        time.sleep(0.3)


def signed_in_page(page: Page, app: RunningApp, who: SignedIn) -> Page:
    add_session_cookie(page.context, app, who)
    return page


def test_feedback_appears_with_mistakes_marked_and_hear_it_plays_from_cache(
    app_server: RunningApp, page: Page
) -> None:
    who = signed_in_user(app_server)
    practice_id = finished_session(app_server, who)
    wait_for_status(app_server, practice_id, "done")  # the app's worker + simulator did it

    speech_requests: list[str] = []
    speech_responses: list[Any] = []
    page.on("request", lambda r: speech_requests.append(r.url) if "/api/speech/" in r.url else None)
    page.on("response", lambda r: speech_responses.append(r) if "/api/speech/" in r.url else None)
    signed_in_page(page, app_server, who).goto(app_server.url("/history"))

    row = page.locator(f'tr[data-session="{practice_id}"]')
    expect(row).to_contain_text("Feedback ready")
    expect(row).to_contain_text("Daily life")
    expect(page.get_by_role("heading", name="Your progress")).to_be_visible()
    expect(page.locator(".recharts-wrapper").first).to_be_visible()
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/history/{practice_id}$"))

    # The learner's mistakes are highlighted in place, in the transcript.
    marks = page.locator("#transcript mark.mistake")
    expect(marks.first).to_be_visible()
    assert marks.count() == 6
    expect(marks.first).to_have_text("Yesterday I go to the market and buy two apple")
    expect(marks.first).to_have_attribute("title", re.compile("went to the market and bought two apples"))
    expect(page.locator(".correction").first).to_contain_text(
        "Yesterday I went to the market and bought two apples."
    )
    expect(page.get_by_role("heading", name="Patterns to work on")).to_be_visible()
    expect(page.get_by_text("Past simple: present tense used for past events").first).to_be_visible()

    # "Hear it": real audio from the Speech API (the simulator), played in the page.
    button = page.locator(".correction").first.get_by_role("button", name=re.compile("Hear it"))
    clip_id = button.get_attribute("data-hear")
    assert clip_id
    page.evaluate(
        """(id) => {
            window.plays = 0;
            document.getElementById(id).addEventListener("playing", () => { window.plays += 1; });
        }""",
        clip_id,
    )
    assert speech_requests == []  # nothing is fetched before the first click
    button.click()
    page.wait_for_function("() => window.plays === 1", timeout=20_000)
    page.wait_for_function(
        "(id) => { const a = document.getElementById(id); return a.ended || a.currentTime > 0.3; }",
        arg=clip_id,
        timeout=20_000,
    )
    duration = page.evaluate("(id) => document.getElementById(id).duration", clip_id)
    assert duration > 1.0  # a spoken sentence, not a click
    assert len(speech_requests) == 1
    [response] = speech_responses
    assert response.status == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"

    button.click()  # the second play comes from the cache: no new request
    page.wait_for_function("() => window.plays === 2", timeout=20_000)
    page.wait_for_timeout(300)
    assert len(speech_requests) == 1

    with session_on(app_server.database_url) as session:
        correction = session.exec(
            select(Correction).where(Correction.id == uuid.UUID(clip_id.removeprefix("clip-")))
        ).one()
        clips = session.exec(select(SpeechClip).where(SpeechClip.text == correction.corrected)).all()
    assert len(clips) == 1  # the Speech API was called once for this sentence


def test_not_enough_speech_and_retry_after_a_failure(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server)
    short = finished_session(app_server, who, learner_lines=("Hello.", "Yes."))
    wait_for_status(app_server, short, "skipped")
    failed = finished_session(app_server, who)
    wait_for_status(app_server, failed, "done")
    with session_on(app_server.database_url) as session:  # as if every attempt had failed
        job = session.exec(select(Feedback).where(Feedback.session_id == uuid.UUID(failed))).one()
        job.status, job.last_error = "failed", "The analysis service failed (503)."
        session.add(job)
        session.commit()

    signed_in_page(page, app_server, who).goto(app_server.url(f"/history/{short}"))
    expect(page.locator("#feedback-status")).to_contain_text("Not enough speech to analyse")
    expect(page.locator("#transcript")).to_contain_text("Hello.")

    page.goto(app_server.url(f"/history/{failed}"))
    status = page.locator("#feedback-status")
    expect(status).to_contain_text("Feedback not ready — retry")
    expect(status).to_contain_text("Your transcript is saved")
    expect(page.locator("#transcript")).to_contain_text("Yesterday I go to the market")
    status.get_by_role("button", name="Retry").click()
    expect(page.locator("#transcript mark.mistake").first).to_be_visible(timeout=30_000)
    assert feedback_status(app_server, failed) == "done"


def test_another_learners_session_is_not_found(app_server: RunningApp, page: Page) -> None:
    owner, intruder = signed_in_user(app_server), signed_in_user(app_server)
    practice_id = finished_session(app_server, owner)
    signed_in_page(page, app_server, intruder).goto(app_server.url(f"/history/{practice_id}"))
    expect(page.get_by_role("heading", name="Session not found")).to_be_visible()
    expect(page.get_by_text("Yesterday I go")).to_have_count(0)


def test_a_new_learner_sees_an_empty_history_with_a_way_to_start(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server)
    signed_in_page(page, app_server, who).goto(app_server.url("/history"))
    expect(page.get_by_role("heading", name="No sessions yet")).to_be_visible()
    expect(page.get_by_role("link", name="Go to the classroom")).to_have_attribute("href", "/classroom")


def test_history_pages_through_many_sessions(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server)
    with session_on(app_server.database_url) as session:
        from datetime import timedelta

        from fluentio.models.base import utcnow

        now = utcnow()
        for i in range(25):
            practice = add_practice_session(
                session, user_id=who.user_id, created_at=now - timedelta(days=i), topic=f"Topic {i}"
            )
            add_feedback(session, practice)
        session.commit()
    signed_in_page(page, app_server, who).goto(app_server.url("/history"))
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text("Topic 0")
    page.get_by_role("link", name="Older →").click()
    expect(page).to_have_url(re.compile(r"/history\?page=2$"))
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text("Topic 24")
