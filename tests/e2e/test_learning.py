"""Learning that carries between lessons, in Chromium against the production build and
the built-in simulator: a lesson whose scripted transcript has a word the recogniser was
unsure of ("market") shows it marked as unclear with "Hear it"; the Words page lists the
deck; the goal card shows the week's minutes and the streak and saves a goal in the
browser's own time zone."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from fluentio.models import DeckItem, LearningGoal
from tests.support.app_server import RunningApp
from tests.support.classroom import classroom_page, launch_mic_browser, run_conversation, stored_session
from tests.support.databases import session_on
from tests.support.sessions import add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e


def play_and_wait(page: Page, scope: object) -> None:
    """Press the "Hear it" in `scope` and wait until its audio is really playing."""
    button = scope.get_by_role("button", name=re.compile("Hear it"))  # type: ignore[attr-defined]
    audio_id = button.get_attribute("data-hear")
    assert audio_id
    button.click()
    page.wait_for_function(
        "(id) => { const a = document.getElementById(id); return a && (a.ended || a.currentTime > 0.2); }",
        arg=audio_id,
        timeout=20_000,
    )


def test_a_lesson_marks_the_unclear_word_with_hear_it(app_server: RunningApp, browser: Browser) -> None:
    who = signed_in_user(app_server, credits=30)
    mic = launch_mic_browser(browser.browser_type)
    try:
        page = classroom_page(mic, app_server, who)
        expect(page.locator("#goal-progress")).to_contain_text("0 of 60 min practised")
        expect(page.locator("#goal-streak")).to_contain_text("No streak yet")
        run_conversation(page)
        page.get_by_role("button", name="End session").click()
        expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
        # The finished lesson counts at once: today is a practice day.
        expect(page.locator("#goal-streak")).to_contain_text("1 day streak")
        practice, items, _usage = stored_session(app_server, who.user_id)
        assert any(i.text.startswith("Yesterday I go to the market") for i in items if i.speaker == "learner")

        page.get_by_role("link", name="Open this lesson in History").click()
        expect(page).to_have_url(re.compile(rf"/history/{practice.id}$"))
        card = page.locator("#unclear-words")
        expect(card).to_be_visible(timeout=20_000)
        word = card.locator(".unclear-word").first
        expect(word.locator("mark.unclear")).to_have_text("market")
        expect(word).to_contain_text("Yesterday I go to the market and buy two apple.")
        expect(word).to_contain_text("Unclear — try this word again")
        expect(word).to_contain_text("The recogniser was 31% sure")
        play_and_wait(page, word)

        # The word is in the learner's deck, due now, with "Hear it" on the Words page.
        page.goto(app_server.url("/words"))
        due = page.locator("#due")
        expect(due.locator(".deck-item").filter(has_text="market")).to_be_visible()
        play_and_wait(page, due.locator(".deck-item").filter(has_text="market"))

        # The lesson counts toward the week and starts a streak.
        page.goto(app_server.url("/history"))
        minutes = practice.billable_seconds // 60
        expect(page.locator("#goal-minutes-done")).to_contain_text(f"{minutes} of 60 min practised")
        expect(page.locator("#goal-streak")).to_contain_text("1 day streak")
        page.context.close()
    finally:
        mic.close()


def test_a_goal_is_saved_in_the_browsers_time_zone_on_a_phone(
    app_server: RunningApp, browser: Browser
) -> None:
    who = signed_in_user(app_server, credits=5)
    context = browser.new_context(viewport={"width": 390, "height": 844}, timezone_id="Asia/Tokyo")
    add_session_cookie(context, app_server, who)
    page = context.new_page()
    page.goto(app_server.url("/history"))
    card = page.locator("#goal-progress")
    card.get_by_role("button", name="Change goal").click()
    expect(page.locator("#goal-zone")).to_have_value("Asia/Tokyo")
    expect(page.locator("#goal-streak")).to_contain_text("No streak yet")
    # The browser refuses a goal out of range before it is sent (the server checks too).
    page.locator("#goal-minutes").fill("2")
    card.get_by_role("button", name="Save goal").click()
    assert page.locator("#goal-minutes").evaluate("(e) => e.validity.rangeUnderflow")
    page.locator("#goal-minutes").fill("45")
    card.get_by_text("Email me once a week").click()
    card.get_by_role("button", name="Save goal").click()
    expect(card).to_contain_text("Goal saved.")
    expect(page.locator("#goal-minutes-done")).to_contain_text("0 of 45 min practised")
    # Nothing overflows sideways on a phone.
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    with session_on(app_server.database_url) as session:
        goal = session.get(LearningGoal, who.user_id)
        assert goal is not None
        assert (goal.weekly_minutes, goal.time_zone, goal.reminders) == (45, "Asia/Tokyo", True)

    page.goto(app_server.url("/words"))
    expect(page.get_by_role("heading", name="Your words")).to_be_visible()
    expect(page.locator("#due")).to_contain_text("Nothing is due")
    with session_on(app_server.database_url) as session:
        assert (
            session.exec(select(DeckItem).where(DeckItem.user_id == uuid.UUID(str(who.user_id)))).all() == []
        )
    context.close()
