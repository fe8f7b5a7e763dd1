"""The account use cases: sign up, sign in, verify email, reset or change a password,
edit the profile, delete the account.

Each use case is one unit of work and commits it, including on the failure paths that
must leave a trace: a wrong password is counted by the rate limiter even though the
call then raises. The building blocks it calls only flush. Emails are sent after the
commit, so a slow or failing mail server never holds a transaction open or undoes a
sign-up; the message says how the person can get a new link.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select, update

from fluentio import languages
from fluentio.auth import levels, ratelimit
from fluentio.auth.email import (
    EmailSender,
    account_exists_email,
    get_email_sender,
    reset_password_email,
    verification_email,
)
from fluentio.auth.errors import (
    AccountNotFoundError,
    AuthError,
    EmailDeliveryError,
    InvalidCredentialsError,
    InvalidInputError,
    WeakPasswordError,
)
from fluentio.auth.passwords import dummy_hash, hash_password, password_problem, verify_and_rehash
from fluentio.auth.roles import apply_listed_role, role_for
from fluentio.auth.sessions import resolve_login_session, revoke_all_login_sessions
from fluentio.auth.tokens import check_email_token, consume_email_token, issue_email_token
from fluentio.billing.ledger import ensure_signup_bonus
from fluentio.classroom import lifecycle
from fluentio.levels import LEVELS
from fluentio.models.auth import (
    EmailToken,
    EmailTokenPurpose,
    LoginSession,
    OAuthIdentity,
    Role,
    User,
)
from fluentio.models.base import utcnow
from fluentio.models.billing import Payment
from fluentio.models.tutor import Correction, Feedback, PracticeSession
from fluentio.placement import service as placements

logger = logging.getLogger(__name__)

# Deliberately loose: one @, something on each side, a dot in the domain. The real
# check is the verification email.
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_EMAIL_LENGTH = 320
MAX_DISPLAY_NAME_LENGTH = 100
# How fresh a sign-in must be to stand in for the password (accounts without one).
RECENT_SIGN_IN = timedelta(minutes=5)


# --- Validation -------------------------------------------------------------------


def normalise_email(email: str) -> str:
    """The address stripped and lower-cased, or InvalidInputError if it is not one."""
    email = (email or "").strip().lower()
    if not email:
        raise InvalidInputError("Enter your email address.")
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL_SHAPE.match(email):
        raise InvalidInputError("Enter a valid email address, like name@example.com.")
    return email


def _clean_display_name(display_name: str) -> str:
    name = " ".join((display_name or "").split())  # also folds newlines and tabs
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidInputError(f"Keep your name to {MAX_DISPLAY_NAME_LENGTH} characters or fewer.")
    return name


def _check_password(password: str, *, email: str) -> None:
    problem = password_problem(password, email=email)
    if problem:
        raise WeakPasswordError(problem)


def _live_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise AccountNotFoundError()
    return user


def _user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email, col(User.deleted_at).is_(None))).first()


def _send(sender: EmailSender | None, message: EmailMessage) -> bool:
    """Send, logging (never raising) a delivery failure; True if it went out."""
    try:
        (sender or get_email_sender()).send(message)
    except Exception:  # SMTP, DNS, TLS or disk errors all mean "not delivered"
        logger.exception("could not send email %r to %s", message["Subject"], message["To"])
        return False
    return True


# --- Sign up and sign in ------------------------------------------------------------


def sign_up(
    *,
    session: Session,
    email: str,
    password: str,
    display_name: str,
    ip: str,
    sender: EmailSender | None = None,
    next_path: str = "",
) -> User | None:
    """Create an account and send the verification email.

    The welcome credits and any admin role wait for the verification (`mark_verified`),
    so a throw-away or someone else's address earns nothing.

    If the address already has an account, its owner gets an email saying so (with the
    way in) and None is returned: the form answers "check your inbox" either way, after
    the same password hashing, so it does not reveal which emails have accounts. The
    verification link carries `next_path`, where the new learner was going.
    """
    email = normalise_email(email)
    name = _clean_display_name(display_name)
    _check_password(password, email=email)
    ratelimit.check_limit(session=session, rule=ratelimit.SIGN_UP_PER_IP, key=ip)
    ratelimit.record_attempt(session=session, scope=ratelimit.SIGN_UP_PER_IP.scope, keys=[ip])
    password_hash = hash_password(password)
    existing = _user_by_email(session, email)
    if existing is not None:
        session.commit()  # keep the counted attempt
        _tell_owner_account_exists(sender, existing)
        return None
    user = User(
        email=email, display_name=name, role=role_for(email, verified=False), password_hash=password_hash
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        # Lost a race with a simultaneous sign-up for the same address: that one made it.
        session.rollback()
        raced = _user_by_email(session, email)
        if raced is not None:
            _tell_owner_account_exists(sender, raced)
        return None
    token = issue_email_token(session=session, user_id=user.id, purpose=EmailTokenPurpose.VERIFY_EMAIL)
    session.commit()
    logger.info("account %s signed up", user.id)
    _send(
        sender,
        verification_email(to=user.email, display_name=user.display_name, token=token, next_path=next_path),
    )
    return user


def _tell_owner_account_exists(sender: EmailSender | None, user: User) -> None:
    if user.deleted_at is None:
        _send(sender, account_exists_email(to=user.email, display_name=user.display_name))


def sign_in(*, session: Session, email: str, password: str, ip: str) -> User:
    """The user whose email and password these are, or InvalidCredentialsError.

    An unknown email, a deleted account, an account without a password and a wrong
    password all give the same message after the same Argon2 work, so the form does
    not reveal which emails have accounts.
    """
    email = normalise_email(email)
    backoff_key = ratelimit.email_ip_key(email, ip)
    ratelimit.check_backoff(session=session, rule=ratelimit.SIGN_IN_BACKOFF, key=backoff_key)
    ratelimit.check_limit(session=session, rule=ratelimit.SIGN_IN_PER_IP, key=ip)
    user = _user_by_email(session, email)
    if user is not None and user.password_hash:
        ok, upgraded_hash = verify_and_rehash(password, user.password_hash)
    else:
        verify_and_rehash(password, dummy_hash())
        ok, upgraded_hash = False, None
    if not ok or user is None:
        ratelimit.record_attempt(session=session, scope=ratelimit.SIGN_IN_BACKOFF.scope, keys=[backoff_key])
        ratelimit.record_attempt(session=session, scope=ratelimit.SIGN_IN_PER_IP.scope, keys=[ip])
        session.commit()
        raise InvalidCredentialsError()
    ratelimit.clear_attempts(session=session, scope=ratelimit.SIGN_IN_BACKOFF.scope, keys=[backoff_key])
    if upgraded_hash:
        user.password_hash = upgraded_hash
    # FLUENTIO_ADMIN_EMAILS is the source of truth for admins: adding or removing an
    # address takes effect at that person's next sign-in.
    apply_listed_role(user)
    user.last_login_at = utcnow()
    session.add(user)
    session.commit()
    return user


# --- Email verification ----------------------------------------------------------------


def verify_email(*, session: Session, token: str) -> User:
    """Mark the address of the link's account as verified (InvalidTokenError if not)."""
    user = consume_email_token(session=session, token=token, purpose=EmailTokenPurpose.VERIFY_EMAIL)
    mark_verified(session=session, user=user)
    session.commit()
    return user


