"""The account use cases on both engines, with email captured in memory."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlmodel import Session, col, delete, func, select

from fluentio.auth import ratelimit, service
from fluentio.auth.errors import (
    AccountNotFoundError,
    AuthError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidTokenError,
    RateLimitedError,
    WeakPasswordError,
)
from fluentio.auth.levels import level_for
from fluentio.auth.passwords import dummy_hash, hash_password, verify_password
from fluentio.auth.roles import is_admin
from fluentio.auth.sessions import create_login_session, resolve_login_session
from fluentio.backoffice import service as admin_service
from fluentio.billing import ledger
from fluentio.db import engine_for
from fluentio.models import (
    MILLICREDITS_PER_CREDIT,
    AuthAttempt,
    Correction,
    EmailToken,
    Feedback,
    LearnerLevel,
    LedgerEntry,
    LoginSession,
    OAuthIdentity,
    PracticeSession,
    TranscriptItem,
    User,
)
from fluentio.models.base import utcnow
from fluentio.models.billing import Actor, LedgerReason, Payment
from fluentio.settings import get_settings
from tests.support.factories import make_user, unique_email

PASSWORD = "blue kettle sings"
NEW_PASSWORD = "green teapot hums"


class Outbox:
    """A test EmailSender that keeps what it was given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.messages.append(message)

    def token(self, path: str) -> str:
        body = self.messages[-1].get_body(preferencelist=("plain",))
        assert body is not None
        match = re.search(rf"/{path}\?token=([A-Za-z0-9_-]+)", body.get_content())
        assert match, body.get_content()
        return match.group(1)


class FailingSender:
    def send(self, message: EmailMessage) -> None:
        raise OSError("mail server down")


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


def new_ip() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def sign_up(db: Session, outbox: Outbox, email: str | None = None, **kwargs: str) -> User:
    user = try_sign_up(db, outbox, email, **kwargs)
    assert user is not None, "the address already had an account"
    return user


def try_sign_up(db: Session, outbox: Outbox, email: str | None = None, **kwargs: str) -> User | None:
    return service.sign_up(
        session=db,
        email=email or unique_email(),
        password=kwargs.get("password", PASSWORD),
        display_name=kwargs.get("display_name", "Ada"),
        ip=kwargs.get("ip", new_ip()),
        sender=outbox,
    )


def login(db: Session, user: User) -> str:
    return create_login_session(session=db, user_id=user.id, user_agent="pytest", ip="127.0.0.1")


# --- sign_up ---------------------------------------------------------------------------


def test_sign_up_creates_account_and_verification_email_and_credits_wait_for_it(
    db: Session, outbox: Outbox
) -> None:
    email = unique_email()
    user = sign_up(db, outbox, email=f"  {email.upper()} ", display_name="  Ada   Lovelace ")
    assert user.email == email
    assert user.display_name == "Ada Lovelace"
    assert user.role == "learner" and user.email_verified_at is None
    assert user.password_hash and verify_password(PASSWORD, user.password_hash)
    # A throw-away address earns nothing until its inbox is proven.
    assert ledger.balance(session=db, user_id=user.id) == 0
    [message] = outbox.messages
    assert message["To"] == email and message["Subject"] == "Verify your email"
    assert message.get_body(preferencelist=("html",)) is not None
    service.verify_email(session=db, token=outbox.token("verify-email"))
    credits = get_settings().signup_credits
    assert ledger.balance(session=db, user_id=user.id) == credits * MILLICREDITS_PER_CREDIT


