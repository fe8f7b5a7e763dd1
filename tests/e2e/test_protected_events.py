"""Protected Reflex events sent straight over the websocket, without a session or as a
learner, are refused: nothing changes in the database and nothing about anyone comes back.

Each refusal is paired with the same event sent by the rightful user, which does take
effect, so a refusal cannot pass just because the event never arrived.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import select

from fluentio.auth.levels import levels_for
from fluentio.auth.passwords import hash_password, verify_password
from fluentio.auth.state import AuthState
from fluentio.billing import ledger
from fluentio.models import LoginSession, OAuthIdentity, Role, User
from fluentio.pages.account import AccountState
from tests.support.app_server import RunningApp
from tests.support.databases import session_on
from tests.support.reflex_events import send_event
from tests.support.sessions import SignedIn, signed_in_user

pytestmark = pytest.mark.e2e
PASSWORD = "victim-password-42"


def snapshot(app: RunningApp, user_id: uuid.UUID) -> dict[str, object]:
    """What an attack on the account could change."""
    with session_on(app.database_url) as session:
        user = session.get(User, user_id)
        assert user is not None
        live_sessions = session.exec(
            select(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at == None)  # noqa: E711
        ).all()
        return {
            "email": user.email,
            "display_name": user.display_name,
            "levels": levels_for(session, user_id),
            "role": user.role,
            "password_hash": user.password_hash,
            "deleted_at": user.deleted_at,
            "sessions": len(live_sessions),
            "identities": len(
                session.exec(select(OAuthIdentity).where(OAuthIdentity.user_id == user_id)).all()
            ),
            "balance": ledger.balance(session=session, user_id=user_id),
            "ledger": len(ledger.history(session=session, user_id=user_id, limit=1000)),
        }


@pytest.fixture
def victim(app_server: RunningApp) -> SignedIn:
    """A signed-in learner with a password, whose account the attacks aim at."""
    who = signed_in_user(app_server, credits=12, display_name="Victoria Victim", english_level="B2")
    with session_on(app_server.database_url) as session:
        user = session.get(User, who.user_id)
        assert user is not None
        user.password_hash = hash_password(PASSWORD)
        session.add(user)
        session.commit()
    return who


TO_LOGIN = ["/login?next=/account"]
# (id, handler, payload, what an anonymous sender is told: a redirect to log in, or nothing)
ATTACKS: list[tuple[str, Any, dict[str, Any], list[str]]] = [
    ("load", AccountState.load, {}, []),
    (
        "profile",
        AccountState.save_profile,
        {"form": {"display_name": "Mallory", "level": "C2"}},
        TO_LOGIN,
    ),
    (
        "password",
        AccountState.change_password,
        {"form": {"current_password": PASSWORD, "new_password": "mallory-owns-this-1"}},
        TO_LOGIN,
    ),
    ("resend", AccountState.resend_verification, {}, TO_LOGIN),
    ("delete", AccountState.delete_account, {"form": {"confirm": "DELETE"}}, TO_LOGIN),
]


@pytest.mark.parametrize(
    ("handler", "payload", "redirects"), [pytest.param(*rest, id=name) for name, *rest in ATTACKS]
)
@pytest.mark.parametrize(
    "cookie", [None, "not-a-session-token", "revoked"], ids=["no-cookie", "forged-cookie", "revoked-cookie"]
)
def test_account_events_without_a_live_session_are_refused(
    app_server: RunningApp,
    victim: SignedIn,
    handler: Any,
    payload: dict[str, Any],
    redirects: list[str],
    cookie: str | None,
) -> None:
    if cookie == "revoked":
        revoked = signed_in_user(app_server)
        with session_on(app_server.database_url) as session:
            for row in session.exec(select(LoginSession).where(LoginSession.user_id == revoked.user_id)):
                session.delete(row)
            session.commit()
        cookie = revoked.token
    before = snapshot(app_server, victim.user_id)

    reply = send_event(
        app_server,
        handler,
        payload,
        cookies={"fluentio_session": cookie} if cookie else None,
        path="/account",
    )

    assert snapshot(app_server, victim.user_id) == before
    assert reply.redirects == redirects
    for secret in (victim.email, "Victoria Victim", "12 credits", str(victim.user_id)):
        assert secret not in reply.text
    assert not reply.values(AccountState).get("email")
    assert all("/account" not in s and "account_deleted" not in s for s in reply.scripts)


def test_the_same_events_work_for_the_signed_in_owner(app_server: RunningApp, victim: SignedIn) -> None:
    """The control: with the owner's cookie, the events above reach the handlers and act."""
    reply = send_event(app_server, AccountState.load, cookies=victim.cookies, path="/account")
    assert reply.values(AccountState)["email"] == victim.email

    send_event(
        app_server,
        AccountState.save_profile,
        {"form": {"display_name": "Victoria V.", "level": "C1"}},
        cookies=victim.cookies,
        path="/account",
    )
    send_event(
        app_server,
        AccountState.change_password,
        {"form": {"current_password": PASSWORD, "new_password": "a-new-password-42"}},
        cookies=victim.cookies,
        path="/account",
    )
    after = snapshot(app_server, victim.user_id)
    assert (after["display_name"], after["levels"]["en"]) == ("Victoria V.", "C1")  # type: ignore[index]
    assert isinstance(after["password_hash"], str) and verify_password(
        "a-new-password-42", after["password_hash"]
    )

    # The victim's own live session is not enough to erase the account: it takes the password.
    for form in ({"confirm": "DELETE"}, {"confirm": "DELETE", "password": PASSWORD}):
        refused = send_event(app_server, AccountState.delete_account, {"form": form}, cookies=victim.cookies)
        assert not refused.scripts
        assert "password" in str(refused.values(AccountState).get("delete_error", "")).lower()
        assert snapshot(app_server, victim.user_id)["deleted_at"] is None
    reply = send_event(
        app_server,
        AccountState.delete_account,
        {"form": {"confirm": "DELETE", "password": "a-new-password-42"}},
        cookies=victim.cookies,
    )
    assert any("account_deleted" in s for s in reply.scripts)
    assert snapshot(app_server, victim.user_id)["deleted_at"] is not None


