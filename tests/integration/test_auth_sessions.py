"""Server-side login sessions: resolution, rolling expiry, revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from fluentio.auth.sessions import (
    SEEN_WRITE_INTERVAL,
    create_login_session,
    resolve_login_session,
    revoke_all_login_sessions,
    revoke_login_session,
)
from fluentio.auth.tokens import hash_token, new_token
from fluentio.models import LoginSession, User
from fluentio.models.base import utcnow
from fluentio.settings import get_settings
from tests.support.factories import make_user


def login_row(session: Session, token: str) -> LoginSession:
    return session.exec(select(LoginSession).where(LoginSession.token_hash == hash_token(token))).one()


def start(session: Session, user: User, agent: str = "pytest") -> str:
    return create_login_session(session=session, user_id=user.id, user_agent=agent, ip="127.0.0.1")


def test_create_and_resolve(db: Session) -> None:
    user = make_user(db)
    token = start(db, user, agent="x" * 500)
    row = login_row(db, token)
    assert row.token_hash != token and len(row.token_hash) == 64
    assert len(row.user_agent) == 300 and row.ip_address == "127.0.0.1"
    assert abs(row.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
    resolved = resolve_login_session(session=db, token=token)
    assert resolved is not None
    assert resolved[0].id == user.id and resolved[1].id == row.id


def test_unknown_and_empty_tokens_resolve_to_none(db: Session) -> None:
    assert resolve_login_session(session=db, token=new_token()) is None
    assert resolve_login_session(session=db, token="") is None


def test_expired_session_is_refused(db: Session) -> None:
    user = make_user(db)
    token = start(db, user)
    row = login_row(db, token)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.flush()
    assert resolve_login_session(session=db, token=token) is None


def test_deleted_user_is_refused(db: Session) -> None:
    user = make_user(db)
    token = start(db, user)
    user.deleted_at = utcnow()
    db.add(user)
    db.flush()
    assert resolve_login_session(session=db, token=token) is None


def test_rolling_expiry_writes_at_most_every_interval(db: Session) -> None:
    user = make_user(db)
    token = start(db, user)
    row = login_row(db, token)
    soon = utcnow() + timedelta(days=1)

    # Seen recently: nothing is written even though expiry is near.
    recent = utcnow() - SEEN_WRITE_INTERVAL / 2
    row.last_seen_at, row.expires_at = recent, soon
    db.add(row)
    db.flush()
    assert resolve_login_session(session=db, token=token) is not None
    db.expire_all()
    row = login_row(db, token)
    assert row.expires_at == soon and row.last_seen_at == recent

    # Seen longer ago than the interval: expiry moves to now + FLUENTIO_SESSION_DAYS.
    row.last_seen_at = utcnow() - SEEN_WRITE_INTERVAL - timedelta(seconds=5)
    db.add(row)
    db.flush()
    assert resolve_login_session(session=db, token=token) is not None
    db.expire_all()
    row = login_row(db, token)
    assert abs(row.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)


def test_session_days_setting(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_SESSION_DAYS", "7")
    get_settings.cache_clear()
    user = make_user(db)
    row = login_row(db, start(db, user))
    assert abs(row.expires_at - (utcnow() + timedelta(days=7))) < timedelta(minutes=1)


def test_revoke_one(db: Session) -> None:
    user = make_user(db)
    token, other = start(db, user), start(db, user)
    assert revoke_login_session(session=db, token=token) is True
    assert revoke_login_session(session=db, token=token) is False
    assert resolve_login_session(session=db, token=token) is None
    assert resolve_login_session(session=db, token=other) is not None


def test_revoke_all_except_the_current_browser(db: Session) -> None:
    user, stranger = make_user(db), make_user(db)
    tokens = [start(db, user) for _ in range(3)]
    strangers = start(db, stranger)
    assert revoke_all_login_sessions(session=db, user_id=user.id, except_token=tokens[0]) == 2
    assert resolve_login_session(session=db, token=tokens[0]) is not None
    assert [resolve_login_session(session=db, token=t) for t in tokens[1:]] == [None, None]
    assert resolve_login_session(session=db, token=strangers) is not None
    assert revoke_all_login_sessions(session=db, user_id=user.id) == 1
    assert resolve_login_session(session=db, token=tokens[0]) is None
