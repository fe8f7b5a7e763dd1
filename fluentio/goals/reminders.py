"""The weekly-goal reminder: at most one email per learner per week, only to learners who
asked for it, never after they unsubscribe.

`send_reminders` is a periodic job-engine task (fluentio/jobs/): every 30 minutes one
worker of the cluster runs `send_due_reminders`, whose clock and email sender are
arguments, so tests drive it without waiting. A reminder is claimed before it is sent —
one conditional UPDATE sets the week's mark — so two workers never both send it; if
sending fails the mark is put back and the next check tries again.

The unsubscribe link carries a signed token (an HS256 JWT made with joserfc, keyed from
FLUENTIO_SECRET_KEY) naming the learner, so it works without signing in and can't be
forged for someone else.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from urllib.parse import urlencode

import sqlalchemy as sa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlmodel import Session, col, select

from fluentio.auth.email import EmailSender, get_email_sender, goal_reminder_email
from fluentio.db import off_loop, session_scope
from fluentio.goals.service import progress
from fluentio.jobs.app import jobs_app
from fluentio.models import LearningGoal, User
from fluentio.models.base import utcnow
from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

_PURPOSE = "goal-reminders-unsubscribe"


def _key() -> OctKey:
    secret = get_settings().secret_key.get_secret_value().encode()
    return OctKey.import_key(hashlib.sha256(b"fluentio-goal-reminders|" + secret).digest())


def unsubscribe_token(user_id: uuid.UUID) -> str:
    return jwt.encode(
        {"alg": "HS256"}, {"sub": str(user_id), "purpose": _PURPOSE}, _key(), algorithms=["HS256"]
    )


def unsubscribe_link(user_id: uuid.UUID) -> str:
    return f"{get_settings().public_url}/api/goals/unsubscribe?{urlencode({'token': unsubscribe_token(user_id)})}"


def user_from_token(token: str) -> uuid.UUID | None:
    """The learner a genuine unsubscribe token names, or None."""
    try:
        claims = jwt.decode(token, _key(), algorithms=["HS256"]).claims
        if claims.get("purpose") != _PURPOSE:
            return None
        return uuid.UUID(str(claims.get("sub")))
    except (JoseError, ValueError):
        return None


def unsubscribe(*, session: Session, user_id: uuid.UUID) -> bool:
    """Turn the learner's reminders off; True if they were on."""
    result = session.execute(
        sa.update(LearningGoal)
        .where(col(LearningGoal.user_id) == user_id, col(LearningGoal.reminders).is_(True))
        .values(reminders=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _claim(*, session: Session, user_id: uuid.UUID, week: str) -> tuple[bool, str | None]:
    """Mark this week's reminder as sent: whether this caller got it, and the previous mark."""
    goal = session.get(LearningGoal, user_id)
    if goal is None or not goal.reminders or goal.reminded_week == week:
        return False, None
    previous = goal.reminded_week
    result = session.execute(
        sa.update(LearningGoal)
        .where(
            col(LearningGoal.user_id) == user_id,
            col(LearningGoal.reminders).is_(True),
            sa.or_(col(LearningGoal.reminded_week).is_(None), col(LearningGoal.reminded_week) != week),
        )
        .values(reminded_week=week)
    )
    return getattr(result, "rowcount", 0) == 1, previous


def send_due_reminders(*, now: datetime, sender: EmailSender) -> int:
    """Send every reminder due at `now`; how many went out."""
    with session_scope() as session:
        learners = session.exec(
            select(LearningGoal.user_id)
            .join(User, col(User.id) == col(LearningGoal.user_id))
            .where(
                col(LearningGoal.reminders).is_(True),
                col(User.deleted_at).is_(None),
                col(User.email_verified_at).is_not(None),
            )
        ).all()
    sent = 0
    for user_id in learners:
        with session_scope() as session:
            week_progress = progress(session=session, user_id=user_id, now=now)
            if not week_progress.at_risk:
                continue
            claimed, previous = _claim(session=session, user_id=user_id, week=week_progress.week)
            if not claimed:
                continue
            user = session.get(User, user_id)
            assert user is not None
            message = goal_reminder_email(
                to=user.email,
                display_name=user.display_name,
                minutes_done=week_progress.minutes_done,
                weekly_minutes=week_progress.weekly_minutes,
                days_left=week_progress.days_left,
                unsubscribe_link=unsubscribe_link(user_id),
            )
        try:
            sender.send(message)
        except Exception:  # SMTP, DNS, TLS or disk errors: put the claim back, retry later
            logger.exception("goal reminder to learner %s not sent; will retry", user_id)
            with session_scope() as session:
                session.execute(
                    sa.update(LearningGoal)
                    .where(col(LearningGoal.user_id) == user_id)
                    .values(reminded_week=previous)
                )
            continue
        sent += 1
    return sent


@jobs_app.periodic(cron="*/30 * * * *", periodic_id="every 30 min")
@jobs_app.task(name="goals.send_reminders", queueing_lock="goals.send_reminders")
async def send_reminders(timestamp: int) -> int:
    """Every 30 minutes, on one worker of the cluster: the reminders due now."""
    sent = await off_loop(send_due_reminders, now=utcnow(), sender=get_email_sender())
    if sent:
        logger.info("goal reminders: %d sent", sent)
    return sent
