"""Sending email: over SMTP when SMTP_URL is set, otherwise into a local outbox folder.

SMTP_URL forms: `smtp://user:pass@host:port` (plain, port 25), `smtp+starttls://…`
(upgraded with STARTTLS, port 587) and `smtps://…` (TLS from the start, port 465).
The outbox writes each message as an .eml file and logs its link, so that sign-up and
password reset work on a laptop with no mail server at all.
"""

from __future__ import annotations

import html
import logging
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlencode, urlsplit

from fluentio.settings import get_settings

logger = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 15.0
_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_LINK = re.compile(r"https?://\S+")


class EmailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpEmailSender:
    """Delivers through an SMTP server named by an `smtp://`, `smtp+starttls://` or
    `smtps://` URL (user and password percent-encoded in the URL if needed)."""

    def __init__(self, url: str, *, sender: str, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                "SMTP_URL must look like smtp://user:pass@host:port, smtp+starttls://… or smtps://…"
            )
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = self.sender
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.scheme == "smtp+starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        logger.info("email %r sent over SMTP to %s", message["Subject"], message["To"])


class OutboxEmailSender:
    """Writes each message to `<directory>/<time>-<id>.eml` and logs where its link goes."""

    def __init__(self, directory: Path, *, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = self.sender
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(message.as_bytes())
        # Deliberately logs the link: with no mail server this is how a local user gets it.
        logger.info(
            "email (outbox, SMTP_URL unset) to %s, subject %r, link: %s, saved to %s",
            message["To"],
            message["Subject"],
            first_link(message) or "-",
            path,
        )


def first_link(message: EmailMessage) -> str | None:
    """The first http(s) link of the message's plain-text body."""
    body = message.get_body(preferencelist=("plain",))
    if body is None:
        return None
    match = _LINK.search(body.get_content())
    return match.group(0) if match else None


def get_email_sender() -> EmailSender:
    """SMTP when SMTP_URL is set, otherwise the outbox folder."""
    settings = get_settings()
    if settings.smtp_url is not None:
        return SmtpEmailSender(settings.smtp_url.get_secret_value(), sender=settings.smtp_from)
    return OutboxEmailSender(Path(settings.outbox_dir), sender=settings.smtp_from)


def verification_link(token: str, next_path: str = "") -> str:
    """The link that verifies the address and signs in, then goes to `next_path` (if given)."""
    query = {"token": token, **({"next": next_path} if next_path else {})}
    return f"{get_settings().public_url}/verify-email?{urlencode(query)}"


def reset_link(token: str) -> str:
    return f"{get_settings().public_url}/reset-password?{urlencode({'token': token})}"


@dataclass(frozen=True)
class _Wording:
    """Every Fluentio email has one shape: a greeting, a paragraph, one link (a button in
    the HTML part, the bare address in the text part) and a footnote."""

    subject: str
    button: str
    paragraph: str
    footnote: str

    def to(self, address: str, display_name: str, link: str) -> EmailMessage:
        greeting = f"Hi {display_name}," if display_name.strip() else "Hi,"
        href = html.escape(link, quote=True)
        message = EmailMessage()
        message["To"] = address
        message["From"] = get_settings().smtp_from
        message["Subject"] = self.subject
        message["Message-ID"] = make_msgid(domain="fluentio")
        message.set_content(f"{greeting}\n\n{self.paragraph}\n\n{link}\n\n{self.footnote}\n")
        message.add_alternative(
            '<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5">'
            f"<p>{html.escape(greeting)}</p><p>{html.escape(self.paragraph)}</p>"
            f'<p><a href="{href}" style="display:inline-block;padding:10px 18px;background:#4f46e5;'
            f'color:#fff;border-radius:6px;text-decoration:none">{html.escape(self.button)}</a></p>'
            f'<p>Or paste this link into your browser:<br><a href="{href}">{href}</a></p>'
            f'<p style="color:#666">{html.escape(self.footnote)}</p>'
            "</body></html>",
            subtype="html",
        )
        return message


def verification_email(*, to: str, display_name: str, token: str, next_path: str = "") -> EmailMessage:
    link = verification_link(token, next_path)
    paragraph = "Please confirm that this is your email address for Fluentio."
    footnote = "The link works for 24 hours. If you did not sign up for Fluentio, ignore this email."
    wording = _Wording("Verify your email", "Verify my email", paragraph, footnote)
    return wording.to(to, display_name, link)


def account_exists_email(*, to: str, display_name: str) -> EmailMessage:
    """Someone signed up with an address that already has an account: tell its owner,
    and how to get in, instead of telling the person at the form."""
    link = f"{get_settings().public_url}/login"
    paragraph = (
        "Someone — probably you — tried to create a Fluentio account with this email address, "
        "but you already have one. Log in here; if you forgot your password, choose "
        "“Forgot password?” on the login page."
    )
    footnote = "If it wasn't you, ignore this email: nothing has changed on your account."
    wording = _Wording("You already have a Fluentio account", "Log in", paragraph, footnote)
    return wording.to(to, display_name, link)


def reset_password_email(*, to: str, display_name: str, token: str) -> EmailMessage:
    link = reset_link(token)
    paragraph = "Someone asked to reset the password of your Fluentio account. Choose a new one here:"
    footnote = (
        "The link works for 1 hour and only once. If you did not ask for this, ignore this "
        "email: your password stays as it is."
    )
    wording = _Wording("Reset your password", "Choose a new password", paragraph, footnote)
    return wording.to(to, display_name, link)


def goal_reminder_email(
    *,
    to: str,
    display_name: str,
    minutes_done: int,
    weekly_minutes: int,
    days_left: int,
    unsubscribe_link: str,
) -> EmailMessage:
    """The weekly-goal reminder, with a one-click unsubscribe (RFC 8058 headers)."""
    link = f"{get_settings().public_url}/classroom"
    days = "today is the last day" if days_left <= 1 else f"{days_left} days are left"
    paragraph = (
        f"You have practised {minutes_done} of your {weekly_minutes} minutes this week, and {days}. "
        "A short lesson now keeps you on track."
    )
    footnote = f"You asked for goal reminders. To stop them, open {unsubscribe_link}"
    wording = _Wording("Your weekly speaking goal", "Start a lesson", paragraph, footnote)
    message = wording.to(to, display_name, link)
    # Mail clients show their own "Unsubscribe" and POST to this address in one click.
    message["List-Unsubscribe"] = f"<{unsubscribe_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message
