""" "Download my data": one zip of everything Fluentio keeps about a learner.

The archive holds `profile.json`, `sessions.json` (each session with its transcript,
feedback and corrections), `ledger.json`, `payments.json`, one readable text file per
transcript under `transcripts/`, and a `README.txt` saying what each file is.

Only ever one user's rows: every query is scoped to the `user_id` the caller resolved
from the server session. The zip is written as it is read (`stream_archive` yields its
bytes chunk by chunk), so a long history never sits in memory as one archive; session
rows are read a page at a time. Internal call-control fields (the tutor's instructions,
provider ids, token counts, cost estimates) are the business's, not the learner's, and
are left out.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from fluentio.auth.levels import export_levels
from fluentio.billing import ledger
from fluentio.feedback.history import topic_title
from fluentio.models import Feedback, OAuthIdentity, PracticeSession, User
from fluentio.models.billing import MILLICREDITS_PER_CREDIT, LedgerEntry, Payment
from fluentio.models.tutor import Correction, TranscriptItem
from fluentio.placement import service as placements

SESSION_BATCH = 50
README = """Your Fluentio data, exported {exported}.

profile.json    your account: email, name, your level in each language, sign-in methods, dates
sessions.json   every practice session with its transcript, feedback and corrections
ledger.json     every credit movement (1 credit = 1 minute; amounts in credits)
payments.json   every payment for credit packs
transcripts/    each conversation as plain text, one file per session

