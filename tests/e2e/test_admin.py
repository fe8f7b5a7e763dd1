"""The admin page end to end: a grant with a reason reaches the learner's ledger with the
admin's name; the same admin events sent straight over the socket by a learner are refused;
failed background jobs show with their reason and only an admin's Retry runs them again."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from fluentio.billing import ledger
from fluentio.models import JobError, Role, User
from fluentio.models.billing import Actor, LedgerEntry, LedgerReason
from fluentio.pages.admin import NOT_ALLOWED, AdminState
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.reflex_events import send_events
from tests.support.sessions import SignedIn, add_session_cookie, signed_in_user

pytestmark = pytest.mark.e2e


def state_of(app: RunningApp, user_id: object) -> tuple[int, int, str]:
    with session_on(app.database_url) as session:
        user = session.get(User, user_id)
        assert user is not None
        entries = ledger.history(session=session, user_id=user.id, limit=1000)
        return ledger.balance(session=session, user_id=user.id), len(entries), user.role


def test_an_admin_grant_shows_in_the_learners_ledger_with_the_admins_name(
    app_server: RunningApp, page: Page, browser: Browser
) -> None:
    admin = signed_in_user(app_server, credits=0, role=Role.ADMIN, display_name="Ada Admin")
    learner = signed_in_user(app_server, credits=5, display_name="Lena Learner")
    add_session_cookie(page.context, app_server, admin)

    page.goto(app_server.url("/admin"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#admin-figures")).to_contain_text("Active learners this week")
    expect(page.locator("#admin-figures")).to_contain_text("Estimated OpenAI cost")
    expect(page.locator(".recharts-wrapper")).to_have_count(3)

    page.get_by_label("Search users by email or name").fill(learner.email)
    page.get_by_role("button", name="Search").click()
    users = page.get_by_role("table", name="Users")
    expect(users.get_by_role("row")).to_have_count(2)
    users.get_by_role("button", name="Open").click()
    expect(page.locator("#admin-user-name")).to_have_text("Lena Learner")
    expect(page.locator("#admin-user-balance")).to_have_text("5 credits")

    page.get_by_label("Credits").fill("12.5")
    page.get_by_label("Reason (the learner sees it)").fill("Sorry about the dropped call")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("Added 12.5 credits to Lena Learner.")
    expect(page.locator("#admin-user-balance")).to_have_text("17.5 credits")
    ledger_table = page.get_by_role("table", name="Ledger")
    expect(ledger_table).to_contain_text("Sorry about the dropped call")
    expect(ledger_table).to_contain_text("Ada Admin")

    # A reason is required: an empty one is refused on the server with a clear message.
    page.get_by_label("Credits").fill("1")
    # (Three spaces and a letter pass the browser's minlength; the server trims them.)
    page.get_by_label("Reason (the learner sees it)").fill("   x")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("Write a reason")
    expect(page.locator("#admin-user-balance")).to_have_text("17.5 credits")

    learner_context = browser.new_context()
    try:
        learner_page = learner_context.new_page()
        add_session_cookie(learner_context, app_server, learner)
        learner_page.goto(app_server.url("/account"))
        expect(learner_page.locator("#credit-balance")).to_have_text("17.5 credits")
        expect(learner_page.get_by_role("list", name="Credit history")).to_contain_text(
            "Added by an admin: +12.5 credits (Sorry about the dropped call) · by Ada Admin"
        )
    finally:
        learner_context.close()

    with session_on(app_server.database_url) as session:
        entry = session.exec(
            select(LedgerEntry).where(
                col(LedgerEntry.user_id) == learner.user_id,
                col(LedgerEntry.reason) == LedgerReason.ADMIN_GRANT,
                col(LedgerEntry.actor) == Actor.ADMIN,
            )
        ).one()
        assert entry.actor_user_id == admin.user_id and entry.millicredits == 12_500
        assert entry.note == "Sorry about the dropped call"


def attack(app: RunningApp, target: SignedIn, *, as_: SignedIn | None) -> dict[str, object]:
    """Open the target, grant them credits, make them admin, release a payment: as `as_`."""
    reply = send_events(
        app,
        [
            (AdminState.load, {}),
            (AdminState.search, {"form": {"query": target.email}}),
            (AdminState.open_user, {"user_id": str(target.user_id)}),
            (AdminState.adjust, {"form": {"amount": "1000", "reason": "free money", "direction": "grant"}}),
            (AdminState.set_role, {"role": "admin"}),
        ],
        cookies=as_.cookies if as_ else None,
        path="/admin",
    )
    values = reply.values(AdminState)
    return {"values": values, "text": reply.text}


def test_a_learner_sending_admin_events_directly_is_refused(app_server: RunningApp) -> None:
    mallory = signed_in_user(app_server, credits=1, display_name="Mallory Learner")
    target = signed_in_user(app_server, credits=3, display_name="Tina Target")
    before_target, before_mallory = (
        state_of(app_server, target.user_id),
        state_of(app_server, mallory.user_id),
    )

    for sender in (mallory, None):
        result = attack(app_server, target, as_=sender)
        values = result["values"]
        assert isinstance(values, dict)
        assert values.get("error") == NOT_ALLOWED
        assert not values.get("profile") and not values.get("results") and not values.get("figures")
        assert target.email not in str(result["text"])
        assert state_of(app_server, target.user_id) == before_target
    # Opening one's own account and promoting oneself is refused the same way.
    result = attack(app_server, mallory, as_=mallory)
    assert state_of(app_server, mallory.user_id) == before_mallory

    # The same events from an admin do take effect, so the refusals above are real.
    admin = signed_in_user(app_server, credits=0, role=Role.ADMIN, display_name="Ada Admin")
    result = attack(app_server, target, as_=admin)
    values = result["values"]
    assert isinstance(values, dict) and values.get("notice") == "Tina Target is now an admin."
    balance, entries, role = state_of(app_server, target.user_id)
    assert balance == before_target[0] + 1_000_000 and entries == before_target[1] + 1 and role == "admin"


def test_the_admin_page_tells_a_learner_it_is_not_allowed(app_server: RunningApp, page: Page) -> None:
    learner = signed_in_user(app_server, credits=0)
    add_session_cookie(page.context, app_server, learner)
    page.goto(app_server.url("/admin"))
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/admin$"))


def failed_engine_job(app: RunningApp) -> int:
    """A job the app's engine holds as failed for good, with its reason (an analysis whose
    row is gone, so running it again is harmless)."""
    with session_on(app.database_url) as session:
        job_id = session.execute(
            sa.text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts) "
                "VALUES ('default', 'feedback.analyse', CAST(:args AS jsonb), 'failed', 4) RETURNING id"
            ),
            {"args": f'{{"feedback_id": "{uuid.uuid4()}"}}'},
        ).scalar_one()
        session.add(
            JobError(
                job_id=job_id,
                task_name="feedback.analyse",
                error="The analysis service failed (503).",
                attempts=4,
            )
        )
        session.commit()
        return int(job_id)


def engine_status(app: RunningApp, job_id: int) -> str | None:
    with session_on(app.database_url) as session:
        return session.execute(
            sa.text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        ).scalar_one_or_none()


def test_failed_background_jobs_show_to_admins_and_only_they_can_retry(
    app_server: RunningApp, page: Page
) -> None:
    job_id = failed_engine_job(app_server)
    events = [(AdminState.load_jobs, {}), (AdminState.retry_job, {"job_id": str(job_id)})]

    mallory = signed_in_user(app_server, credits=1, display_name="Mallory Learner")
    for sender in (mallory, None):
        reply = send_events(app_server, events, cookies=sender.cookies if sender else None, path="/admin")
        values = reply.values(AdminState)
        assert values.get("error") == NOT_ALLOWED and not values.get("failed_jobs")
        assert "503" not in reply.text
        assert engine_status(app_server, job_id) == "failed"

    admin = signed_in_user(app_server, credits=0, role=Role.ADMIN, display_name="Ada Admin")
    add_session_cookie(page.context, app_server, admin)
    page.goto(app_server.url("/admin"))
    jobs_panel = page.get_by_role("table", name="Failed background jobs")
    row = (
        jobs_panel.get_by_role("row")
        .filter(has_text=str(job_id))
        .or_(jobs_panel.get_by_role("row").filter(has_text="The analysis service failed (503)."))
    )
    expect(row.first).to_contain_text("Feedback analysis")
    expect(row.first).to_contain_text("4")
    row.first.get_by_role("button", name="Run this job again").click()
    expect(page.get_by_text(f"Job {job_id} is queued again")).to_be_visible()
    # The app's own worker runs it (nothing to do for a missing analysis) and clears it.
    deadline = time.monotonic() + 30
    while engine_status(app_server, job_id) == "failed":
        assert time.monotonic() < deadline, "the retried job stayed failed"
        time.sleep(0.2)
