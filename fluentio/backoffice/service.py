"""What the admin page does: find users, read one user's credits, sessions and payments,
move credits by hand (always with a reason and the admin's id), change roles, release held
payments, the dashboard figures with their weekly series, and the failed background jobs
with "Retry".

Every function takes the acting admin and checks the role again here, so a caller that
forgot to check still cannot act for a learner.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, or_, select

from fluentio import languages
from fluentio.auth.levels import level_for
from fluentio.auth.roles import is_admin
from fluentio.billing import ledger
from fluentio.billing.packs import credit_packs, find_pack
from fluentio.clock import week_start
from fluentio.feedback.history import topic_title
from fluentio.jobs import admin as jobs_admin
from fluentio.models import Role, User
from fluentio.models.base import utcnow
from fluentio.models.billing import MILLICREDITS_PER_CREDIT, Actor, LedgerReason, Payment, PaymentStatus
from fluentio.models.tutor import PracticeSession
from fluentio.payments import fulfilment, statements
from fluentio.payments.checkout import pack_for_product
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

MAX_ADJUST_CREDITS = 100_000
WEEKS = 12
SOLD = (PaymentStatus.SUCCEEDED.value, PaymentStatus.REFUNDED.value)


class AdminError(Exception):
    """An admin action was refused; the message says why and what to do."""


def require_admin(user: User | None) -> User:
    if not is_admin(user):
        raise AdminError("Only administrators can do this. Log in with an admin account.")
    assert user is not None
    return user


def _display(user: User) -> str:
    return user.display_name or user.email.split("@")[0]


def search_users(
    session: Session, *, admin: User | None, query: str, limit: int = 50
) -> list[dict[str, str]]:
    """Users whose email or name contains `query` (newest first; everyone when empty)."""
    require_admin(admin)
    statement = select(User).order_by(col(User.created_at).desc()).limit(limit)
    text = query.strip().lower()[:100]
    if text:
        pattern = f"%{text.replace('%', '').replace('_', '')}%"
        statement = statement.where(
            or_(col(User.email).like(pattern), func.lower(col(User.display_name)).like(pattern))
        )
    users = session.exec(statement).all()
    return [
        {
            "id": str(u.id),
            "email": u.email,
            "name": u.display_name,
            "role": u.role,
            "joined": u.created_at.strftime("%d %b %Y"),
            "balance": ledger.format_credits(ledger.balance(session=session, user_id=u.id)),
            "deleted": "yes" if u.deleted_at else "",
        }
        for u in users
    ]


@dataclass
class UserDetail:
    profile: dict[str, str]
    ledger: list[dict[str, str]]
    sessions: list[dict[str, str]]
    payments: list[dict[str, str]]


def user_detail(session: Session, *, admin: User | None, user_id: uuid.UUID) -> UserDetail:
    require_admin(admin)
    user = session.get(User, user_id)
    if user is None:
        raise AdminError("That user no longer exists. Search again.")
    practice = session.exec(
        select(PracticeSession)
        .where(col(PracticeSession.user_id) == user_id)
        .order_by(col(PracticeSession.created_at).desc())
        .limit(50)
    ).all()
    return UserDetail(
        profile={
            "id": str(user.id),
            "name": _display(user),
            "email": user.email,
            "role": user.role,
            # The level in the language practised now (each language has its own).
            "level": f"{level_for(session, user.id, user.target_language)} "
            f"in {languages.name(user.target_language)}",
            "joined": user.created_at.strftime(statements.DATE_FORMAT),
            "verified": "yes" if user.email_verified_at else "no",
            "deleted": user.deleted_at.strftime(statements.DATE_FORMAT) if user.deleted_at else "",
            "balance": ledger.format_credits(ledger.balance(session=session, user_id=user.id)),
        },
        ledger=statements.ledger_rows(session, user.id, limit=200),
        sessions=[
            {
                "when": s.created_at.strftime(statements.DATE_FORMAT),
                "topic": topic_title(s.topic),
                "level": s.level,
                "status": s.status.capitalize(),
                "minutes": f"{s.billable_seconds / 60:.1f}",
                "charged": ledger.format_credits(s.charged_millicredits) if s.charged_millicredits else "—",
            }
            for s in practice
        ],
        payments=statements.payment_rows(session, user.id, limit=100),
    )


def parse_credits(amount: str) -> int:
    """'2.5' → 2500 millicredits; AdminError for anything that isn't a positive amount."""
    try:
        value = Decimal(amount.strip())
    except (InvalidOperation, AttributeError):
        raise AdminError("Enter the number of credits as a number, e.g. 10 or 2.5.") from None
    if not value.is_finite() or value <= 0:
        raise AdminError("Enter a number of credits above 0.")
    if value > MAX_ADJUST_CREDITS:
        raise AdminError(f"At most {MAX_ADJUST_CREDITS:,} credits at a time.")
    millicredits = value * MILLICREDITS_PER_CREDIT
    if millicredits != millicredits.to_integral_value():
        raise AdminError("Use at most three decimals (1 credit = 1000 millicredits).")
    return int(millicredits)


