"""Attempt limits for sign-in, sign-up and password reset, counted in the database.

Counting in the database (not in process memory) makes a limit hold across every
backend worker. Each attempt is one `auth_attempts` row; a limit counts the rows of a
(scope, key) inside a sliding window. Checking and recording are separate steps, so
two requests racing through may both pass: a limit can be overshot by the number of
concurrent workers, which is acceptable for slowing down guessing.

Wrong passwords are counted per (email, IP address) with a growing back-off, never per
email alone: failures from an attacker's addresses must not lock the owner out of their
own account (and a forgotten password is one reset link away, which clears the count).
Guessing one account from many addresses is slowed by the per-IP limit and Argon2.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, delete, func, select

from fluentio.auth.errors import RateLimitedError
from fluentio.models.auth import AuthAttempt
from fluentio.models.base import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` attempts per key of `scope` within `window`."""

    scope: str
    limit: int
    window: timedelta


# Every limit of the accounts feature, in one place. Keys are a normalised email, an
# IP address or a user id, as the scope name says.
SIGN_IN_PER_IP = RateLimit("signin_ip", 30, timedelta(minutes=15))
SIGN_UP_PER_IP = RateLimit("signup_ip", 5, timedelta(hours=1))
RESET_PER_EMAIL = RateLimit("reset_email", 3, timedelta(hours=1))
RESET_PER_IP = RateLimit("reset_ip", 10, timedelta(hours=1))
VERIFY_RESEND_PER_USER = RateLimit("verify_user", 5, timedelta(hours=1))


@dataclass(frozen=True)
class Backoff:
    """`free` failures per key, then a wait that doubles with each further failure
    (from `first_wait` up to `max_wait`), counted from the last failure. Failures older
    than `window` are forgotten."""

    scope: str
    free: int
    first_wait: timedelta
    max_wait: timedelta
    window: timedelta

    def wait_after(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        doublings = min(failures - self.free, 20)  # 2**20 × 30 s is far past any cap
        return min(self.first_wait * 2**doublings, self.max_wait)


# Wrong passwords for one email from one address (key: see `email_ip_key`).
SIGN_IN_BACKOFF = Backoff(
    "signin_email_ip", 5, timedelta(seconds=30), timedelta(hours=1), timedelta(hours=24)
)

ALL_LIMITS = (
    SIGN_IN_PER_IP,
    SIGN_UP_PER_IP,
    RESET_PER_EMAIL,
    RESET_PER_IP,
    VERIFY_RESEND_PER_USER,
)
# Rows older than the longest window can no longer count towards any limit.
RETENTION = max(*(limit.window for limit in ALL_LIMITS), SIGN_IN_BACKOFF.window)
# Pruning scans the table, so it runs on a small share of recorded attempts only.
PRUNE_PROBABILITY = 0.02


def _live_keys(keys: Iterable[str]) -> list[str]:
    # An unknown IP arrives as "": counting every such request under one key would lock
    # out everyone behind a proxy that hides addresses, so empty keys are not limited.
    return [key[:320] for key in keys if key]


def check_rate_limit(*, session: Session, scope: str, keys: list[str], limit: int, window: timedelta) -> None:
    """Raise RateLimitedError if any key already has `limit` attempts within `window`."""
    now = utcnow()
    since = now - window
    retry_after = 0
    for key in _live_keys(keys):
        in_window = (
            col(AuthAttempt.scope) == scope,
            col(AuthAttempt.key) == key,
            col(AuthAttempt.created_at) > since,
        )
        count = session.exec(select(func.count()).select_from(AuthAttempt).where(*in_window)).one()
        if count < limit:
            continue
        # The key is free again once enough of its oldest attempts have left the window.
        freeing = session.exec(
            select(AuthAttempt.created_at)
            .where(*in_window)
            .order_by(col(AuthAttempt.created_at))
            .offset(count - limit)
            .limit(1)
        ).one()
        retry_after = max(retry_after, math.ceil((freeing + window - now).total_seconds()), 1)
    if retry_after:
        logger.info("rate limit hit for scope %s", scope)
        raise RateLimitedError(retry_after)


def email_ip_key(email: str, ip: str) -> str:
    """The back-off key of one email tried from one address. The IP comes first, so the
    320-character key cut can only shorten the email."""
    return f"{ip}|{email}"


def check_backoff(*, session: Session, rule: Backoff, key: str) -> None:
    """Raise RateLimitedError while `key` must still wait after its recent failures."""
    live = _live_keys([key])
    if not live:
        return
    now = utcnow()
    count, last = session.exec(
        select(func.count(), func.max(AuthAttempt.created_at)).where(
            col(AuthAttempt.scope) == rule.scope,
            col(AuthAttempt.key) == live[0],
            col(AuthAttempt.created_at) > now - rule.window,
        )
    ).one()
    wait = rule.wait_after(int(count))
    if last is None or not wait:
        return
    if last.tzinfo is None:  # SQLite returns aggregates without the column's type
        last = last.replace(tzinfo=now.tzinfo)
    ready = last + wait
    if ready > now:
        logger.info("back-off for scope %s: %d failures", rule.scope, count)
        raise RateLimitedError(max(1, math.ceil((ready - now).total_seconds())))


def clear_email_everywhere(*, session: Session, scope: str, email: str) -> None:
    """Forget an email's `email_ip_key` failures from every address (e.g. after a
    password reset, which proves the inbox)."""
    session.exec(
        delete(AuthAttempt).where(
            col(AuthAttempt.scope) == scope, col(AuthAttempt.key).endswith(f"|{email}", autoescape=True)
        )
    )


def check_limit(*, session: Session, rule: RateLimit, key: str) -> None:
    """`check_rate_limit` for one of the named limits above."""
    check_rate_limit(session=session, scope=rule.scope, keys=[key], limit=rule.limit, window=rule.window)


def record_attempt(*, session: Session, scope: str, keys: list[str]) -> None:
    """Count one attempt against each key (flushed, committed by the caller)."""
    now = utcnow()
    for key in _live_keys(keys):
        session.add(AuthAttempt(scope=scope, key=key, created_at=now))
    session.flush()
    if random.random() < PRUNE_PROBABILITY:
        prune_attempts(session=session)


def clear_attempts(*, session: Session, scope: str, keys: list[str]) -> None:
    """Forget the attempts of these keys, e.g. an email's failures after it signs in."""
    live = _live_keys(keys)
    if live:
        session.exec(
            delete(AuthAttempt).where(col(AuthAttempt.scope) == scope, col(AuthAttempt.key).in_(live))
        )


def clear_attempts_for_key(*, session: Session, key: str) -> None:
    """Forget every attempt made with this key in any scope (used when an account is
    deleted, since the key is the person's email)."""
    session.exec(delete(AuthAttempt).where(col(AuthAttempt.key) == key))


def prune_attempts(*, session: Session, older_than: timedelta = RETENTION) -> int:
    """Delete attempts too old to count towards any limit; returns how many."""
    result = session.exec(delete(AuthAttempt).where(col(AuthAttempt.created_at) < utcnow() - older_than))
    return int(result.rowcount)