def mark_verified(*, session: Session, user: User) -> None:
    """The person proved they own the address: record it, grant the welcome credits
    (once) and the admin role if the address is listed. Flushes only."""
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    apply_listed_role(user)
    session.add(user)
    session.flush()
    ensure_signup_bonus(session=session, user_id=user.id)


def resend_verification(*, session: Session, user_id: uuid.UUID, sender: EmailSender | None = None) -> None:
    """Send a fresh verification link (the previous one stops working)."""
    user = _live_user(session, user_id)
    if user.email_verified_at is not None:
        raise AuthError("Your email address is already verified.")
    ratelimit.check_limit(session=session, rule=ratelimit.VERIFY_RESEND_PER_USER, key=str(user.id))
    ratelimit.record_attempt(
        session=session, scope=ratelimit.VERIFY_RESEND_PER_USER.scope, keys=[str(user.id)]
    )
    token = issue_email_token(session=session, user_id=user.id, purpose=EmailTokenPurpose.VERIFY_EMAIL)
    session.commit()
    # The person is signed in and waiting for this email, so say so if it failed.
    if not _send(sender, verification_email(to=user.email, display_name=user.display_name, token=token)):
        raise EmailDeliveryError()


# --- Passwords --------------------------------------------------------------------------


def request_password_reset(
    *, session: Session, email: str, ip: str, sender: EmailSender | None = None
) -> None:
    """Email a reset link if the address has an account; behave the same if it has not.

    Limits count per email whether or not it exists, so the limit itself reveals nothing.
    A delivery failure is only logged: reporting it would reveal that the account exists.
    """
    email = normalise_email(email)
    ratelimit.check_limit(session=session, rule=ratelimit.RESET_PER_EMAIL, key=email)
    ratelimit.check_limit(session=session, rule=ratelimit.RESET_PER_IP, key=ip)
    ratelimit.record_attempt(session=session, scope=ratelimit.RESET_PER_EMAIL.scope, keys=[email])
    ratelimit.record_attempt(session=session, scope=ratelimit.RESET_PER_IP.scope, keys=[ip])
    user = _user_by_email(session, email)
    token = (
        issue_email_token(session=session, user_id=user.id, purpose=EmailTokenPurpose.RESET_PASSWORD)
        if user is not None
        else None
    )
    session.commit()
    if user is not None and token is not None:
        _send(sender, reset_password_email(to=user.email, display_name=user.display_name, token=token))