def adjust_credits(
    session: Session, *, admin: User | None, user_id: uuid.UUID, amount: str, reason: str, grant: bool
) -> str:
    """Grant (or deduct) credits by hand. The reason and the admin's id go on the ledger entry."""
    admin = require_admin(admin)
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise AdminError("Write a reason (at least 3 characters); the learner sees it in their history.")
    if len(reason) > 300:
        raise AdminError("Keep the reason under 300 characters.")
    millicredits = parse_credits(amount)
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise AdminError("This account was deleted; its credits can't change.")
    key = f"admin:{uuid.uuid4()}"
    if grant:
        ledger.grant(
            session=session,
            user_id=user.id,
            millicredits=millicredits,
            reason=LedgerReason.ADMIN_GRANT,
            idempotency_key=key,
            actor=Actor.ADMIN,
            actor_user_id=admin.id,
            note=reason,
        )
        logger.info("admin %s granted %s millicredits to %s", admin.id, millicredits, user.id)
        return f"Added {ledger.format_credits(millicredits)} to {_display(user)}."
    entry = ledger.deduct(
        session=session,
        user_id=user.id,
        millicredits=millicredits,
        reason=LedgerReason.ADMIN_DEDUCT,
        idempotency_key=key,
        actor=Actor.ADMIN,
        actor_user_id=admin.id,
        note=reason,
    )
    if entry is None:
        return f"{_display(user)} has no credits left, so nothing was removed."
    logger.info("admin %s deducted %s millicredits from %s", admin.id, -entry.millicredits, user.id)
    removed = ledger.format_credits(-entry.millicredits)
    if -entry.millicredits < millicredits:
        return f"Removed {removed} from {_display(user)} (all they had left)."
    return f"Removed {removed} from {_display(user)}."


def set_role(session: Session, *, admin: User | None, user_id: uuid.UUID, role: str) -> str:
    """Make someone an admin or a learner; at least one admin always remains."""
    admin = require_admin(admin)
    if role not in (Role.ADMIN.value, Role.LEARNER.value):
        raise AdminError("Choose admin or learner.")
    # Lock every admin row, so two admins demoting each other at once can't leave none.
    admins = session.exec(select(User).where(col(User.role) == Role.ADMIN.value).with_for_update()).all()
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise AdminError("This account was deleted; its role can't change.")
    if role == Role.ADMIN and user.email_verified_at is None:
        raise AdminError(f"{_display(user)} has not verified their email yet, so they can't be an admin.")
    if user.role == role:
        return f"{_display(user)} is already {'an admin' if role == Role.ADMIN else 'a learner'}."
    if role == Role.LEARNER and len([a for a in admins if a.deleted_at is None]) <= 1:
        raise AdminError("Fluentio needs at least one admin. Make someone else an admin first.")
    user.role = role
    session.add(user)
    logger.info("admin %s set the role of %s to %s", admin.id, user.id, role)
    if role == Role.ADMIN:
        return f"{_display(user)} is now an admin."
    note = " They are listed in FLUENTIO_ADMIN_EMAILS, so they become admin again at their next log-in."
    listed = user.email in get_settings().admin_email_set
    return f"{_display(user)} is now a learner." + (note if listed else "")