def test_a_password_reset_link_also_grants_the_welcome_credits_once(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    verify_token = outbox.token("verify-email")
    service.request_password_reset(session=db, email=user.email, ip=new_ip(), sender=outbox)
    service.reset_password(
        session=db, token=outbox.token("reset-password"), new_password="another-long-pass-77"
    )
    service.verify_email(session=db, token=verify_token)
    credits = get_settings().signup_credits
    assert ledger.balance(session=db, user_id=user.id) == credits * MILLICREDITS_PER_CREDIT


def test_sign_up_admin_from_settings(db: Session, outbox: Outbox, monkeypatch: pytest.MonkeyPatch) -> None:
    email = unique_email("boss")
    monkeypatch.setenv("FLUENTIO_ADMIN_EMAILS", f"someone@else.test, {email.upper()}")
    get_settings.cache_clear()
    user = sign_up(db, outbox, email=email)
    # Whoever registers the owner's address first must not own the back office.
    assert user.role == "learner" and not is_admin(user)
    assert service.sign_in(session=db, email=email, password=PASSWORD, ip=new_ip()).role == "learner"
    service.verify_email(session=db, token=outbox.token("verify-email"))
    db.refresh(user)
    assert user.role == "admin" and is_admin(user)


def test_an_admin_role_on_an_unverified_account_grants_nothing(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    user.role = "admin"  # e.g. written by hand, or left from before verification was required
    db.add(user)
    db.flush()
    assert not is_admin(user)
    with pytest.raises(admin_service.AdminError):
        admin_service.require_admin(user)
    service.verify_email(session=db, token=outbox.token("verify-email"))
    db.refresh(user)
    assert user.role == "learner"  # not listed in FLUENTIO_ADMIN_EMAILS


@pytest.mark.parametrize("email", ["", "no-at-sign", "two@@example.com", "a@b", "with space@example.com"])
def test_sign_up_rejects_malformed_email(db: Session, outbox: Outbox, email: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        sign_up(db, outbox, email=email or " ")
    assert "email" in caught.value.message


def test_sign_up_rejects_weak_password(db: Session, outbox: Outbox) -> None:
    email = unique_email()
    for password in ("short", "password123", email):
        with pytest.raises(WeakPasswordError):
            sign_up(db, outbox, email=email, password=password)
    assert db.exec(select(User).where(User.email == email)).first() is None
    assert outbox.messages == []


def test_sign_up_rejects_overlong_name(db: Session, outbox: Outbox) -> None:
    with pytest.raises(InvalidInputError):
        sign_up(db, outbox, display_name="n" * 101)


def test_sign_up_with_a_taken_email_tells_the_owner_not_the_form(db: Session, outbox: Outbox) -> None:
    """Case-insensitively the same address: no error (the form says "check your inbox"
    as for a new account), no second account, and the owner is emailed the way in."""
    email = unique_email()
    owner = sign_up(db, outbox, email=email, display_name="Ada")
    before = len(outbox.messages)

    assert try_sign_up(db, outbox, email=email.upper(), password="another-long-passphrase") is None

    assert db.exec(select(func.count()).select_from(User).where(col(User.email) == email)).one() == 1
    assert len(outbox.messages) == before + 1
    notice = outbox.messages[-1]
    assert notice["To"] == owner.email
    assert notice["Subject"] == "You already have a Fluentio account"
    body = notice.get_body(preferencelist=("plain",))
    assert body is not None and "/login" in body.get_content() and "token=" not in body.get_content()
    assert db.get(User, owner.id).password_hash == owner.password_hash  # type: ignore[union-attr]


def test_sign_up_is_limited_per_ip(db: Session, outbox: Outbox) -> None:
    ip = new_ip()
    for _ in range(ratelimit.SIGN_UP_PER_IP.limit):
        sign_up(db, outbox, ip=ip)
    with pytest.raises(RateLimitedError) as caught:
        sign_up(db, outbox, ip=ip)
    assert caught.value.retry_after_seconds > 0
    sign_up(db, outbox)  # another address is not affected


def test_sign_up_survives_a_failing_mail_server(db: Session) -> None:
    email = unique_email()
    user = service.sign_up(
        session=db, email=email, password=PASSWORD, display_name="", ip=new_ip(), sender=FailingSender()
    )
    assert db.get(User, user.id) is not None
    assert db.exec(select(EmailToken).where(EmailToken.user_id == user.id)).first() is not None


def test_sign_up_race_for_one_email_answers_as_for_a_taken_email(pg_url: str) -> None:
    """Two sign-ups for one address at once: the unique index decides, and the loser is
    answered as if the account had existed before (no error, the owner is emailed)."""
    email = unique_email("race")
    engine = engine_for(pg_url)
    with Session(engine) as winner:
        winner.add(User(email=email, password_hash=hash_password(PASSWORD)))
        winner.flush()  # holds the unique-index entry until commit
        outcome: list[object] = []
        loser_outbox = Outbox()

        def loser() -> None:
            with Session(engine) as session:
                try:
                    outcome.append(try_sign_up(session, loser_outbox, email=email))
                except BaseException as exc:
                    outcome.append(exc)

        thread = threading.Thread(target=loser)
        thread.start()
        deadline = time.monotonic() + 10
        with engine.connect() as probe:
            while time.monotonic() < deadline:
                waiting = probe.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar()
                if waiting:
                    break
                time.sleep(0.02)
        assert waiting, "the second sign-up never reached the insert"
        winner.commit()
        thread.join(timeout=10)
    try:
        assert outcome == [None]
        assert [m["Subject"] for m in loser_outbox.messages] == ["You already have a Fluentio account"]
    finally:
        with Session(engine) as cleanup:
            cleanup.exec(delete(User).where(col(User.email) == email))
            cleanup.commit()


# --- sign_in ---------------------------------------------------------------------------


def test_sign_in_success_sets_last_login(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    assert user.last_login_at is None
    signed_in = service.sign_in(session=db, email=user.email.upper(), password=PASSWORD, ip=new_ip())
    assert signed_in.id == user.id
    assert signed_in.last_login_at is not None


def test_wrong_password_and_unknown_email_look_the_same(
    db: Session, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = sign_up(db, outbox)
    checked: list[str] = []
    real = service.verify_and_rehash

    def spy(password: str, password_hash: str) -> tuple[bool, str | None]:
        checked.append(password_hash)
        return real(password, password_hash)

    monkeypatch.setattr(service, "verify_and_rehash", spy)
    with pytest.raises(InvalidCredentialsError) as wrong_password:
        service.sign_in(session=db, email=user.email, password="not my password", ip=new_ip())
    with pytest.raises(InvalidCredentialsError) as unknown_email:
        service.sign_in(session=db, email=unique_email(), password=PASSWORD, ip=new_ip())
    assert wrong_password.value.message == unknown_email.value.message == "Email or password is incorrect."
    # Both paths did one Argon2 verification; the unknown email against the dummy hash.
    assert checked == [user.password_hash, dummy_hash()]


def test_account_without_password_cannot_sign_in_with_one(db: Session) -> None:
    user = make_user(db, password_hash=None)
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(session=db, email=user.email, password="", ip=new_ip())


def test_failures_from_other_addresses_never_lock_the_owner_out(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    owner_ip, attacker_ip = new_ip(), new_ip()
    free = ratelimit.SIGN_IN_BACKOFF.free
    # An attacker hammering the email from one address, then from thirty others.
    for _ in range(free):
        with pytest.raises(InvalidCredentialsError):
            service.sign_in(session=db, email=user.email, password="wrong guess", ip=attacker_ip)
    with pytest.raises(RateLimitedError):
        service.sign_in(session=db, email=user.email, password=PASSWORD, ip=attacker_ip)
    for _ in range(30):
        with pytest.raises(InvalidCredentialsError):
            service.sign_in(session=db, email=user.email, password="wrong guess", ip=new_ip())
    # The owner, from their own address, is let straight in.
    assert service.sign_in(session=db, email=user.email, password=PASSWORD, ip=owner_ip).id == user.id


def test_sign_in_back_off_grows_and_is_cleared_by_success_or_a_reset(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    ip = new_ip()
    rule = ratelimit.SIGN_IN_BACKOFF
    key = ratelimit.email_ip_key(user.email, ip)

    def fail_at(minutes_ago: float) -> None:
        db.add(AuthAttempt(scope=rule.scope, key=key, created_at=utcnow() - timedelta(minutes=minutes_ago)))
        db.flush()

    for _ in range(rule.free - 1):
        fail_at(60)
    service.sign_in(session=db, email=user.email, password=PASSWORD, ip=ip)  # under the limit; clears
    for _ in range(rule.free):
        fail_at(10)
    # Ten minutes after the fifth failure the 30 s wait is long over.
    service.sign_in(session=db, email=user.email, password=PASSWORD, ip=ip)
    for _ in range(rule.free + 4):  # four failures past the free ones: 30 s × 2⁴ = 8 min
        fail_at(5)
    with pytest.raises(RateLimitedError) as waited:
        service.sign_in(session=db, email=user.email, password=PASSWORD, ip=ip)
    assert 170 <= waited.value.retry_after_seconds <= 180
    fail_at(0)  # one more: 16 min from now
    with pytest.raises(RateLimitedError) as longer:
        service.sign_in(session=db, email=user.email, password=PASSWORD, ip=ip)
    assert 950 <= longer.value.retry_after_seconds <= 960
    # The emailed reset link proves the inbox and lifts the back-off everywhere.
    service.request_password_reset(session=db, email=user.email, ip=ip, sender=outbox)
    service.reset_password(session=db, token=outbox.token("reset-password"), new_password=NEW_PASSWORD)
    assert service.sign_in(session=db, email=user.email, password=NEW_PASSWORD, ip=ip).id == user.id


def test_sign_in_is_limited_per_ip(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        ratelimit, "SIGN_IN_PER_IP", ratelimit.RateLimit("signin_ip", 3, timedelta(minutes=15))
    )
    ip = new_ip()
    for _ in range(3):
        with pytest.raises(InvalidCredentialsError):
            service.sign_in(session=db, email=unique_email(), password=PASSWORD, ip=ip)
    with pytest.raises(RateLimitedError):
        service.sign_in(session=db, email=unique_email(), password=PASSWORD, ip=ip)


def test_sign_in_refreshes_admin_role(db: Session, outbox: Outbox, monkeypatch: pytest.MonkeyPatch) -> None:
    user = sign_up(db, outbox)
    service.verify_email(session=db, token=outbox.token("verify-email"))
    monkeypatch.setenv("FLUENTIO_ADMIN_EMAILS", user.email)
    get_settings.cache_clear()
    assert service.sign_in(session=db, email=user.email, password=PASSWORD, ip=new_ip()).role == "admin"
    monkeypatch.setenv("FLUENTIO_ADMIN_EMAILS", "")
    get_settings.cache_clear()
    assert service.sign_in(session=db, email=user.email, password=PASSWORD, ip=new_ip()).role == "learner"


def test_sign_in_upgrades_a_weak_hash(db: Session) -> None:
    weak = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8192),)).hash(PASSWORD)
    user = make_user(db, password_hash=weak)
    service.sign_in(session=db, email=user.email, password=PASSWORD, ip=new_ip())
    assert user.password_hash != weak and verify_password(PASSWORD, user.password_hash or "")


# --- email verification ---------------------------------------------------------------


def test_verify_email_flow(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    token = outbox.token("verify-email")
    verified = service.verify_email(session=db, token=token)
    assert verified.id == user.id and verified.email_verified_at is not None
    with pytest.raises(InvalidTokenError):
        service.verify_email(session=db, token=token)


def test_resend_verification_replaces_the_link(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    first = outbox.token("verify-email")
    service.resend_verification(session=db, user_id=user.id, sender=outbox)
    second = outbox.token("verify-email")
    assert first != second and len(outbox.messages) == 2
    with pytest.raises(InvalidTokenError):
        service.verify_email(session=db, token=first)
    service.verify_email(session=db, token=second)
    with pytest.raises(AuthError, match="already verified"):
        service.resend_verification(session=db, user_id=user.id, sender=outbox)


def test_resend_verification_is_limited(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    for _ in range(ratelimit.VERIFY_RESEND_PER_USER.limit):
        service.resend_verification(session=db, user_id=user.id, sender=outbox)
    with pytest.raises(RateLimitedError):
        service.resend_verification(session=db, user_id=user.id, sender=outbox)


def test_resend_verification_reports_delivery_failure(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    with pytest.raises(AuthError, match="could not send"):
        service.resend_verification(session=db, user_id=user.id, sender=FailingSender())


# --- password reset and change ---------------------------------------------------------


def test_reset_request_is_neutral_for_unknown_email(db: Session, outbox: Outbox) -> None:
    service.request_password_reset(session=db, email=unique_email(), ip=new_ip(), sender=outbox)
    assert outbox.messages == []


def test_reset_request_is_limited_even_for_unknown_email(db: Session, outbox: Outbox) -> None:
    email = unique_email()
    for _ in range(ratelimit.RESET_PER_EMAIL.limit):
        service.request_password_reset(session=db, email=email, ip=new_ip(), sender=outbox)
    with pytest.raises(RateLimitedError):
        service.request_password_reset(session=db, email=email, ip=new_ip(), sender=outbox)


def test_reset_password_flow(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    sessions = [login(db, user), login(db, user)]
    service.request_password_reset(session=db, email=user.email, ip=new_ip(), sender=outbox)
    assert outbox.messages[-1]["Subject"] == "Reset your password"
    token = outbox.token("reset-password")

    # A refused password does not use the link up.
    with pytest.raises(WeakPasswordError):
        service.reset_password(session=db, token=token, new_password="qwerty123")
    reset = service.reset_password(session=db, token=token, new_password=NEW_PASSWORD)

    assert reset.id == user.id and reset.email_verified_at is not None
    assert all(resolve_login_session(session=db, token=t) is None for t in sessions)
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(session=db, email=user.email, password=PASSWORD, ip=new_ip())
    service.sign_in(session=db, email=user.email, password=NEW_PASSWORD, ip=new_ip())
    with pytest.raises(InvalidTokenError):
        service.reset_password(session=db, token=token, new_password="yet another one")


def test_verification_link_cannot_reset_a_password(db: Session, outbox: Outbox) -> None:
    sign_up(db, outbox)
    with pytest.raises(InvalidTokenError):
        service.reset_password(session=db, token=outbox.token("verify-email"), new_password=NEW_PASSWORD)


def test_change_password(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    here, elsewhere = login(db, user), login(db, user)
    with pytest.raises(InvalidCredentialsError, match="current password"):
        service.change_password(
            session=db,
            ip="10.9.9.9",
            user_id=user.id,
            current_password="nope nope",
            new_password=NEW_PASSWORD,
        )
    with pytest.raises(WeakPasswordError):
        service.change_password(
            session=db, ip="10.9.9.9", user_id=user.id, current_password=PASSWORD, new_password="short"
        )
    with pytest.raises(WeakPasswordError, match="different"):
        service.change_password(
            session=db, ip="10.9.9.9", user_id=user.id, current_password=PASSWORD, new_password=PASSWORD
        )
    service.change_password(
        session=db,
        ip="10.9.9.9",
        user_id=user.id,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        keep_token=here,
    )
    assert resolve_login_session(session=db, token=here) is not None
    assert resolve_login_session(session=db, token=elsewhere) is None
    service.sign_in(session=db, email=user.email, password=NEW_PASSWORD, ip=new_ip())


def test_change_password_without_one_points_to_reset(db: Session) -> None:
    user = make_user(db, password_hash=None)
    with pytest.raises(AuthError, match="Forgot password"):
        service.change_password(
            session=db, ip="10.9.9.9", user_id=user.id, current_password="", new_password=NEW_PASSWORD
        )


# --- profile ------------------------------------------------------------------------------


def test_update_profile(db: Session) -> None:
    user = make_user(db)
    updated = service.update_profile(session=db, user_id=user.id, display_name=" Grace ", level="c1")
    assert (updated.display_name, level_for(db, user.id, "en")) == ("Grace", "C1")
    with pytest.raises(InvalidInputError, match="A1 and C2"):
        service.update_profile(session=db, user_id=user.id, display_name="Grace", level="D1")
    with pytest.raises(InvalidInputError):
        service.update_profile(session=db, user_id=user.id, display_name="g" * 101, level="B2")
    with pytest.raises(AccountNotFoundError):
        service.update_profile(session=db, user_id=uuid.uuid4(), display_name="x", level="B2")


# --- deletion -----------------------------------------------------------------------------


def _practice_with_feedback(db: Session, user: User) -> tuple[PracticeSession, uuid.UUID]:
    practice = PracticeSession(
        user_id=user.id,
        topic="travel",
        level="B1",
        target_vocabulary=["itinerary"],
        instructions="Practise 'itinerary' with the learner.",
    )
    db.add(practice)
    db.flush()
    item = TranscriptItem(session_id=practice.id, seq=1, speaker="learner", text="I goed to Paris.")
    feedback = Feedback(session_id=practice.id, status="done", suggestions=["Use 'went'."])
    db.add_all([item, feedback])
    db.flush()
    db.add(
        Correction(
            feedback_id=feedback.id,
            position=0,
            original="I goed",
            corrected="I went",
            transcript_item_id=item.id,
        )
    )
    db.flush()
    ledger.spend(
        session=db,
        user_id=user.id,
        millicredits=500,
        reason=LedgerReason.SESSION_USAGE,
        idempotency_key=f"test:{uuid.uuid4()}",
        actor=Actor.SYSTEM,
        practice_session_id=practice.id,
    )
    return practice, feedback.id


def _count(db: Session, column: Any, value: object) -> int:
    return db.exec(select(func.count()).where(col(column) == value)).one()


def test_delete_account_scrubs_person_and_keeps_accounting(db: Session, outbox: Outbox) -> None:
    email = unique_email()
    user = sign_up(db, outbox, email=email)
    service.verify_email(session=db, token=outbox.token("verify-email"))  # the welcome credits
    token = login(db, user)
    db.add(OAuthIdentity(user_id=user.id, provider="google", subject=f"sub-{uuid.uuid4()}", email=email))
    service.update_profile(session=db, user_id=user.id, display_name="Del", level="C1", target_language="es")
    assert _count(db, LearnerLevel.user_id, user.id) == 1
    practice, feedback_id = _practice_with_feedback(db, user)
    payment = Payment(
        user_id=user.id,
        provider_payment_id=f"pay_{uuid.uuid4().hex}",
        customer_email=email,
        status="succeeded",
    )
    db.add(payment)
    db.flush()
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(session=db, email=email, password="wrong guess", ip=new_ip())
    entries_before = _count(db, LedgerEntry.user_id, user.id)
    assert entries_before == 2

    service.delete_account(session=db, user_id=user.id)

    scrubbed = db.get(User, user.id)
    assert scrubbed is not None and scrubbed.deleted_at is not None
    assert scrubbed.email == f"deleted-{user.id}@deleted.invalid"
    assert (scrubbed.display_name, scrubbed.password_hash, scrubbed.email_verified_at) == ("", None, None)
    assert _count(db, LoginSession.user_id, user.id) == 0
    assert _count(db, OAuthIdentity.user_id, user.id) == 0
    assert _count(db, LearnerLevel.user_id, user.id) == 0
    assert _count(db, EmailToken.user_id, user.id) == 0
    assert _count(db, TranscriptItem.session_id, practice.id) == 0
    assert _count(db, Feedback.session_id, practice.id) == 0
    assert _count(db, Correction.feedback_id, feedback_id) == 0
    assert _count(db, AuthAttempt.key, email) == 0
    kept = db.get(PracticeSession, practice.id)
    assert kept is not None and kept.topic == "travel" and kept.target_vocabulary == []
    assert kept.instructions == ""
    kept_payment = db.get(Payment, payment.id)
    assert kept_payment is not None and kept_payment.customer_email == "" and kept_payment.user_id == user.id
    assert _count(db, LedgerEntry.user_id, user.id) == entries_before

    assert resolve_login_session(session=db, token=token) is None
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(session=db, email=email, password=PASSWORD, ip=new_ip())
    with pytest.raises(AccountNotFoundError):
        service.update_profile(session=db, user_id=user.id, display_name="x", level="B1")
    service.delete_account(session=db, user_id=user.id)  # twice is harmless
    # The address is free again for a brand-new account.
    assert sign_up(db, outbox, email=email).id != user.id


def test_reset_request_for_deleted_account_sends_nothing(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    email = user.email
    service.delete_account(session=db, user_id=user.id)
    sent = len(outbox.messages)
    service.request_password_reset(session=db, email=email, ip=new_ip(), sender=outbox)
    assert len(outbox.messages) == sent


def test_deleting_needs_the_password_or_a_fresh_sign_in(db: Session, outbox: Outbox) -> None:
    user = sign_up(db, outbox)
    token = login(db, user)
    for wrong in ("", "not my password"):
        with pytest.raises(InvalidCredentialsError):
            service.confirm_identity(
                session=db, user_id=user.id, password=wrong, login_token=token, ip=new_ip()
            )
    assert (
        service.confirm_identity(
            session=db, user_id=user.id, password=PASSWORD, login_token=token, ip=new_ip()
        ).id
        == user.id
    )

    # Google/Apple only: a session cookie is not enough unless it is minutes old.
    social = make_user(db, password_hash=None)
    old = login(db, social)
    login_row = db.exec(select(LoginSession).where(LoginSession.user_id == social.id)).one()
    login_row.created_at = utcnow() - service.RECENT_SIGN_IN - timedelta(seconds=1)
    db.add(login_row)
    db.flush()
    with pytest.raises(AuthError, match="sign in again"):
        service.confirm_identity(session=db, user_id=social.id, password="", login_token=old, ip=new_ip())
    with pytest.raises(AuthError, match="sign in again"):  # someone else's fresh session
        service.confirm_identity(session=db, user_id=social.id, password="", login_token=token, ip=new_ip())
    fresh = login(db, social)
    assert (
        service.confirm_identity(
            session=db, user_id=social.id, password="", login_token=fresh, ip=new_ip()
        ).id
        == social.id
    )
