""" "Download my data" in Chromium: the learner presses the button on /account and gets
one zip with their own rows (the route itself is covered row by row, for owners,
other learners and visitors, in tests/integration/test_data_export.py)."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import Page, expect

from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.feedback_data import add_feedback, add_practice_session
from tests.support.sessions import add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e


def test_the_owner_downloads_their_archive_from_the_account_page(app_server: RunningApp, page: Page) -> None:
    who = signed_in_user(app_server, credits=12)
    other = signed_in_user(app_server, credits=3)
    with session_on(app_server.database_url) as session:
        mine = add_practice_session(session, user_id=who.user_id, learner_lines=["I go to market yesterday"])
        add_feedback(session, mine)
        theirs = add_practice_session(session, user_id=other.user_id, learner_lines=["Not yours to read"])
        session.commit()
        mine_id, theirs_id = str(mine.id), str(theirs.id)
    add_session_cookie(page.context, app_server, who)
    page.goto(app_server.url("/account"))

    with page.expect_download() as caught:
        page.get_by_role("link", name="Download my data").click()
    download = caught.value
    assert download.suggested_filename.startswith("fluentio-data-") and download.suggested_filename.endswith(
        ".zip"
    )
    with zipfile.ZipFile(download.path()) as archive:
        names = archive.namelist()
        profile = json.loads(archive.read("profile.json"))
        sessions = json.loads(archive.read("sessions.json"))
        text = "".join(archive.read(name).decode() for name in names)
    assert profile["email"] == who.email and profile["credit_balance"] == 12
    assert [s["id"] for s in sessions] == [mine_id]
    assert any(n.startswith("transcripts/") and n.endswith(".txt") for n in names)
    assert "You: I go to market yesterday" in text
    assert theirs_id not in text and other.email not in text and "Not yours to read" not in text
    expect(page).to_have_url(app_server.url("/account"))


def test_a_visitor_is_sent_to_log_in_and_gets_no_archive(app_server: RunningApp, page: Page) -> None:
    response = page.request.get(app_server.url("/api/account/export"), max_redirects=0)
    assert response.status == 303
    assert response.headers["location"] == "/login?next=/account"
    assert response.body() == b""