def held_payments(session: Session, *, admin: User | None) -> list[dict[str, str]]:
    require_admin(admin)
    payments = session.exec(
        select(Payment)
        .where(col(Payment.status) == PaymentStatus.HELD.value)
        .order_by(col(Payment.created_at).desc())
        .limit(100)
    ).all()
    return [statements.payment_row(p) for p in payments]


def release_held_payment(session: Session, *, admin: User | None, payment_id: uuid.UUID, email: str) -> str:
    """Credit a held payment's pack to the account with `email` (once, like a webhook would)."""
    admin = require_admin(admin)
    found = session.get(Payment, payment_id)
    if found is None:
        raise AdminError("That payment no longer exists. Reload the page.")
    row = fulfilment.locked_payment(session, found.provider_payment_id)
    if row.status != PaymentStatus.HELD.value:
        raise AdminError("That payment is not on hold any more. Reload the page.")
    user = session.exec(
        select(User).where(col(User.email) == email.strip().lower(), col(User.deleted_at).is_(None))
    ).first()
    if user is None:
        raise AdminError("No live account has that email. Check the address and try again.")
    pack = find_pack(row.pack_id) or pack_for_product(row.product_id)
    if pack is None:
        raise AdminError("This payment is for no known pack; grant credits by hand with a reason instead.")
    fulfilment.credit(
        session,
        row,
        user=user,
        pack=pack,
        actor=Actor.ADMIN,
        actor_user_id=admin.id,
        note=f"{pack.name} pack (held payment released by an admin)",
    )
    return f"Credited the {pack.name} pack ({pack.credits} credits) to {_display(user)}."


@dataclass
class Dashboard:
    figures: list[dict[str, str]]
    weekly: list[dict[str, Any]] = field(default_factory=list)
    revenue_currency: str = "USD"


def dashboard(session: Session, *, admin: User | None, now: datetime | None = None) -> Dashboard:
    """Headline figures and twelve weekly points (Monday-based, UTC) for the charts."""
    require_admin(admin)
    now = now or utcnow()
    week_ago = now - timedelta(days=7)
    first_week = week_start(now) - timedelta(weeks=WEEKS - 1)
    currency = credit_packs()[0].currency.upper()

    users = session.scalar(select(func.count()).select_from(User).where(col(User.deleted_at).is_(None))) or 0
    active = (
        session.scalar(
            select(func.count(sa.distinct(col(PracticeSession.user_id)))).where(
                col(PracticeSession.created_at) >= week_ago
            )
        )
        or 0
    )
    seconds = session.scalar(select(func.coalesce(func.sum(col(PracticeSession.billable_seconds)), 0))) or 0
    week_seconds = (
        session.scalar(
            select(func.coalesce(func.sum(col(PracticeSession.billable_seconds)), 0)).where(
                col(PracticeSession.created_at) >= week_ago
            )
        )
        or 0
    )
    cost = (
        session.scalar(select(func.coalesce(func.sum(col(PracticeSession.cost_estimate_microusd)), 0))) or 0
    ) / 1_000_000
    sold = session.exec(
        select(
            col(Payment.currency),
            func.coalesce(func.sum(col(Payment.credits)), 0),
            func.coalesce(func.sum(col(Payment.amount_cents) - col(Payment.refunded_cents)), 0),
        )
        .where(col(Payment.status).in_(SOLD))
        .group_by(col(Payment.currency))
    ).all()
    credits_sold = sum(int(row[1]) for row in sold)
    revenue = ", ".join(statements.format_money(int(row[2]), row[0]) for row in sold) or (
        statements.format_money(0, currency)
    )
    held = session.scalar(
        select(func.count()).select_from(Payment).where(col(Payment.status) == PaymentStatus.HELD.value)
    )
    figures = [
        {"label": "Users", "value": f"{users:,}", "hint": "accounts not deleted"},
        {
            "label": "Active learners this week",
            "value": f"{active:,}",
            "hint": "practised in the last 7 days",
        },
        {
            "label": "Minutes practised",
            "value": f"{seconds / 60:,.0f}",
            "hint": f"{week_seconds / 60:,.0f} in the last 7 days",
        },
        {"label": "Credits sold", "value": f"{credits_sold:,}", "hint": "paid packs, refunds included"},
        {"label": "Revenue", "value": revenue, "hint": "paid minus refunded, before fees"},
        {
            "label": "Estimated OpenAI cost",
            "value": f"${cost:,.2f}",
            "hint": "tokens × FLUENTIO_COST_* prices when each lesson ended",
        },
        {"label": "Payments on hold", "value": f"{held or 0:,}", "hint": "need an admin"},
    ]
    return Dashboard(figures, _weekly(session, first_week, currency), currency)