def test_a_learner_cannot_use_another_learners_account(app_server: RunningApp, victim: SignedIn) -> None:
    """A learner's own cookie only ever reaches the learner's own account."""
    mallory = signed_in_user(app_server, display_name="Mallory")
    before = snapshot(app_server, victim.user_id)
    for _name, handler, payload, _redirects in ATTACKS:
        if handler is AccountState.delete_account:
            continue  # would delete Mallory's own account, which is allowed
        reply = send_event(app_server, handler, payload, cookies=mallory.cookies, path="/account")
        assert victim.email not in reply.text and "Victoria Victim" not in reply.text
    assert snapshot(app_server, victim.user_id) == before


def test_admin_events_refuse_anonymous_visitors_and_learners(app_server: RunningApp) -> None:
    anonymous = send_event(app_server, AuthState.require_admin, path="/admin")
    assert anonymous.redirects and anonymous.redirects[0].startswith("/login?next=")
    assert anonymous.values(AuthState).get("is_admin") is not True

    learner = signed_in_user(app_server)
    as_learner = send_event(app_server, AuthState.require_admin, cookies=learner.cookies, path="/admin")
    values = as_learner.values(AuthState)
    assert values["forbidden"] is True and values["is_admin"] is False
    assert as_learner.redirects == []

    admin = signed_in_user(app_server, role=Role.ADMIN)
    as_admin = send_event(app_server, AuthState.require_admin, cookies=admin.cookies, path="/admin")
    assert as_admin.values(AuthState)["forbidden"] is False
    assert as_admin.values(AuthState)["is_admin"] is True