def reset_password(*, session: Session, token: str, new_password: str) -> User:
    """Set a new password from a reset link, verify the email, and log out everywhere.

    A rejected password leaves the link usable, so the person can try another one.
    """
    user = check_email_token(session=session, token=token, purpose=EmailTokenPurpose.RESET_PASSWORD)
    _check_password(new_password, email=user.email)
    consume_email_token(session=session, token=token, purpose=EmailTokenPurpose.RESET_PASSWORD)
    user.password_hash = hash_password(new_password)
    # Opening the link proves control of the inbox, which is what verification means.
    mark_verified(session=session, user=user)
    revoke_all_login_sessions(session=session, user_id=user.id)
    # Earlier failed sign-ins were possibly the owner forgetting the password.
    ratelimit.clear_email_everywhere(session=session, scope=ratelimit.SIGN_IN_BACKOFF.scope, email=user.email)
    session.commit()
    logger.info("account %s reset its password", user.id)
    return user


def change_password(
    *,
    session: Session,
    user_id: uuid.UUID,
    current_password: str,
    new_password: str,
    ip: str,
    keep_token: str | None = None,
) -> None:
    """Replace the password after checking the current one; every other browser is
    logged out (the one holding `keep_token` stays signed in)."""
    user = _live_user(session, user_id)
    if not user.password_hash:
        raise AuthError(
            "Your account has no password yet. Use “Forgot password” on the login page to set one."
        )
    check_current_password(session=session, user=user, password=current_password, ip=ip)
    _check_password(new_password, email=user.email)
    if new_password == current_password:
        raise WeakPasswordError("Choose a new password that is different from your current one.")
    user.password_hash = hash_password(new_password)
    session.add(user)
    revoke_all_login_sessions(session=session, user_id=user.id, except_token=keep_token)
    session.commit()
    logger.info("account %s changed its password", user.id)


def check_current_password(*, session: Session, user: User, password: str, ip: str) -> None:
    """InvalidCredentialsError unless `password` is the user's. A wrong one counts like a
    failed sign-in from this address, so a borrowed session cannot guess it at leisure."""
    key = ratelimit.email_ip_key(user.email, ip)
    ratelimit.check_backoff(session=session, rule=ratelimit.SIGN_IN_BACKOFF, key=key)
    if not user.password_hash or not verify_and_rehash(password, user.password_hash)[0]:
        ratelimit.record_attempt(session=session, scope=ratelimit.SIGN_IN_BACKOFF.scope, keys=[key])
        session.commit()
        raise InvalidCredentialsError("Your current password is incorrect.")