def _weekly(session: Session, first_week: datetime, currency: str) -> list[dict[str, Any]]:
    weeks = [first_week + timedelta(weeks=i) for i in range(WEEKS)]
    points: list[dict[str, Any]] = [
        {"week": w.strftime("%d %b"), "minutes": 0.0, "active": 0, "revenue": 0.0, "cost": 0.0, "signups": 0}
        for w in weeks
    ]
    learners: list[set[uuid.UUID]] = [set() for _ in weeks]

    def index(moment: datetime) -> int | None:
        i = (moment - first_week).days // 7
        return i if 0 <= i < WEEKS else None

    for practice in session.exec(
        select(PracticeSession).where(col(PracticeSession.created_at) >= first_week)
    ):
        i = index(practice.created_at)
        if i is None:
            continue
        points[i]["minutes"] += practice.billable_seconds / 60
        learners[i].add(practice.user_id)
        points[i]["cost"] += practice.cost_estimate_microusd / 1_000_000
    for payment in session.exec(
        select(Payment).where(col(Payment.created_at) >= first_week, col(Payment.status).in_(SOLD))
    ):
        i = index(payment.created_at)
        if i is not None and payment.currency.upper() == currency:
            points[i]["revenue"] += (payment.amount_cents - payment.refunded_cents) / 100
    for created in session.exec(select(User.created_at).where(col(User.created_at) >= first_week)):
        i = index(created)
        if i is not None:
            points[i]["signups"] += 1
    for i, point in enumerate(points):
        point["active"] = len(learners[i])
        point["minutes"] = round(point["minutes"], 1)
        point["revenue"] = round(point["revenue"], 2)
        point["cost"] = round(point["cost"], 2)
    return points


async def failed_jobs(*, admin: User | None) -> list[dict[str, str]]:
    """The background jobs that failed for good (newest first): task, when, attempts, error."""
    require_admin(admin)
    try:
        return [job.row() for job in await jobs_admin.failed_jobs()]
    except jobs_admin.EngineNotRunningError as exc:
        raise AdminError(str(exc)) from None


async def retry_failed_job(*, admin: User | None, job_id: str) -> str:
    """Run a failed background job again now."""
    actor = require_admin(admin)
    try:
        number = int(job_id)
    except ValueError:
        raise AdminError("Pick a failed job from the list.") from None
    try:
        retried = await jobs_admin.retry_failed_job(number)
    except jobs_admin.EngineNotRunningError as exc:
        raise AdminError(str(exc)) from None
    if not retried:
        raise AdminError(
            "That job is not failed any more (it may have been retried already). The list is refreshed."
        )
    logger.info("admin %s retried background job %s", actor.id, number)
    return f"Job {number} is queued again; it runs in a moment."
