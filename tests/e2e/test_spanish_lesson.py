"""A whole lesson in Spanish on the simulator, in Chromium against the production build:
the learner picks Spanish (explanations in English) on /account, the classroom's session
config asks the provider for Spanish (instructions and transcription language), the tutor
greets in Spanish, the app's own worker writes feedback that corrects the Spanish and
explains in English, and History, the lesson page and the Words page say Spanish."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect

from fluentio.settings import SIMULATOR_OPENAI_KEY
from fluentio.simulator.script import LEARNER_LINES_BY_LANGUAGE, tutor_reply
from tests.support.app_server import RunningApp
from tests.support.classroom import ROOT, classroom_page, launch_mic_browser, stored_session
from tests.support.sessions import signed_in_user

pytestmark = pytest.mark.e2e

SPANISH = LEARNER_LINES_BY_LANGUAGE["es"]
# The fake microphone: a learner speaking Spanish (scripts/make-sim-voices.sh), laid out
# like classroom_learner.wav. The simulator's transcripts are scripted, not heard.
SPANISH_LEARNER_WAV = ROOT / "tests" / "assets" / "audio" / "classroom_learner_es.wav"


def test_a_whole_lesson_in_spanish_shows_in_history_explained_in_english(
    app_server: RunningApp, browser: Browser
) -> None:
    who = signed_in_user(app_server, credits=30, english_level="A2")
    mic = launch_mic_browser(browser.browser_type, SPANISH_LEARNER_WAV)
    try:
        page = classroom_page(mic, app_server, who)
        expect(page.locator("#lesson-languages")).to_contain_text("You practise English")

        # The learner chooses the language to practise and the one for explanations.
        page.goto(app_server.url("/account"))
        expect(page.locator("#field-level")).to_have_value("A2")  # English's level
        page.get_by_label("Language to practise").select_option("es")
        # Spanish has its own level: never set, so the default shows; the learner sets A2.
        expect(page.locator("#field-level")).to_have_value("B1")
        page.locator("#field-level").select_option("A2")
        page.get_by_label("Explanations in").select_option("en")
        page.get_by_role("button", name="Save profile").click()
        expect(page.get_by_text("Your tutor will speak Spanish at this level")).to_be_visible()

        page.goto(app_server.url("/classroom"))
        expect(page.locator("#lesson-languages")).to_contain_text("You practise Spanish")
        expect(page.locator("#lesson-languages")).to_contain_text("feedback explains in English")
        expect(page.locator("#lesson-level")).to_have_value("A2")
        # The lesson (barge-in itself is tested in English by test_classroom.py): the tutor
        # greets in Spanish, the learner's two sentences are captioned in Spanish.
        page.get_by_role("button", name="Start session").click()
        expect(page.get_by_test_id("call-status")).to_have_text("Live", timeout=15_000)
        captions = page.get_by_test_id("captions")
        expect(captions.locator("[data-speaker=tutor]").first).to_contain_text("¡Hola!", timeout=15_000)
        learner = captions.locator("[data-speaker=learner]")
        # "mercado" is the word the recogniser was unsure of: flagged inside the caption.
        expect(learner.first).to_contain_text("Ayer yo va al", timeout=20_000)
        expect(learner.first.locator("mark")).to_contain_text("mercado")
        expect(learner.first).to_contain_text("y compro dos manzana.")
        expect(learner.nth(1)).to_contain_text(SPANISH[1], timeout=30_000)
        page.get_by_role("button", name="End session").click()
        expect(page.get_by_test_id("call-summary")).to_contain_text("Lesson saved", timeout=15_000)

        practice, items, usage = stored_session(app_server, who.user_id)
        assert (practice.language, practice.explanation_language, practice.level) == ("es", "en", "A2")
        assert [i.text for i in items if i.speaker == "learner"][:1] == [SPANISH[0]]
        assert any(i.text.startswith(tutor_reply(0, "es").text[:20]) for i in items if i.speaker == "tutor")
        assert usage, "the Spanish lesson is charged like any other"
        # The session config the provider received: Spanish instructions, Spanish transcription.
        record = httpx.get(
            app_server.url(f"/sim/openai/v1/_debug/calls/{practice.provider_call_id}/events"),
            headers={"Authorization": f"Bearer {SIMULATOR_OPENAI_KEY}"},
            timeout=10,
        ).json()
        assert record["session"]["audio"]["input"]["transcription"]["language"] == "es"
        assert "Speak only Spanish." in record["session"]["instructions"]
        assert "level is A2 (Elementary, CEFR) in Spanish" in record["session"]["instructions"]

        # The lesson page: Spanish, explained in English, the Spanish corrected.
        page.get_by_role("link", name="Open this lesson in History").click()
        expect(page).to_have_url(re.compile(rf"/history/{practice.id}$"))
        expect(page.locator("#lesson-language")).to_have_text("In Spanish · explanations in English")
        correction = page.locator(".correction").first
        expect(correction).to_contain_text("Ayer fui al mercado y compré dos manzanas.", timeout=60_000)
        expect(correction).to_contain_text(
            "'Ayer' (yesterday) is a finished time, so the verbs take the preterite"
        )
        mistake = page.locator("#transcript mark.mistake").first
        expect(mistake).to_contain_text("Ayer yo va al")
        expect(mistake).to_contain_text("y compro dos manzana")
        # Inside the marked mistake, the word the recogniser was unsure of is marked too.
        expect(mistake.locator("mark.unclear")).to_contain_text("mercado")
        # The word the recogniser was unsure of is the Spanish one, from the Spanish deck.
        unclear = page.locator("#unclear-words .unclear-word").first
        expect(unclear.locator("mark.unclear")).to_have_text("mercado")
        expect(unclear.get_by_role("button", name=re.compile("Hear it"))).to_be_visible()

        # History lists it as Spanish; the Words page shows the Spanish deck.
        page.goto(app_server.url("/history"))
        row = page.locator(f'tr[data-session="{practice.id}"]')
        expect(row.locator(".session-language")).to_have_text("Spanish")
        expect(row).to_contain_text("Feedback ready")
        page.goto(app_server.url("/words"))
        expect(page.locator("#deck-language")).to_contain_text("Your Spanish deck")
        expect(page.locator("#due .deck-item").filter(has_text="mercado")).to_be_visible()
        page.context.close()
    finally:
        mic.close()