def confirm_identity(
    *, session: Session, user_id: uuid.UUID, password: str, login_token: str | None, ip: str
) -> User:
    """Ask again before an account-wide change (deleting it): the password when the
    account has one, else a sign-in (Google or Apple) within the last few minutes. A
    session cookie alone is not enough: a page that drives someone's open tab, or a
    borrowed laptop, must not be able to erase the account."""
    user = _live_user(session, user_id)
    if user.password_hash:
        check_current_password(session=session, user=user, password=password, ip=ip)
        return user
    resolved = resolve_login_session(session=session, token=login_token or "")
    if resolved is None or resolved[0].id != user.id or utcnow() - resolved[1].created_at > RECENT_SIGN_IN:
        minutes = int(RECENT_SIGN_IN.total_seconds() // 60)
        raise AuthError(
            "For your safety, log out and sign in again with Google or Apple, then do this "
            f"within {minutes} minutes."
        )
    return user


# --- Profile and deletion ------------------------------------------------------------------


def update_profile(
    *,
    session: Session,
    user_id: uuid.UUID,
    display_name: str,
    level: str,
    target_language: str | None = None,
    explanation_language: str | None = None,
) -> User:
    """Name, the level in the language practised (after this change) and, when given, the
    languages practised and explained in; the only writer of `users.target_language` and
    `users.explanation_language`. Other languages' levels are left as they are."""
    user = _live_user(session, user_id)
    level = (level or "").strip().upper()
    if level not in LEVELS:
        raise InvalidInputError("Choose a level between A1 and C2.")
    for code in (target_language, explanation_language):
        if code is not None and not languages.is_supported(code):
            raise InvalidInputError("Choose a language from the list.")
    user.display_name = _clean_display_name(display_name)
    if target_language is not None:
        user.target_language = languages.get_language(target_language).code
    if explanation_language is not None:
        user.explanation_language = languages.get_language(explanation_language).code
    levels.set_level(session=session, user_id=user.id, language=user.target_language, level=level)
    session.add(user)
    session.commit()
    return user


def delete_account(*, session: Session, user_id: uuid.UUID) -> None:
    """Erase the person and keep the accounting.

    Removed: login sessions, the levels per language, linked Google/Apple identities, email
    links, rate-limit rows keyed by the email, every transcript and every piece of feedback
    (with its corrections). The user row stays, scrubbed, because ledger entries, payments
    and practice sessions point at it with RESTRICT foreign keys. Practice sessions stay
    too, as the record of what credits were spent on: their topic, level, duration and token
    counts are kept; the learner's chosen vocabulary and the tutor instructions built from
    it are cleared, and payments lose the payer's email. Deleting twice is harmless.
    """
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        return
    old_email = user.email
    practice_ids = select(PracticeSession.id).where(PracticeSession.user_id == user_id)
    feedback_ids = select(Feedback.id).where(col(Feedback.session_id).in_(practice_ids))
    # Children first, explicitly, rather than trusting ON DELETE CASCADE to be enforced.
    session.exec(delete(Correction).where(col(Correction.feedback_id).in_(feedback_ids)))
    session.exec(delete(Feedback).where(col(Feedback.session_id).in_(practice_ids)))
    lifecycle.scrub_learner(session=session, user_id=user_id)
    levels.scrub_learner(session=session, user_id=user_id)
    placements.scrub_learner(session=session, user_id=user_id)
    # Payments stay for accounting, without the payer's email.
    session.exec(update(Payment).where(col(Payment.user_id) == user_id).values(customer_email=""))
    session.exec(delete(LoginSession).where(col(LoginSession.user_id) == user_id))
    session.exec(delete(OAuthIdentity).where(col(OAuthIdentity.user_id) == user_id))
    session.exec(delete(EmailToken).where(col(EmailToken.user_id) == user_id))
    ratelimit.clear_attempts_for_key(session=session, key=old_email)
    ratelimit.clear_email_everywhere(session=session, scope=ratelimit.SIGN_IN_BACKOFF.scope, email=old_email)
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.display_name = ""
    user.password_hash = None
    user.email_verified_at = None
    user.last_login_at = None
    user.role = Role.LEARNER.value
    user.deleted_at = utcnow()
    session.add(user)
    session.commit()
    # The ORM may still hold the deleted children in its identity map.
    session.expire_all()
    logger.info("account %s deleted", user_id)
