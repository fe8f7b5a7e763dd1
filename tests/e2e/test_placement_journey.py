"""The placement call in Chromium against the production build and the built-in
simulator: the classroom offers it before the first lesson, the call flags the
recogniser's unclear word in the live captions, its lesson page shows the level found
with its evidence and the word marked in #transcript, and "Use B1" changes the profile's
level. "Skip, I know my level" is remembered. Over the websocket, nobody can answer
someone else's placement."""

from __future__ import annotations

import re
import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from fluentio.auth.levels import level_for, placement_skipped
from fluentio.models import Placement
from fluentio.models.base import utcnow
from fluentio.models.tutor import TranscriptItem
from fluentio.placement import service
from fluentio.placement.analysis import EvidenceAnswer, PlacementAnswer
from fluentio.placement.state import PlacementResultState
from fluentio.simulator.script import LEARNER_LINES, transcript_logprobs
from fluentio.vocabulary.unclear import record_unclear_words
from tests.e2e.test_history import wait_for_status
from tests.support.a11y import AXE_OPTIONS, describe
from tests.support.app_server import RunningApp
from tests.support.classroom import classroom_page, launch_mic_browser, stored_session
from tests.support.databases import session_on
from tests.support.feedback_data import add_feedback, add_practice_session
from tests.support.reflex_events import send_event
from tests.support.sessions import add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e

UNCLEAR_31 = "Unclear — the recogniser was 31% sure"


def level_of(app: RunningApp, user_id: object, language: str = "en") -> str:
    with session_on(app.database_url) as session:
        return level_for(session, uuid.UUID(str(user_id)), language)


def test_a_placement_call_finds_a_level_the_learner_accepts(app_server: RunningApp, browser: Browser) -> None:
    who = signed_in_user(app_server, credits=30, english_level="A2")
    mic = launch_mic_browser(browser.browser_type)
    try:
        page = classroom_page(mic, app_server, who)
        offer = page.locator("#placement-offer")
        expect(offer).to_be_visible()
        expect(offer.locator("#placement-cost")).to_contain_text("charged like any lesson")
        expect(offer.locator("#placement-cost")).to_contain_text("at most 5 credits")

        offer.get_by_role("button", name="Find your level in five minutes").click()
        expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
        captions = page.get_by_test_id("captions")
        learner = captions.locator("[data-speaker=learner]")
        # The live caption flags the word the recogniser was unsure of.
        flagged = learner.first.locator("mark.unclear")
        expect(flagged).to_contain_text("market", timeout=25_000)
        expect(flagged).to_have_attribute("title", UNCLEAR_31)
        expect(learner.first).to_contain_text(f"({UNCLEAR_31})")  # read out after the word
        # Enough of the learner's speech for an analysis: two turns.
        expect(learner).to_have_count(2, timeout=30_000)
        page.get_by_role("button", name="End session").click()
        expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)
        expect(offer).to_be_hidden()

        practice, _items, charges = stored_session(app_server, who.user_id)
        assert practice.topic == "placement" and charges, "a placement call is charged like any lesson"
        wait_for_status(app_server, str(practice.id), "done")
        with session_on(app_server.database_url) as session:
            found = session.exec(select(Placement).where(Placement.session_id == practice.id)).one()
        assert found.decision is None and level_of(app_server, who.user_id) == "A2"

        page.get_by_role("link", name="Open this lesson in History").click()
        expect(page).to_have_url(re.compile(rf"/history/{practice.id}$"))
        card = page.locator("#placement")
        expect(card).to_be_visible(timeout=20_000)
        expect(card.locator("#placement-level")).to_contain_text(found.level)
        evidence = card.locator(".placement-evidence")
        expect(evidence).to_have_count(len(found.evidence))
        expect(evidence.first).to_contain_text(found.evidence[0]["quote"])
        expect(evidence.first).to_contain_text(found.evidence[0]["why"])
        # The transcript marks the unclear word inside the learner's own line.
        mark = page.locator("#transcript .line.learner mark.unclear").first
        expect(mark).to_contain_text("market")
        expect(mark).to_have_attribute("title", re.compile(UNCLEAR_31))

        assert found.level != "A2", "the simulator's placement should differ from the learner's own level"
        expect(card.get_by_role("button", name="Keep my level (A2)")).to_be_visible()
        card.get_by_role("button", name=f"Use {found.level}").click()
        expect(card).to_contain_text(f"your level is now {found.level}")
        expect(card.locator("#placement-decision")).to_contain_text(f"You chose to use {found.level}")
        assert level_of(app_server, who.user_id) == found.level

        # The profile shows it, and the classroom no longer offers a placement.
        page.goto(app_server.url("/account"))
        expect(page.locator("#field-level")).to_have_value(found.level)
        page.goto(app_server.url("/classroom"))
        expect(page.get_by_role("heading", name="Classroom")).to_be_visible()
        expect(page.locator("#lesson-level")).to_have_value(found.level)
        expect(page.locator("#placement-offer")).to_have_count(0)

        # Practising Spanish for the first time: its own level (the default) and a Spanish
        # placement offered; the English level found stays.
        page.goto(app_server.url("/account"))
        page.get_by_label("Language to practise").select_option("es")
        expect(page.locator("#field-level")).to_have_value("B1")
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_text("Your tutor will speak Spanish at this level")).to_be_visible()
        # A new tab (this one remembers its last lesson, which hides the offer).
        fresh = page.context.new_page()
        fresh.goto(app_server.url("/classroom"))
        expect(fresh.locator("#lesson-level")).to_have_value("B1")
        expect(fresh.locator("#placement-offer")).to_be_visible()
        assert (level_of(app_server, who.user_id), level_of(app_server, who.user_id, "es")) == (
            found.level,
            "B1",
        )
        page.context.close()
    finally:
        mic.close()


