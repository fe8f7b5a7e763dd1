"""Single-use email links: hashed at rest, expiring, bound to one purpose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from fluentio.auth.errors import InvalidTokenError
from fluentio.auth.tokens import consume_email_token, hash_token, issue_email_token, new_token
from fluentio.models import EmailToken
from fluentio.models.auth import EmailTokenPurpose
from fluentio.models.base import utcnow
from tests.support.factories import make_user

VERIFY = EmailTokenPurpose.VERIFY_EMAIL
RESET = EmailTokenPurpose.RESET_PASSWORD


def stored(session: Session, token: str) -> EmailToken:
    row = session.exec(select(EmailToken).where(EmailToken.token_hash == hash_token(token))).one()
    return row


def test_new_token_and_hash() -> None:
    token = new_token()
    assert len(token) >= 43 and token != new_token()
    digest = hash_token(token)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert hash_token(token) == digest and hash_token(token + "x") != digest


def test_only_the_hash_is_stored_with_the_purpose_ttl(db: Session) -> None:
    user = make_user(db)
    verify = issue_email_token(session=db, user_id=user.id, purpose=VERIFY)
    reset = issue_email_token(session=db, user_id=user.id, purpose=RESET)
    rows = db.exec(select(EmailToken).where(EmailToken.user_id == user.id)).all()
    assert {row.token_hash for row in rows} == {hash_token(verify), hash_token(reset)}
    assert verify not in {row.token_hash for row in rows}
    now = utcnow()
    assert abs(stored(db, verify).expires_at - (now + timedelta(hours=24))) < timedelta(minutes=1)
    assert abs(stored(db, reset).expires_at - (now + timedelta(hours=1))) < timedelta(minutes=1)


def test_consume_returns_user_once(db: Session) -> None:
    user = make_user(db)
    token = issue_email_token(session=db, user_id=user.id, purpose=VERIFY)
    assert consume_email_token(session=db, token=token, purpose=VERIFY).id == user.id
    assert stored(db, token).used_at is not None
    with pytest.raises(InvalidTokenError) as again:
        consume_email_token(session=db, token=token, purpose=VERIFY)
    assert again.value.reason == "invalid"
    assert "already been used" in again.value.message


def test_expired_token_says_expired(db: Session) -> None:
    user = make_user(db)
    token = issue_email_token(session=db, user_id=user.id, purpose=RESET)
    row = stored(db, token)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.flush()
    with pytest.raises(InvalidTokenError) as caught:
        consume_email_token(session=db, token=token, purpose=RESET)
    assert caught.value.reason == "expired"
    assert "expired" in caught.value.message
    assert stored(db, token).used_at is None


def test_purpose_mismatch_and_unknown_are_invalid(db: Session) -> None:
    user = make_user(db)
    token = issue_email_token(session=db, user_id=user.id, purpose=VERIFY)
    with pytest.raises(InvalidTokenError) as mismatch:
        consume_email_token(session=db, token=token, purpose=RESET)
    assert mismatch.value.reason == "invalid"
    with pytest.raises(InvalidTokenError) as unknown:
        consume_email_token(session=db, token=new_token(), purpose=VERIFY)
    assert unknown.value.reason == "invalid"
    # The mismatch did not burn the token for its real purpose.
    assert consume_email_token(session=db, token=token, purpose=VERIFY).id == user.id


def test_new_token_replaces_older_ones_of_the_same_purpose(db: Session) -> None:
    user = make_user(db)
    old = issue_email_token(session=db, user_id=user.id, purpose=RESET)
    verify = issue_email_token(session=db, user_id=user.id, purpose=VERIFY)
    new = issue_email_token(session=db, user_id=user.id, purpose=RESET)
    with pytest.raises(InvalidTokenError):
        consume_email_token(session=db, token=old, purpose=RESET)
    assert consume_email_token(session=db, token=new, purpose=RESET).id == user.id
    assert consume_email_token(session=db, token=verify, purpose=VERIFY).id == user.id


def test_custom_purpose_needs_and_uses_its_ttl(db: Session) -> None:
    user = make_user(db)
    token = issue_email_token(session=db, user_id=user.id, purpose="login_ticket", ttl=timedelta(minutes=1))
    assert stored(db, token).expires_at - utcnow() <= timedelta(minutes=1)
    assert consume_email_token(session=db, token=token, purpose="login_ticket").id == user.id


def test_deleted_users_tokens_do_not_work(db: Session) -> None:
    user = make_user(db)
    token = issue_email_token(session=db, user_id=user.id, purpose=VERIFY)
    user.deleted_at = utcnow()
    db.add(user)
    db.flush()
    with pytest.raises(InvalidTokenError):
        consume_email_token(session=db, token=token, purpose=VERIFY)
