"""Who is an administrator: the one rule, used at sign-up, sign-in, verification and by
every admin check.

An address listed in FLUENTIO_ADMIN_EMAILS becomes an admin only once its owner has
proved they control the inbox (a verification link, a password-reset link, or a Google
or Apple sign-in with a verified email). Until then anyone could register the owner's
address first and walk into the back office. The checks also require a verified email,
so a role written into the database by hand (or left from before this rule) grants
nothing on an unverified account.
"""

from __future__ import annotations

from fluentio.models.auth import Role, User
from fluentio.settings import get_settings


def role_for(email: str, *, verified: bool) -> str:
    """The role FLUENTIO_ADMIN_EMAILS gives this address (learner until it is verified)."""
    listed = email in get_settings().admin_email_set
    return (Role.ADMIN if listed and verified else Role.LEARNER).value


def apply_listed_role(user: User) -> None:
    """Set the user's role from FLUENTIO_ADMIN_EMAILS and whether their email is verified."""
    user.role = role_for(user.email, verified=user.email_verified_at is not None)


def is_admin(user: User | None) -> bool:
    """True for a live admin with a verified email."""
    return (
        user is not None
        and user.deleted_at is None
        and user.email_verified_at is not None
        and user.role == Role.ADMIN.value
    )
