"""The rough edges a new learner hit (issue 12), each checked in Chromium against the
production build: Buy buttons after Cancel, Pay, Back and reload; the level chart's
axis; same-day chart labels; tables on a phone; admin wording; simulated speech speed."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from fluentio.billing import ledger
from fluentio.levels import LEVELS
from fluentio.models import Role
from fluentio.models.base import utcnow
from fluentio.models.billing import Actor, LedgerReason
from fluentio.models.tutor import PracticeSession
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.feedback_data import add_feedback, add_practice_session
from tests.support.sessions import SignedIn, add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


def analysed_sessions(app: RunningApp, who: SignedIn, moments_and_levels: list[tuple[Any, str]]) -> list[str]:
    with session_on(app.database_url) as session:
        ids = []
        for moment, level in moments_and_levels:
            practice = add_practice_session(
                session, user_id=who.user_id, created_at=moment, topic="small_talk"
            )
            add_feedback(session, practice, level=level)
            ids.append(str(practice.id))
        session.commit()
        return ids


def chart_ticks(page: Page, title: str) -> Any:
    """The axis labels (both axes) of the chart in the card titled `title`."""
    card = page.locator(".rt-Card").filter(has=page.get_by_role("heading", name=title, exact=True))
    return card.locator(".recharts-wrapper .recharts-cartesian-axis-tick-value")


def expect_fresh_buy_button(page: Page, pack: str) -> None:
    buy = page.locator(f'button[data-pack="{pack}"]')
    expect(buy).to_be_enabled()
    expect(buy).to_have_text(re.compile(r"^Buy "))
    assert buy.get_attribute("data-loading") is None and buy.get_attribute("aria-busy") != "true"


def test_a_buy_button_works_again_after_cancel_pay_back_and_reload(
    app_server: RunningApp, page: Page
) -> None:
    who = signed_in_user(app_server, credits=0)
    add_session_cookie(page.context, app_server, who)
    checkout = re.compile(r"/sim/dodo/checkout/cks_local_\w+$")

    page.goto(app_server.url("/pricing"))
    page.locator('button[data-pack="starter"]').click()
    expect(page).to_have_url(checkout)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Checkout cancelled")).to_be_visible()

    page.go_back()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/pricing$"))
    expect_fresh_buy_button(page, "starter")
    page.reload()
    expect_fresh_buy_button(page, "starter")

    page.locator('button[data-pack="starter"]').click()
    expect(page).to_have_url(checkout)
    page.get_by_role("button", name="Pay $5.00").click()
    expect(page.get_by_role("heading", name="Payment received — thank you!")).to_be_visible(timeout=30_000)

    page.goto(app_server.url("/pricing"))
    expect_fresh_buy_button(page, "starter")
    page.locator('button[data-pack="starter"]').click()
    expect(page).to_have_url(checkout)


def test_a_checkout_that_cannot_start_says_why_and_charges_nothing(
    app_server: RunningApp, page: Page
) -> None:
    who = signed_in_user(app_server, credits=0)
    add_session_cookie(page.context, app_server, who)
    response = page.request.post(app_server.url("/api/checkout"), form={"pack": "no-such-pack"})
    assert response.ok and re.search(r"/checkout/return\?problem=not_on_sale$", response.url)
    page.goto(response.url)
    expect(page.get_by_role("heading", name="The checkout didn't start")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("That credit pack is no longer on sale.")


def test_the_level_chart_names_every_level_clear_of_the_dates(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server)
    now = utcnow()
    analysed_sessions(
        app_server, who, [(now - timedelta(days=6 - i), level) for i, level in enumerate(LEVELS)]
    )
    add_session_cookie(page.context, app_server, who)
    page.set_viewport_size(PHONE)
    page.goto(app_server.url("/history"))

    ticks = chart_ticks(page, "Estimated level in English over time")
    expect(ticks.filter(has_text=re.compile(r"^[ABC][12]$"))).to_have_count(6)
    levels = [t for t in ticks.all() if t.text_content() in LEVELS]
    assert [t.text_content() for t in levels] == list(LEVELS)
    dates = [t for t in ticks.all() if t.text_content() not in LEVELS]
    assert dates, "the chart shows dates"
    a1 = levels[0].bounding_box()
    assert a1 is not None
    for date in dates:
        box = date.bounding_box()
        assert box is not None
        overlaps = not (
            a1["x"] + a1["width"] <= box["x"]
            or box["x"] + box["width"] <= a1["x"]
            or a1["y"] + a1["height"] <= box["y"]
            or box["y"] + box["height"] <= a1["y"]
        )
        assert not overlaps, f"'A1' overlaps the date {date.text_content()!r}"


def test_two_sessions_on_one_day_read_differently(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server)
    day = utcnow().replace(hour=9, minute=15, second=0, microsecond=0) - timedelta(days=1)
    analysed_sessions(app_server, who, [(day, "B1"), (day + timedelta(hours=9, minutes=25), "B2")])
    add_session_cookie(page.context, app_server, who)
    page.goto(app_server.url("/history"))

    ticks = chart_ticks(page, "Mistakes per 100 words")
    expect(ticks.filter(has_text=re.compile(r"[A-Z][a-z]{2}"))).to_have_count(2)
    dates = [t for t in ticks.all_text_contents() if re.search(r"[A-Z][a-z]{2}", t)]
    assert dates == [f"{day:%d %b} 09:15", f"{day:%d %b} 18:40"], dates


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"


def on_screen(page: Page, text_locator: Any) -> None:
    box = text_locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_history_on_a_phone_shows_every_column_without_sideways_scroll(
    app_server: RunningApp, page: Page
) -> None:
    who = signed_in_user(app_server)
    analysed_sessions(app_server, who, [(utcnow() - timedelta(hours=2), "B1")])
    add_session_cookie(page.context, app_server, who)
    page.set_viewport_size(PHONE)
    page.goto(app_server.url("/history"))

    row = page.locator("#sessions tbody tr").first
    feedback = row.locator('[data-label="Feedback"]')
    expect(feedback).to_contain_text("Feedback ready")
    on_screen(page, feedback)
    on_screen(page, row.locator('[data-label="Credits used"]'))
    no_sideways_scroll(page)


def test_admin_on_a_phone_shows_balances_and_plain_names(app_server: RunningApp, browser: Browser) -> None:
    admin = signed_in_user(app_server, credits=0, role=Role.ADMIN, display_name="Ada Admin")
    learner = signed_in_user(app_server, credits=5, display_name="Pia Phone")
    with session_on(app_server.database_url) as session:
        add_practice_session(session, user_id=learner.user_id, topic="small_talk")
        ledger.grant(
            session=session,
            user_id=learner.user_id,
            millicredits=60_000,
            reason=LedgerReason.PURCHASE,
            actor=Actor.PAYMENT_PROVIDER,
            idempotency_key=f"test-purchase:{uuid.uuid4()}",
            note="Starter pack",
        )
        session.commit()
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        add_session_cookie(context, app_server, admin)
        page.goto(app_server.url("/admin"))
        page.get_by_label("Search users by email or name").fill(learner.email)
        page.get_by_role("button", name="Search").click()
        row = page.locator("tbody tr").filter(has_text=learner.email)
        balance = row.locator('[data-label="Balance"]')
        expect(balance).to_have_text(re.compile("65 credits"))
        on_screen(page, balance)
        no_sideways_scroll(page)

        row.get_by_role("button", name="Open").click()
        user = page.locator("#admin-user")
        expect(user).to_contain_text("Small talk")
        expect(user).to_contain_text("Payment provider")
        for raw in ("small_talk", "payment_provider"):
            assert raw not in user.inner_text(), f"admin shows the raw id {raw!r}"
        no_sideways_scroll(page)
    finally:
        context.close()


def test_simulated_speech_has_no_words_per_minute(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server)
    practice_id = analysed_sessions(app_server, who, [(utcnow() - timedelta(hours=1), "B1")])[0]
    with session_on(app_server.database_url) as session:
        practice = session.get(PracticeSession, uuid.UUID(practice_id))
        assert practice is not None
        practice.simulated = True
        session.add(practice)
        session.commit()
    add_session_cookie(page.context, app_server, who)
    page.goto(app_server.url(f"/history/{practice_id}"))
    expect(page.locator("#speed-note")).to_contain_text("Speaking speed isn't measured in simulated lessons")
    speed = page.get_by_text("Words per minute").locator("xpath=following-sibling::*[1]")
    expect(speed).to_have_text("—")


def test_the_landing_page_speaks_to_learners_not_engineers(app_server: RunningApp, page: Page) -> None:
    page.goto(app_server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "WebRTC" not in page.locator("body").inner_text()
