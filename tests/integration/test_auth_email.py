"""Email delivery for real: a local SMTP server (aiosmtpd) and the outbox fallback.

The flows go through `get_email_sender()`, i.e. the same settings a deployment uses.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import Session

from fluentio.auth import service
from fluentio.auth.email import OutboxEmailSender, SmtpEmailSender, first_link, get_email_sender
from fluentio.auth.errors import InvalidCredentialsError
from fluentio.auth.sessions import create_login_session, resolve_login_session
from fluentio.settings import get_settings
from tests.support.app_server import free_port
from tests.support.factories import unique_email

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

PASSWORD = "blue kettle sings"
NEW_PASSWORD = "green teapot hums"
PUBLIC_URL = "https://fluentio.example.test"
SMTP_USER, SMTP_PASSWORD = "mailer", "p@ss:word/1"


@dataclass
class Inbox:
    """What the SMTP server accepted, parsed."""

    url: str
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def token(self, path: str, to: str) -> str:
        mine = [m for m in self.messages if m["To"] == to]
        assert mine, f"no email for {to}"
        body = mine[-1].get_body(preferencelist=("plain",))
        assert body is not None
        match = re.search(rf"{re.escape(PUBLIC_URL)}/{path}\?token=([A-Za-z0-9_-]+)", body.get_content())
        assert match, body.get_content()
        return match.group(1)


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    # handled=False makes the server answer 535 itself (by default it would stay silent).
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 that requires a login, with SMTP_URL pointing at it."""
    port = free_port()
    url = f"smtp://{SMTP_USER}:p%40ss%3Aword%2F1@127.0.0.1:{port}"
    inbox = Inbox(url=url)
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=False,  # a test server on loopback has no certificate
    )
    controller.start()
    monkeypatch.setenv("SMTP_URL", url)
    monkeypatch.setenv("SMTP_FROM", "Fluentio <hello@fluentio.example.test>")
    monkeypatch.setenv("FLUENTIO_PUBLIC_URL", PUBLIC_URL + "/")
    get_settings.cache_clear()
    try:
        yield inbox
    finally:
        controller.stop()


def ip() -> str:
    return f"192.0.2.{uuid.uuid4().int % 250}"


def test_settings_pick_smtp(smtp_inbox: Inbox) -> None:
    sender = get_email_sender()
    assert isinstance(sender, SmtpEmailSender)
    assert (sender.host, sender.username, sender.password) == ("127.0.0.1", SMTP_USER, SMTP_PASSWORD)


def test_sign_up_and_verify_over_smtp(db: Session, smtp_inbox: Inbox) -> None:
    email = unique_email()
    user = service.sign_up(session=db, email=email, password=PASSWORD, display_name="Ada", ip=ip())
    assert user.email_verified_at is None

    [message] = smtp_inbox.messages
    assert message["Subject"] == "Verify your email"
    assert message["From"] == "Fluentio <hello@fluentio.example.test>"
    assert smtp_inbox.envelopes == [("hello@fluentio.example.test", [email])]
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "verify-email?token=" in html.get_content()

    token = smtp_inbox.token("verify-email", email)
    assert service.verify_email(session=db, token=token).email_verified_at is not None


def test_password_reset_over_smtp(db: Session, smtp_inbox: Inbox) -> None:
    email = unique_email()
    user = service.sign_up(session=db, email=email, password=PASSWORD, display_name="", ip=ip())
    browsers = [
        create_login_session(session=db, user_id=user.id, user_agent=agent, ip="192.0.2.1")
        for agent in ("laptop", "phone")
    ]
    db.commit()

    service.request_password_reset(session=db, email=email.upper(), ip=ip())
    assert [m["Subject"] for m in smtp_inbox.messages] == ["Verify your email", "Reset your password"]
    token = smtp_inbox.token("reset-password", email)
    service.reset_password(session=db, token=token, new_password=NEW_PASSWORD)

    assert all(resolve_login_session(session=db, token=b) is None for b in browsers)
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(session=db, email=email, password=PASSWORD, ip=ip())
    signed_in = service.sign_in(session=db, email=email, password=NEW_PASSWORD, ip=ip())
    assert signed_in.id == user.id and signed_in.email_verified_at is not None


def test_reset_for_unknown_email_sends_nothing_over_smtp(db: Session, smtp_inbox: Inbox) -> None:
    service.request_password_reset(session=db, email=unique_email(), ip=ip())
    assert smtp_inbox.messages == []


def test_wrong_smtp_credentials_do_not_break_sign_up(
    db: Session, smtp_inbox: Inbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SMTP_URL", smtp_inbox.url.replace(SMTP_USER, "intruder"))
    get_settings.cache_clear()
    with caplog.at_level(logging.ERROR, logger="fluentio.auth.service"):
        user = service.sign_up(session=db, email=unique_email(), password=PASSWORD, display_name="", ip=ip())
    assert user.id is not None and smtp_inbox.messages == []
    assert "could not send email" in caplog.text
    assert "token=" not in caplog.text


def test_outbox_fallback_writes_eml_and_logs_link(
    db: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = tmp_path / "outbox"
    monkeypatch.delenv("SMTP_URL", raising=False)
    monkeypatch.setenv("FLUENTIO_OUTBOX_DIR", str(outbox))
    monkeypatch.setenv("FLUENTIO_PUBLIC_URL", PUBLIC_URL)
    get_settings.cache_clear()
    assert isinstance(get_email_sender(), OutboxEmailSender)

    email = unique_email()
    with caplog.at_level(logging.INFO, logger="fluentio.auth.email"):
        service.sign_up(session=db, email=email, password=PASSWORD, display_name="Ada", ip=ip())

    [eml] = list(outbox.glob("*.eml"))
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == email and message["Subject"] == "Verify your email"
    link = first_link(message)
    assert link is not None and link.startswith(f"{PUBLIC_URL}/verify-email?token=")
    [record] = [r for r in caplog.records if r.name == "fluentio.auth.email"]
    assert record.levelno == logging.INFO
    assert (
        email in record.getMessage()
        and link in record.getMessage()
        and "Verify your email" in record.getMessage()
    )

    token = link.split("token=", 1)[1]
    assert service.verify_email(session=db, token=token).email_verified_at is not None


def test_blank_smtp_url_means_outbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMTP_URL", "  ")
    monkeypatch.setenv("FLUENTIO_OUTBOX_DIR", str(tmp_path))
    get_settings.cache_clear()
    assert isinstance(get_email_sender(), OutboxEmailSender)


@pytest.mark.parametrize(
    ("url", "scheme", "port"),
    [
        ("smtp://mail.example.test", "smtp", 25),
        ("smtp+starttls://u:p@mail.example.test", "smtp+starttls", 587),
        ("smtps://u:p@mail.example.test", "smtps", 465),
        ("smtps://mail.example.test:2465", "smtps", 2465),
    ],
)
def test_smtp_url_forms(url: str, scheme: str, port: int) -> None:
    sender = SmtpEmailSender(url, sender="x@example.test")
    assert (sender.scheme, sender.host, sender.port) == (scheme, "mail.example.test", port)


@pytest.mark.parametrize("url", ["http://mail.example.test", "smtp://", "mail.example.test:25"])
def test_bad_smtp_url_is_explained(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL must look like"):
        SmtpEmailSender(url, sender="x@example.test")
