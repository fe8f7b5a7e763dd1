"""Sign a user into a running app quickly: a real user row and login session in the app's
database, and the session cookie set on a Playwright context (or returned for httpx)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fluentio.auth.cookies import SESSION_COOKIE
from fluentio.auth.sessions import create_login_session
from fluentio.models import Role
from fluentio.models.billing import MILLICREDITS_PER_CREDIT
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.factories import give_credits, make_user


@dataclass
class SignedIn:
    user_id: uuid.UUID
    email: str
    token: str

    @property
    def cookies(self) -> dict[str, str]:
        return {SESSION_COOKIE: self.token}


def signed_in_user(
    app: RunningApp,
    *,
    credits: int = 30,
    role: Role | str = Role.LEARNER,
    display_name: str = "Test Learner",
    english_level: str | None = None,
) -> SignedIn:
    """A verified user with `credits` credits and a live login session in `app`'s database."""
    with session_on(app.database_url) as session:
        user = make_user(session, role=role, display_name=display_name, english_level=english_level)
        give_credits(session, user.id, credits * MILLICREDITS_PER_CREDIT)
        token = create_login_session(session=session, user_id=user.id, user_agent="tests", ip="127.0.0.1")
        session.commit()
        return SignedIn(user.id, user.email, token)


def add_session_cookie(context: Any, app: RunningApp, who: SignedIn) -> None:
    """Put `who`'s session cookie on a Playwright browser context."""
    host = urlsplit(app.base_url).hostname
    context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": who.token,
                "domain": host,
                "path": "/",
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