def test_skip_i_know_my_level_is_remembered(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server, credits=5)
    add_session_cookie(page.context, app_server, who)
    page.goto(app_server.url("/classroom"))
    offer = page.locator("#placement-offer")
    expect(offer).to_be_visible()
    offer.get_by_role("button", name="Skip, I know my level").click()
    expect(offer).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", name="Classroom")).to_be_visible()
    expect(page.get_by_role("button", name="Start session")).to_be_visible()
    expect(page.locator("#placement-offer")).to_have_count(0)
    with session_on(app_server.database_url) as session:
        # Skipped for English, the language practised: Spanish would still be offered.
        assert placement_skipped(session, uuid.UUID(str(who.user_id)), "en")
        assert not placement_skipped(session, uuid.UUID(str(who.user_id)), "es")


def test_only_the_owner_can_answer_a_placement(app_server: RunningApp) -> None:
    owner = signed_in_user(app_server, english_level="A2")
    other = signed_in_user(app_server, english_level="C1")
    with session_on(app_server.database_url) as session:
        practice = add_practice_session(session, user_id=owner.user_id, topic="placement")
        answer = PlacementAnswer(
            level="B2",  # type: ignore[arg-type]
            evidence=[EvidenceAnswer(quote=LEARNER_LINES[0], why="A story in the present tense.")],
            summary="About B2.",
        )
        service.record_result(session=session, practice_session_id=practice.id, answer=answer, now=utcnow())
        session.commit()
        path = f"/history/{practice.id}"

    # Another learner, and a visitor without a session: nothing shown, nothing changed.
    for cookies in (other.cookies, None):
        for handler in (PlacementResultState.accept, PlacementResultState.keep, PlacementResultState.load):
            reply = send_event(app_server, handler, cookies=cookies, path=path)
            assert reply.values(PlacementResultState).get("found") in (None, False)
            assert "A story in the present tense" not in reply.text
    assert level_of(app_server, owner.user_id) == "A2"
    assert level_of(app_server, other.user_id) == "C1"
    with session_on(app_server.database_url) as session:
        assert (
            session.exec(select(Placement).where(Placement.session_id == practice.id)).one().decision is None
        )

    # The owner's own answer works.
    reply = send_event(app_server, PlacementResultState.accept, cookies=owner.cookies, path=path)
    assert reply.values(PlacementResultState)["decision"] == "accepted"
    assert level_of(app_server, owner.user_id) == "B2"


def test_the_offer_and_a_placement_page_pass_axe(app_server: RunningApp, browser: Browser) -> None:
    """The offer, and a placement's lesson page with an unclear word in its transcript."""
    who = signed_in_user(app_server, credits=5, english_level="A2")
    with session_on(app_server.database_url) as session:
        practice = add_practice_session(session, user_id=who.user_id, topic="placement")
        add_feedback(session, practice)
        line = session.exec(
            select(TranscriptItem).where(
                TranscriptItem.session_id == practice.id, TranscriptItem.text == LEARNER_LINES[0]
            )
        ).one()
        line.provider_item_id = "item_a"
        record_unclear_words(
            session=session,
            practice_session_id=practice.id,
            provider_item_id="item_a",
            logprobs=transcript_logprobs(LEARNER_LINES[0]),
            now=utcnow(),
        )
        answer = PlacementAnswer(
            level="B1",  # type: ignore[arg-type]
            evidence=[EvidenceAnswer(quote=LEARNER_LINES[0], why="A story in the present tense.")],
            summary="About B1.",
        )
        service.record_result(session=session, practice_session_id=practice.id, answer=answer, now=utcnow())
        session.commit()
        lesson_path = f"/history/{practice.id}"
    newcomer = signed_in_user(app_server, credits=5)

    for person, path, ready in (
        (newcomer, "/classroom", "#placement-offer"),
        (who, lesson_path, "#placement"),
    ):
        context = browser.new_context(viewport={"width": 390, "height": 844})
        add_session_cookie(context, app_server, person)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(app_server.url(path))
        expect(page.locator(ready)).to_be_visible(timeout=20_000)
        if path != "/classroom":
            expect(page.locator("#transcript mark.unclear").first).to_contain_text("market")
            expect(page.get_by_role("button", name="Use B1")).to_be_visible()
        results = Axe().run(page, options=AXE_OPTIONS)
        assert results.response["violations"] == [], describe(results.response["violations"])
        assert errors == []
        context.close()