Times are in UTC (ISO 8601).
"""


class NoSuchAccountError(LookupError):
    """The user is gone (deleted between sign-in and download)."""


def archive_name(now: datetime) -> str:
    return f"fluentio-data-{now:%Y-%m-%d}.zip"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _credits(millicredits: int) -> float:
    return millicredits / MILLICREDITS_PER_CREDIT


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode()


def profile(session: Session, user: User) -> dict[str, Any]:
    identities = session.exec(select(OAuthIdentity).where(OAuthIdentity.user_id == user.id)).all()
    return {
        "email": user.email,
        "display_name": user.display_name,
        "levels": export_levels(session, user.id),
        "target_language": user.target_language,
        "explanation_language": user.explanation_language,
        "role": user.role,
        "email_verified_at": _iso(user.email_verified_at),
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
        "sign_in_methods": (["email and password"] if user.password_hash else [])
        + [identity.provider for identity in identities],
        "credit_balance": _credits(ledger.balance(session=session, user_id=user.id)),
    }


def ledger_entries(session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    entries = session.exec(
        select(LedgerEntry).where(LedgerEntry.user_id == user_id).order_by(col(LedgerEntry.created_at))
    ).all()
    return [
        {
            "at": _iso(entry.created_at),
            "credits": _credits(entry.millicredits),
            "description": ledger.describe(entry),
            "reason": entry.reason,
            "note": entry.note,
            "session_id": str(entry.practice_session_id) if entry.practice_session_id else None,
            "payment_id": str(entry.payment_id) if entry.payment_id else None,
        }
        for entry in entries
    ]


def payments(session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Payment).where(col(Payment.user_id) == user_id).order_by(col(Payment.created_at))
    ).all()
    return [
        {
            "id": str(payment.id),
            "at": _iso(payment.created_at),
            "pack": payment.pack_id,
            "credits": payment.credits,
            "amount": payment.amount_cents / 100,
            "currency": payment.currency,
            "status": payment.status,
            "refunded": payment.refunded_cents / 100,
            "provider": payment.provider,
            "provider_payment_id": payment.provider_payment_id,
        }
        for payment in rows
    ]


def _feedback(session: Session, practice_id: uuid.UUID) -> dict[str, Any] | None:
    found = session.exec(select(Feedback).where(Feedback.session_id == practice_id)).first()
    if found is None:
        return None
    corrections = session.exec(
        select(Correction).where(Correction.feedback_id == found.id).order_by(col(Correction.position))
    ).all()
    return {
        "status": found.status,
        "completed_at": _iso(found.completed_at),
        "estimated_level": found.cefr_level,
        "summary": found.summary,
        "recurring_patterns": found.bad_patterns,
        "suggestions": found.suggestions,
        "new_words": found.new_words,
        "words_per_minute": found.words_per_minute,
        "talk_share": found.talk_share,
        "turns": found.turns,
        "learner_words": found.learner_words,
        "corrections": [
            {
                "category": c.category,
                "original": c.original,
                "corrected": c.corrected,
                "explanation": c.explanation,
            }
            for c in corrections
        ],
    }


def _session_record(session: Session, practice: PracticeSession) -> tuple[dict[str, Any], str]:
    """One session as JSON and its transcript as readable text."""
    items = session.exec(
        select(TranscriptItem)
        .where(TranscriptItem.session_id == practice.id)
        .order_by(col(TranscriptItem.seq))
    ).all()
    turns = [
        {
            "speaker": item.speaker,
            "text": item.text,
            "started_ms": item.started_ms,
            "ended_ms": item.ended_ms,
            "cut_off": item.truncated,
        }
        for item in items
    ]
    record = {
        "id": str(practice.id),
        "topic": topic_title(practice.topic),
        "level": practice.level,
        "language": practice.language,
        "explanation_language": practice.explanation_language,
        "target_vocabulary": practice.target_vocabulary,
        "status": practice.status,
        "created_at": _iso(practice.created_at),
        "started_at": _iso(practice.started_at),
        "ended_at": _iso(practice.ended_at),
        "end_reason": practice.end_reason,
        "billable_seconds": practice.billable_seconds,
        "credits_charged": _credits(practice.charged_millicredits),
        "transcript": turns,
        "feedback": _feedback(session, practice.id),
        "placement": placements.export_record(session=session, practice_session_id=practice.id),
    }
    return record, transcript_text(record)


def transcript_text(record: dict[str, Any]) -> str:
    started = record["started_at"] or record["created_at"]
    lines = [f"{record['topic']} · level {record['level']} · {started} UTC", ""]
    for turn in record["transcript"]:
        speaker = "You" if turn["speaker"] == "learner" else "Tutor"
        cut = " [interrupted]" if turn["cut_off"] else ""
        lines.append(f"{speaker}: {turn['text']}{cut}")
    if not record["transcript"]:
        lines.append("(No words were recorded in this session.)")
    return "\n".join(lines) + "\n"


def transcript_filename(record: dict[str, Any]) -> str:
    moment = datetime.fromisoformat(record["created_at"])
    slug = re.sub(r"[^a-z0-9]+", "-", record["topic"].lower()).strip("-") or "session"
    return f"transcripts/{moment:%Y-%m-%d_%H%M}_{slug}_{record['id'][:8]}.txt"


def _sessions(session: Session, user_id: uuid.UUID) -> Iterator[PracticeSession]:
    offset = 0
    while True:
        batch = session.exec(
            select(PracticeSession)
            .where(PracticeSession.user_id == user_id)
            .order_by(col(PracticeSession.created_at), col(PracticeSession.id))
            .offset(offset)
            .limit(SESSION_BATCH)
        ).all()
        yield from batch
        if len(batch) < SESSION_BATCH:
            return
        offset += SESSION_BATCH


class _Pipe(io.RawIOBase):
    """A write-only, unseekable sink that zipfile writes to and the response drains."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def stream_archive(session: Session, *, user_id: uuid.UUID, now: datetime) -> Iterator[bytes]:
    """The learner's archive, yielded file by file. Raises NoSuchAccountError at once
    (before any byte is sent) if the account no longer exists."""
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NoSuchAccountError(str(user_id))
    return _archive_chunks(session, user, now)


def _archive_chunks(session: Session, user: User, now: datetime) -> Iterator[bytes]:
    user_id = user.id
    pipe = _Pipe()
    # zipfile notices the sink cannot seek and writes sizes after each file's data.
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(exported=now.isoformat()))
        archive.writestr("profile.json", _json(profile(session, user)))
        yield pipe.drain()
        records = []
        for practice in _sessions(session, user_id):
            record, text = _session_record(session, practice)
            records.append(record)
            archive.writestr(transcript_filename(record), text)
            yield pipe.drain()
        archive.writestr("sessions.json", _json(records))
        archive.writestr("ledger.json", _json(ledger_entries(session, user_id)))
        archive.writestr("payments.json", _json(payments(session, user_id)))
    yield pipe.drain()
