"""Database-backed attempt limits: counting, retry-after, windows, clearing, pruning."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, col, func, select, update

from fluentio.auth.errors import RateLimitedError
from fluentio.auth.ratelimit import (
    ALL_LIMITS,
    RETENTION,
    check_rate_limit,
    clear_attempts,
    prune_attempts,
    record_attempt,
)
from fluentio.models import AuthAttempt
from fluentio.models.base import utcnow

WINDOW = timedelta(minutes=15)


def fresh_key() -> str:
    return f"k-{uuid.uuid4().hex}@example.test"


def check(session: Session, key: str, *, scope: str = "test", limit: int = 3) -> None:
    check_rate_limit(session=session, scope=scope, keys=[key], limit=limit, window=WINDOW)


def age_attempts(session: Session, key: str, by: timedelta) -> None:
    session.exec(
        update(AuthAttempt)
        .where(col(AuthAttempt.key) == key)
        .values(created_at=utcnow() - by)
        .execution_options(synchronize_session=False)
    )


def count(session: Session, key: str) -> int:
    return session.exec(select(func.count()).select_from(AuthAttempt).where(AuthAttempt.key == key)).one()


def test_limit_reached_raises_with_retry_after(db: Session) -> None:
    key = fresh_key()
    for _ in range(3):
        check(db, key)
        record_attempt(session=db, scope="test", keys=[key])
    with pytest.raises(RateLimitedError) as caught:
        check(db, key)
    seconds = caught.value.retry_after_seconds
    assert 0 < seconds <= WINDOW.total_seconds()
    assert caught.value.message == f"Too many attempts. Try again in {seconds} s."


def test_retry_after_counts_from_the_attempt_that_must_expire(db: Session) -> None:
    key = fresh_key()
    record_attempt(session=db, scope="test", keys=[key])
    age_attempts(db, key, WINDOW - timedelta(seconds=60))
    record_attempt(session=db, scope="test", keys=[key])
    record_attempt(session=db, scope="test", keys=[key])
    with pytest.raises(RateLimitedError) as caught:
        check(db, key)
    assert 55 <= caught.value.retry_after_seconds <= 61


def test_window_expiry_frees_the_key(db: Session) -> None:
    key = fresh_key()
    for _ in range(3):
        record_attempt(session=db, scope="test", keys=[key])
    with pytest.raises(RateLimitedError):
        check(db, key)
    age_attempts(db, key, WINDOW + timedelta(seconds=1))
    check(db, key)


def test_scopes_and_keys_are_counted_separately(db: Session) -> None:
    noisy, quiet = fresh_key(), fresh_key()
    for _ in range(3):
        record_attempt(session=db, scope="test", keys=[noisy])
    check(db, quiet)
    check(db, noisy, scope="other")
    # Any one key over its limit blocks a multi-key check.
    with pytest.raises(RateLimitedError):
        check_rate_limit(session=db, scope="test", keys=[quiet, noisy], limit=3, window=WINDOW)


def test_empty_keys_are_not_limited(db: Session) -> None:
    for _ in range(5):
        record_attempt(session=db, scope="test", keys=[""])
    check(db, "")
    assert count(db, "") == 0


def test_clear_attempts(db: Session) -> None:
    key = fresh_key()
    for _ in range(3):
        record_attempt(session=db, scope="test", keys=[key])
    record_attempt(session=db, scope="other", keys=[key])
    clear_attempts(session=db, scope="test", keys=[key])
    check(db, key)
    assert count(db, key) == 1  # the other scope is untouched


def test_prune_removes_only_rows_too_old_to_count(db: Session) -> None:
    old, new = fresh_key(), fresh_key()
    record_attempt(session=db, scope="test", keys=[old])
    record_attempt(session=db, scope="test", keys=[new])
    age_attempts(db, old, RETENTION + timedelta(minutes=1))
    assert prune_attempts(session=db) >= 1
    assert count(db, old) == 0 and count(db, new) == 1


def test_limits_fit_the_table() -> None:
    assert all(len(rule.scope) <= 16 and rule.limit > 0 for rule in ALL_LIMITS)
    assert len({rule.scope for rule in ALL_LIMITS}) == len(ALL_LIMITS)
