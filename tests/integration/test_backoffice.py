"""The admin service: role checks, grants and deductions with reasons, roles, held payments,
and the dashboard's cost estimate. Runs on PostgreSQL in a rolled-back transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from fluentio.backoffice import service
from fluentio.billing import ledger
from fluentio.models import Role, User
from fluentio.models.base import utcnow
from fluentio.models.billing import Actor, LedgerEntry, LedgerReason, Payment, PaymentStatus
from fluentio.models.tutor import PracticeSession
from fluentio.settings import get_settings
from tests.support.factories import make_user


@pytest.fixture
def admin(pg: Session) -> User:
    return make_user(pg, role=Role.ADMIN, display_name="Ada Admin")


@pytest.fixture
def learner(pg: Session) -> User:
    return make_user(pg, display_name="Lena Learner")


def test_every_action_refuses_a_learner_or_nobody(pg: Session, learner: User) -> None:
    for actor in (learner, None):
        with pytest.raises(service.AdminError, match="Only administrators"):
            service.search_users(pg, admin=actor, query="")
        with pytest.raises(service.AdminError):
            service.user_detail(pg, admin=actor, user_id=learner.id)
        with pytest.raises(service.AdminError):
            service.adjust_credits(pg, admin=actor, user_id=learner.id, amount="5", reason="free", grant=True)
        with pytest.raises(service.AdminError):
            service.set_role(pg, admin=actor, user_id=learner.id, role="admin")
        with pytest.raises(service.AdminError):
            service.dashboard(pg, admin=actor)
    assert ledger.balance(session=pg, user_id=learner.id) == 0
    assert learner.role == Role.LEARNER


def test_grant_and_deduct_record_the_reason_and_the_admin(pg: Session, admin: User, learner: User) -> None:
    message = service.adjust_credits(
        pg, admin=admin, user_id=learner.id, amount="2.5", reason="  Goodwill   gesture ", grant=True
    )
    assert message == "Added 2.5 credits to Lena Learner."
    message = service.adjust_credits(
        pg, admin=admin, user_id=learner.id, amount="10", reason="Oops", grant=False
    )
    assert message == "Removed 2.5 credits from Lena Learner (all they had left)."
    entries = pg.exec(select(LedgerEntry).where(col(LedgerEntry.user_id) == learner.id)).all()
    assert sorted((e.reason, e.millicredits, e.note) for e in entries) == [
        (LedgerReason.ADMIN_DEDUCT, -2500, "Oops"),
        (LedgerReason.ADMIN_GRANT, 2500, "Goodwill gesture"),
    ]
    assert all(e.actor == Actor.ADMIN and e.actor_user_id == admin.id for e in entries)
    rows = service.user_detail(pg, admin=admin, user_id=learner.id).ledger
    assert rows[0]["by"] == "Ada Admin" and "· by Ada Admin" in rows[0]["what"]


@pytest.mark.parametrize(
    ("amount", "reason", "words"),
    [
        ("5", "", "Write a reason"),
        ("5", "x" * 301, "under 300"),
        ("abc", "Goodwill", "as a number"),
        ("-1", "Goodwill", "above 0"),
        ("0.0001", "Goodwill", "three decimals"),
        ("1000000", "Goodwill", "At most"),
    ],
)
def test_bad_adjustments_say_what_to_fix(
    pg: Session, admin: User, learner: User, amount: str, reason: str, words: str
) -> None:
    with pytest.raises(service.AdminError, match=words):
        service.adjust_credits(pg, admin=admin, user_id=learner.id, amount=amount, reason=reason, grant=True)
    assert ledger.balance(session=pg, user_id=learner.id) == 0


def test_search_finds_by_email_or_name(pg: Session, admin: User, learner: User) -> None:
    by_name = service.search_users(pg, admin=admin, query="lena lear")
    by_email = service.search_users(pg, admin=admin, query=learner.email.upper())
    assert [r["id"] for r in by_name] == [str(learner.id)] == [r["id"] for r in by_email]


def test_roles_change_but_one_admin_always_remains(pg: Session, admin: User, learner: User) -> None:
    for other in pg.exec(select(User).where(col(User.role) == Role.ADMIN, col(User.id) != admin.id)).all():
        other.role = Role.LEARNER.value  # this rolled-back transaction only
        pg.add(other)
    pg.flush()
    with pytest.raises(service.AdminError, match="at least one admin"):
        service.set_role(pg, admin=admin, user_id=admin.id, role="learner")
    assert (
        service.set_role(pg, admin=admin, user_id=learner.id, role="admin") == "Lena Learner is now an admin."
    )
    assert (
        service.set_role(pg, admin=admin, user_id=admin.id, role="learner") == "Ada Admin is now a learner."
    )
    with pytest.raises(service.AdminError, match="Only administrators"):
        service.set_role(pg, admin=admin, user_id=learner.id, role="learner")


def test_a_held_payment_is_released_to_an_account_once(pg: Session, admin: User, learner: User) -> None:
    payment = Payment(
        provider_payment_id="pay_held_release",
        status=PaymentStatus.HELD.value,
        pack_id="starter",
        amount_cents=500,
        note="The account was deleted before the payment arrived.",
    )
    pg.add(payment)
    pg.flush()
    assert str(payment.id) in [r["id"] for r in service.held_payments(pg, admin=admin)]
    message = service.release_held_payment(pg, admin=admin, payment_id=payment.id, email=learner.email)
    assert message == "Credited the Starter pack (60 credits) to Lena Learner."
    assert ledger.balance(session=pg, user_id=learner.id) == 60_000
    with pytest.raises(service.AdminError, match="not on hold"):
        service.release_held_payment(pg, admin=admin, payment_id=payment.id, email=learner.email)
    assert ledger.balance(session=pg, user_id=learner.id) == 60_000


def ended_lesson(
    learner: User, seconds: int, audio_tokens: int, cost_microusd: int, **more: Any
) -> PracticeSession:
    """A finished lesson of `seconds`, with the input audio tokens and the cost stored when it ended."""
    return PracticeSession(
        user_id=learner.id,
        status="ended",
        topic="travel",
        level="B1",
        billable_seconds=seconds,
        input_audio_tokens=audio_tokens,
        cost_estimate_microusd=cost_microusd,
        **more,
    )


def test_the_dashboard_counts_this_weeks_practice_and_sales(pg: Session, admin: User, learner: User) -> None:
    before = {f["label"]: f["value"] for f in service.dashboard(pg, admin=admin).figures}
    pg.add(ended_lesson(learner, 600, 1_000_000, 10_000_000, created_at=utcnow() - timedelta(days=1)))
    pg.add(
        Payment(
            user_id=learner.id,
            provider_payment_id="pay_dashboard_1",
            status=PaymentStatus.SUCCEEDED.value,
            pack_id="starter",
            credits=60,
            amount_cents=500,
        )
    )
    pg.flush()
    board = service.dashboard(pg, admin=admin)
    after = {f["label"]: f["value"] for f in board.figures}
    assert set(after) >= {
        "Users",
        "Active learners this week",
        "Minutes practised",
        "Credits sold",
        "Revenue",
        "Estimated OpenAI cost",
    }
    assert int(after["Active learners this week"].replace(",", "")) >= 1
    assert int(after["Credits sold"].replace(",", "")) == int(before["Credits sold"].replace(",", "")) + 60
    assert len(board.weekly) == service.WEEKS
    recent = board.weekly[-2:]  # "a day ago" is last week on a Monday
    assert sum(w["minutes"] for w in recent) >= 10 and sum(w["cost"] for w in recent) >= 10.0
    cost_before = float(before["Estimated OpenAI cost"].strip("$").replace(",", ""))
    cost_after = float(after["Estimated OpenAI cost"].strip("$").replace(",", ""))
    assert cost_after == pytest.approx(cost_before + 10.0)
    assert board.weekly[-1]["revenue"] >= 5.0


def test_a_price_change_never_reprices_past_lessons(
    pg: Session, admin: User, learner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg.add(ended_lesson(learner, 60, 100_000, 1_000_000))
    pg.flush()
    before = {f["label"]: f["value"] for f in service.dashboard(pg, admin=admin).figures}
    monkeypatch.setenv("FLUENTIO_COST_AUDIO_INPUT_PER_M", "99.00")
    get_settings.cache_clear()
    after = {f["label"]: f["value"] for f in service.dashboard(pg, admin=admin).figures}
    assert after["Estimated OpenAI cost"] == before["Estimated OpenAI cost"]
