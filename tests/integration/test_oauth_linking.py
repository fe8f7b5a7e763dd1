"""Who a Google or Apple sign-in becomes, on both engines: new accounts, linking by a
verified email, refusing unverified ones, welcome credits once, admins by email."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, col, func, select

from fluentio.auth.oauth import OAuthFlowError, Profile, sign_in_with_provider
from fluentio.auth.passwords import hash_password
from fluentio.auth.sessions import create_login_session, resolve_login_session
from fluentio.billing import ledger
from fluentio.models import MILLICREDITS_PER_CREDIT, LedgerEntry, OAuthIdentity, Role, User
from fluentio.settings import get_settings
from tests.support.factories import make_user, unique_email


def profile(email: str, *, provider: str = "google", verified: bool = True, name: str = "Ana") -> Profile:
    return Profile(
        provider=provider,
        subject=f"sub-{uuid.uuid4().hex}",
        email=email,
        email_verified=verified,
        name=name,
    )


def identities(db: Session, user_id: uuid.UUID) -> list[OAuthIdentity]:
    return list(db.exec(select(OAuthIdentity).where(OAuthIdentity.user_id == user_id)).all())


def signup_bonuses(db: Session, user_id: uuid.UUID) -> int:
    return db.exec(
        select(func.count())
        .select_from(LedgerEntry)
        .where(LedgerEntry.user_id == user_id, col(LedgerEntry.idempotency_key).startswith("signup:"))
    ).one()


def test_a_new_person_gets_a_verified_account_and_the_welcome_credits_once(db: Session) -> None:
    who = profile(unique_email().upper(), name="  Ana   Lima ")
    user, created = sign_in_with_provider(session=db, profile=who)
    assert created
    assert user.email == who.email.lower()
    assert user.email_verified_at is not None and user.password_hash is None
    assert user.display_name == "Ana Lima" and user.role == Role.LEARNER
    assert ledger.balance(session=db, user_id=user.id) == 30 * MILLICREDITS_PER_CREDIT

    again, created_again = sign_in_with_provider(session=db, profile=who)
    assert again.id == user.id and not created_again
    assert len(identities(db, user.id)) == 1
    assert signup_bonuses(db, user.id) == 1
    assert ledger.balance(session=db, user_id=user.id) == 30 * MILLICREDITS_PER_CREDIT


def test_google_and_apple_with_one_verified_email_are_one_account(db: Session) -> None:
    email = unique_email()
    google, _ = sign_in_with_provider(session=db, profile=profile(email))
    apple, created = sign_in_with_provider(session=db, profile=profile(email, provider="apple"))
    assert apple.id == google.id and not created
    assert {i.provider for i in identities(db, google.id)} == {"google", "apple"}
    assert signup_bonuses(db, google.id) == 1


def test_a_verified_email_links_to_the_existing_password_account(db: Session) -> None:
    owner = make_user(db, email=unique_email(), password_hash=hash_password("owner-password-123"))
    ledger.ensure_signup_bonus(session=db, user_id=owner.id)
    db.commit()
    user, created = sign_in_with_provider(session=db, profile=profile(owner.email))
    assert user.id == owner.id and not created
    assert user.password_hash  # the owner keeps their password
    assert [i.provider for i in identities(db, owner.id)] == ["google"]
    assert signup_bonuses(db, owner.id) == 1


def test_an_unverified_email_never_takes_over_an_account(db: Session) -> None:
    owner = make_user(db, email=unique_email(), password_hash=hash_password("owner-password-123"))
    token = create_login_session(session=db, user_id=owner.id, user_agent="t", ip="")
    db.commit()
    for provider in ("google", "apple"):
        with pytest.raises(OAuthFlowError) as caught:
            sign_in_with_provider(session=db, profile=profile(owner.email, provider=provider, verified=False))
        assert caught.value.code == "oauth_unverified"
        assert "Log in with your email and password" in caught.value.message
    db.refresh(owner)
    assert identities(db, owner.id) == []
    assert owner.password_hash and owner.role == Role.LEARNER
    assert resolve_login_session(session=db, token=token) is not None


def test_an_unverified_email_does_not_create_an_account(db: Session) -> None:
    email = unique_email()
    with pytest.raises(OAuthFlowError) as caught:
        sign_in_with_provider(session=db, profile=profile(email, verified=False))
    assert caught.value.code == "oauth_unverified_new"
    assert db.exec(select(User).where(User.email == email)).first() is None


def test_a_squatted_unverified_account_goes_to_the_verified_owner(db: Session) -> None:
    """Someone signed up with another person's address and a password, never verified it;
    the real owner then signs in with Google: the squatter's password and sessions go."""
    squatted = make_user(
        db, email=unique_email(), password_hash=hash_password("squatter-pass-123"), verified=False
    )
    squatter_session = create_login_session(session=db, user_id=squatted.id, user_agent="t", ip="")
    db.commit()
    user, _ = sign_in_with_provider(session=db, profile=profile(squatted.email))
    assert user.id == squatted.id
    assert user.password_hash is None and user.email_verified_at is not None
    assert resolve_login_session(session=db, token=squatter_session) is None


def test_a_linked_identity_signs_in_even_if_its_email_changed(db: Session) -> None:
    first = profile(unique_email())
    user, _ = sign_in_with_provider(session=db, profile=first)
    moved = Profile(first.provider, first.subject, unique_email(), False, "")
    again, created = sign_in_with_provider(session=db, profile=moved)
    assert again.id == user.id and not created
    assert identities(db, user.id)[0].email == moved.email


def test_no_email_is_refused(db: Session) -> None:
    with pytest.raises(OAuthFlowError) as caught:
        sign_in_with_provider(session=db, profile=profile(""))
    assert caught.value.code == "oauth_no_email"


def test_admin_emails_become_admins_at_sign_in(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    email = unique_email("boss")
    user, _ = sign_in_with_provider(session=db, profile=profile(email))
    assert user.role == Role.LEARNER
    monkeypatch.setenv("FLUENTIO_ADMIN_EMAILS", f"other@example.com, {email.upper()}")
    get_settings.cache_clear()
    who = Profile("google", identities(db, user.id)[0].subject, email, True, "")
    again, _ = sign_in_with_provider(session=db, profile=who)
    assert again.role == Role.ADMIN


def test_no_welcome_credits_when_the_setting_is_zero(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUENTIO_SIGNUP_CREDITS", "0")
    get_settings.cache_clear()
    user, _ = sign_in_with_provider(session=db, profile=profile(unique_email()))
    assert ledger.balance(session=db, user_id=user.id) == 0
