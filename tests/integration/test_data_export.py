""" "Download my data" over HTTP with real session cookies against PostgreSQL: the owner
gets every one of their rows and nobody else's; another learner gets only their own;
visitors without a live session get no bytes at all."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.routing import Route

from fluentio.api.export_routes import EXPORT_PATH, download_my_data
from fluentio.auth import levels
from fluentio.auth.cookies import SESSION_COOKIE
from fluentio.auth.service import delete_account
from fluentio.auth.sessions import create_login_session, revoke_login_session
from fluentio.billing import ledger
from fluentio.models.billing import Actor, LedgerEntry, LedgerReason, Payment, PaymentStatus
from fluentio.settings import get_settings
from tests.support.databases import session_on
from tests.support.factories import make_user
from tests.support.feedback_data import add_feedback, add_practice_session


@dataclass
class Learner:
    id: uuid.UUID
    email: str
    token: str
    session_ids: list[str]
    payment_ids: list[str]
    secret_line: str


def make_learner(url: str, name: str) -> Learner:
    """A learner with two sessions (one analysed), a grant, a spend and a payment; their
    own lines carry a marker word so any leak into another archive is visible."""
    secret = f"My secret word is {name}-{uuid.uuid4().hex[:6]}"
    with session_on(url) as session:
        user = make_user(session, display_name=name.title(), english_level="C1")
        levels.set_level(session=session, user_id=user.id, language="es", level="A2")
        first = add_practice_session(session, user_id=user.id, learner_lines=[secret, "I go to market"])
        add_feedback(session, first, corrections=2)
        second = add_practice_session(
            session, user_id=user.id, learner_lines=["Hello there"], topic="job_interview"
        )
        ledger.grant(
            session=session,
            user_id=user.id,
            millicredits=30_000,
            reason=LedgerReason.SIGNUP_BONUS,
            actor=Actor.SYSTEM,
            idempotency_key=f"test-signup:{user.id}",
        )
        ledger.spend(
            session=session,
            user_id=user.id,
            millicredits=2_500,
            reason=LedgerReason.SESSION_USAGE,
            idempotency_key=f"test-usage:{first.id}",
            actor=Actor.SYSTEM,
            practice_session_id=first.id,
        )
        payment = Payment(
            user_id=user.id,
            provider_payment_id=f"pay_{uuid.uuid4().hex[:12]}",
            pack_id="starter",
            credits=60,
            amount_cents=500,
            status=PaymentStatus.SUCCEEDED.value,
            customer_email=user.email,
        )
        session.add(payment)
        session.flush()
        token = create_login_session(session=session, user_id=user.id, user_agent="tests", ip="127.0.0.1")
        session.commit()
        return Learner(user.id, user.email, token, [str(first.id), str(second.id)], [str(payment.id)], secret)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> Iterator[Starlette]:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    get_settings.cache_clear()
    yield Starlette(routes=[Route(EXPORT_PATH, download_my_data)])


async def download(app: Starlette, token: str | None) -> httpx.Response:
    cookies = {SESSION_COOKIE: token} if token else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app", cookies=cookies
    ) as client:
        return await client.get(EXPORT_PATH)


def unpack(response: httpx.Response) -> dict[str, bytes]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="fluentio-data-')
    assert response.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def assert_no_trace_of(files: dict[str, bytes], other: Learner) -> None:
    for name, content in files.items():
        text = content.decode()
        for trace in (str(other.id), other.email, other.secret_line, *other.session_ids, *other.payment_ids):
            assert trace not in text, f"{name} holds {trace!r} of another learner"


async def test_the_owner_gets_all_their_rows_and_only_theirs(app: Starlette, pg_url: str) -> None:
    owner = make_learner(pg_url, "ada")
    other = make_learner(pg_url, "bob")

    files = unpack(await download(app, owner.token))

    profile = json.loads(files["profile.json"])
    assert profile["email"] == owner.email
    assert profile["credit_balance"] == 27.5
    assert [(row["language"], row["level"]) for row in profile["levels"]] == [("en", "C1"), ("es", "A2")]
    assert "password_hash" not in files["profile.json"].decode()
    sessions = json.loads(files["sessions.json"])
    assert sorted(s["id"] for s in sessions) == sorted(owner.session_ids)
    analysed = next(s for s in sessions if s["feedback"] is not None)
    assert len(analysed["feedback"]["corrections"]) == 2
    assert analysed["feedback"]["corrections"][0]["corrected"] == "I went to the market"
    assert any(turn["text"] == owner.secret_line for turn in analysed["transcript"])
    with session_on(pg_url) as session:
        owned_entries = session.exec(select(LedgerEntry).where(LedgerEntry.user_id == owner.id)).all()
    ledger_rows = json.loads(files["ledger.json"])
    assert len(ledger_rows) == len(owned_entries) == 2
    assert sorted(row["credits"] for row in ledger_rows) == [-2.5, 30.0]
    assert [p["id"] for p in json.loads(files["payments.json"])] == owner.payment_ids
    transcripts = sorted(name for name in files if name.startswith("transcripts/"))
    assert len(transcripts) == 2
    readable = "".join(files[name].decode() for name in transcripts)
    assert f"You: {owner.secret_line}" in readable
    assert "Tutor: Hello! What did you do yesterday?" in readable
    assert "README.txt" in files
    assert_no_trace_of(files, other)


async def test_another_learner_gets_only_their_own(app: Starlette, pg_url: str) -> None:
    owner = make_learner(pg_url, "cy")
    other = make_learner(pg_url, "dee")

    files = unpack(await download(app, other.token))

    assert json.loads(files["profile.json"])["email"] == other.email
    assert sorted(s["id"] for s in json.loads(files["sessions.json"])) == sorted(other.session_ids)
    assert_no_trace_of(files, owner)


@pytest.mark.parametrize("who", ["anonymous", "forged cookie", "logged out", "deleted account"])
async def test_no_live_session_gets_no_bytes(app: Starlette, pg_url: str, who: str) -> None:
    learner = make_learner(pg_url, "eve")
    token: str | None = learner.token
    if who == "anonymous":
        token = None
    elif who == "forged cookie":
        token = "not-a-real-session-token"
    with session_on(pg_url) as session:
        if who == "logged out":
            assert revoke_login_session(session=session, token=learner.token)
        if who == "deleted account":
            delete_account(session=session, user_id=learner.id)
        session.commit()

    response = await download(app, token)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"
    assert response.headers["cache-control"] == "no-store"
    assert response.content == b""
