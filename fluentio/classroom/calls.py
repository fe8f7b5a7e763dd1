"""Starting, joining, ending and watching live calls: the service the classroom page uses.

Two signalling modes (FLUENTIO_REALTIME_SIGNALING):

- relay (default): the browser posts its SDP offer to our `/api/realtime/calls`; the
  server checks the learner and their credits, builds the session config, posts offer
  and config to `{OPENAI_BASE_URL}/realtime/calls` with the server key, keeps the call id
  from the answer's Location header and returns the answer SDP. The key never leaves
  the server, and no call can exist that the server did not start.
- ephemeral (the article's flow): the server mints a short-lived client secret with the
  session config; the browser posts its offer to the provider itself and reports the
  call id, which the server then follows. A secret can open calls until it expires
  (60 s here), so a tampered browser could open a call it never reports: that is why
  relay is the default.

Either way the server follows the call over the sideband (supervisor.py), meters it and
finalises it exactly once. Every refusal is a `CallRefused` with a plain-language message.
"""

from __future__ import annotations

import logging
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import openai
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fluentio.billing import ledger
from fluentio.billing.ledger import format_credits
from fluentio.classroom import errors, recovery, supervisor
from fluentio.classroom.errors import CallRefused
from fluentio.classroom.instructions import MAX_VOCABULARY, build_instructions
from fluentio.classroom.realtime_config import AudioSetup, build_session_config
from fluentio.classroom.scenarios import DEFAULT_SCENARIO_ID, LEVELS, get_scenario
from fluentio.clock import format_duration
from fluentio.db import session_scope
from fluentio.feedback.patterns import recurring_patterns
from fluentio.models import PracticeSession, SessionStatus, TranscriptItem, User
from fluentio.models.base import utcnow
from fluentio.models.billing import MILLICREDITS_PER_CREDIT
from fluentio.settings import Settings, get_settings
from fluentio.vocabulary.lesson import lesson_words

logger = logging.getLogger(__name__)

MAX_SDP_BYTES = 64 * 1024
MAX_WORD_LENGTH = 40
EPHEMERAL_TTL_SECONDS = 60
# A learner whose browser gave up within this long of connecting, before either side
# said anything, is not charged (the call never really started for them).
ABANDON_GRACE_SECONDS = 10
# Starts per learner per hour: every start opens a provider call (and costs us tokens
# even when it ends for free), so an endless loop of starts is refused.
MAX_STARTS_PER_HOUR = 20
START_WINDOW = timedelta(hours=1)
_CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_SDP_LINE = re.compile(r"^[a-z]=[^\x00-\x08\x0b-\x1f\x7f]*$")
_REASON = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True)
class StartedCall:
    """A relayed call: the answer for the browser, and ids to follow it."""

    session_id: str
    call_id: str
    answer_sdp: str
    simulated: bool


@dataclass(frozen=True)
class EphemeralGrant:
    """What the browser needs to open the call itself (ephemeral signalling)."""

    session_id: str
    client_secret: str
    expires_at: int  # Unix seconds
    calls_url: str
    simulated: bool


@dataclass(frozen=True)
class CallStatus:
    """What the classroom page shows while it polls (each second)."""

    status: str  # starting | live | ended | failed
    seconds_connected: int
    seconds_left: int  # what the balance buys, minus this call's time so far
    low_balance: bool  # a minute or less left
    end_reason: str | None
    ended_message: str  # plain words once ended/failed, else ""
    charged_millicredits: int


# ------------------------------------------------------------------ start: relay


async def start_relay_call(
    *,
    user_id: uuid.UUID | None,
    offer_sdp: str | bytes,
    level: str | None,
    topic: str | None,
    vocabulary: str | Sequence[str] | None,
    audio_setup: str | None = None,
) -> StartedCall:
    """Relay the browser's offer to the provider and return its answer (see module doc)."""
    offer = check_offer_sdp(offer_sdp)
    settings = get_settings()
    session_id, config = _open_session(
        user_id=user_id,
        level=level,
        topic=topic,
        vocabulary=vocabulary,
        audio_setup=audio_setup,
        signaling="relay",
        settings=settings,
    )
    try:
        client = supervisor.provider_client(settings=settings)
        raw = await client.realtime.calls.with_raw_response.create(sdp=offer, session=config)
        answer = raw.text
        call_id = _call_id_from_location(raw.headers.get("location"))
    except openai.OpenAIError as exc:
        refusal = _provider_refusal(exc)
        supervisor.finalise_session(session_id, reason=refusal.code, charge=False)
        raise refusal from None
    if call_id is None or not answer.startswith("v="):
        logger.warning("provider answered call %s without a usable call id or SDP", session_id)
        if call_id is not None:
            await supervisor.hangup(call_id)
        supervisor.finalise_session(session_id, reason="provider_error", charge=False)
        raise _provider_error()
    _record_call_id(session_id, call_id)
    assert user_id is not None
    supervisor.start_supervision(session_id=session_id, user_id=user_id, call_id=call_id)
    return StartedCall(str(session_id), call_id, answer, settings.openai_simulated)


# -------------------------------------------------------------- start: ephemeral


async def mint_ephemeral(
    *,
    user_id: uuid.UUID | None,
    level: str | None,
    topic: str | None,
    vocabulary: str | Sequence[str] | None,
    audio_setup: str | None = None,
) -> EphemeralGrant:
    """Check the learner, open a session and mint a one-minute client secret for it."""
    settings = get_settings()
    session_id, config = _open_session(
        user_id=user_id,
        level=level,
        topic=topic,
        vocabulary=vocabulary,
        audio_setup=audio_setup,
        signaling="ephemeral",
        settings=settings,
    )
    try:
        client = supervisor.provider_client(settings=settings)
        secret = await client.realtime.client_secrets.create(
            expires_after={"anchor": "created_at", "seconds": EPHEMERAL_TTL_SECONDS},
            session=config,
        )
    except openai.OpenAIError as exc:
        refusal = _provider_refusal(exc)
        supervisor.finalise_session(session_id, reason=refusal.code, charge=False)
        raise refusal from None
    return EphemeralGrant(
        session_id=str(session_id),
        client_secret=secret.value,
        expires_at=int(secret.expires_at),
        calls_url=f"{settings.openai_url}/realtime/calls",
        simulated=settings.openai_simulated,
    )


async def attach_call(*, user_id: uuid.UUID | None, session_id: uuid.UUID | str, call_id: str) -> None:
    """Ephemeral signalling: the browser reports the call it opened; follow it."""
    if user_id is None:
        raise errors.not_signed_in()
    if not isinstance(call_id, str) or not _CALL_ID.match(call_id):
        raise CallRefused("bad_request", "That call id is not valid. Start the lesson again.", 400)
    sid = _parse_id(session_id)
    with session_scope() as session:
        row = _owned_row(session, user_id, sid)
        if row.provider_call_id == call_id and supervisor.get_supervisor(sid) is not None:
            return  # reported twice
        if row.status != SessionStatus.STARTING.value or row.provider_call_id is not None:
            raise CallRefused("not_startable", "This lesson can no longer be joined. Start a new one.", 409)
        row.provider_call_id = call_id
        session.add(row)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise CallRefused(
                "call_id_used", "That call is already attached to another lesson. Start a new one.", 409
            ) from None
    supervisor.start_supervision(session_id=sid, user_id=user_id, call_id=call_id)


# ------------------------------------------------------------------- end / abandon


async def end_call(
    *, user_id: uuid.UUID | None, session_id: uuid.UUID | str, reason: str = supervisor.END_BY_LEARNER
) -> None:
    """Hang up and finalise the call (charged for the connected time). Idempotent."""
    if user_id is None:
        raise errors.not_signed_in()
    sid = _parse_id(session_id)
    reason = _clean_reason(reason, supervisor.END_BY_LEARNER)
    with session_scope() as session:
        row = _owned_row(session, user_id, sid)
        status, call_id = row.status, row.provider_call_id
    if status not in supervisor.OPEN_STATUSES:
        return
    running = supervisor.get_supervisor(sid)
    if running is not None:
        await running.stop(reason)
    elif call_id is not None:
        await supervisor.hangup(call_id)
    # Also covers a session nobody follows (never attached, or its supervisor is gone).
    supervisor.finalise_session(sid, reason=reason)


async def end_open_calls(*, user_id: uuid.UUID, reason: str) -> int:
    """Hang up and finalise every call the learner still has open (e.g. before their
    account is deleted). Returns how many there were."""
    with session_scope() as session:
        open_ids = list(
            session.exec(
                select(PracticeSession.id).where(
                    PracticeSession.user_id == user_id,
                    col(PracticeSession.status).in_(supervisor.OPEN_STATUSES),
                )
            )
        )
    for sid in open_ids:
        await end_call(user_id=user_id, session_id=sid, reason=reason)
    return len(open_ids)


def abandon_start(*, user_id: uuid.UUID | None, session_id: uuid.UUID | str, reason: str) -> None:
    """The browser failed before the call connected (microphone refused, offer failed,
    answer unusable): end the session without charging. Idempotent.

    Free only while nobody has said anything: once the tutor has produced audio (or the
    learner has spoken), or the call has been connected for longer than a few seconds,
    it is ended normally instead and charged, so a browser reporting an error cannot be
    used to be tutored for free. Token usage is stored either way. Synchronous: the
    hang-up, if one is needed, runs in the background on the running event loop.
    """
    if user_id is None:
        raise errors.not_signed_in()
    sid = _parse_id(session_id)
    reason = _clean_reason(reason, "abandoned")
    with session_scope() as session:
        row = _owned_row(session, user_id, sid)
        status, call_id, started_at = row.status, row.provider_call_id, row.started_at
        tutor_tokens = row.output_audio_tokens
        speakers = set(
            session.exec(select(TranscriptItem.speaker).where(TranscriptItem.session_id == sid).distinct())
        )
    if status not in supervisor.OPEN_STATUSES:
        return
    running = supervisor.get_supervisor(sid)
    someone_spoke = bool(speakers) or tutor_tokens > 0 or (running is not None and running.tutor_spoke)
    too_late = started_at is not None and (
        someone_spoke or utcnow() - started_at > timedelta(seconds=ABANDON_GRACE_SECONDS)
    )
    if too_late:
        if running is not None:
            running.request_end(reason)
        else:
            supervisor.finalise_session(sid, reason=reason)
        return
    # The running supervisor stores any usage that arrives after this (store_usage).
    supervisor.finalise_session(sid, reason=reason, charge=False, usage=running.usage if running else None)
    if running is not None:
        running.request_end(reason)  # hangs up; its own finalisation then finds nothing to do
    elif call_id is not None:
        supervisor.spawn_hangup(call_id)


# -------------------------------------------------------------------------- status


def call_status(*, user_id: uuid.UUID | None, session_id: uuid.UUID | str) -> CallStatus:
    """The call's state, time and remaining balance, for the page to show."""
    if user_id is None:
        raise errors.not_signed_in()
    sid = _parse_id(session_id)
    settings = get_settings()
    with session_scope() as session:
        row = _owned_row(session, user_id, sid)
        balance = ledger.balance(session=session, user_id=user_id)
    balance_seconds = balance * settings.seconds_per_credit / MILLICREDITS_PER_CREDIT
    if row.status == SessionStatus.LIVE.value and row.started_at is not None:
        running = supervisor.get_supervisor(sid)
        connected = (
            running.seconds_connected
            if running is not None and running.started_at is not None
            else (utcnow() - row.started_at).total_seconds()
        )
        left = max(0, math.floor(balance_seconds - connected))
        return CallStatus(
            status=row.status,
            seconds_connected=int(connected),
            seconds_left=left,
            low_balance=left <= supervisor.LOW_BALANCE_SECONDS or row.low_balance_warned,
            end_reason=None,
            ended_message="",
            charged_millicredits=0,
        )
    open_call = row.status in supervisor.OPEN_STATUSES
    return CallStatus(
        status=row.status,
        seconds_connected=row.billable_seconds,
        seconds_left=max(0, math.floor(balance_seconds)),
        low_balance=False,
        end_reason=row.end_reason,
        ended_message="" if open_call else ended_message(row, settings),
        charged_millicredits=row.charged_millicredits,
    )


def ended_message(row: PracticeSession, settings: Settings | None = None) -> str:
    """A sentence for the learner about how the lesson ended and what it cost."""
    settings = settings or get_settings()
    reason = row.end_reason or ""
    if row.status == SessionStatus.FAILED.value:
        if reason.startswith("provider_"):
            return _PROVIDER_MESSAGES.get(reason, _PROVIDER_MESSAGES["provider_error"])
        return "The lesson did not start, so no credits were used. Try again when you are ready."
    texts = {
        supervisor.END_BY_LEARNER: "Lesson ended.",
        supervisor.END_OUT_OF_CREDITS: (
            "Your credits ran out, so the lesson ended. Buy a credit pack to keep practising."
        ),
        supervisor.END_TIME_LIMIT: (
            f"Lessons last at most {settings.max_session_minutes} minutes, so this one ended. "
            "Start another whenever you like."
        ),
        supervisor.END_PEER_LEFT: "The connection to the tutor was lost, so the lesson ended.",
        "network_lost": "The connection to the tutor was lost, so the lesson ended.",
        supervisor.END_SERVER_SHUTDOWN: "The lesson ended because our server restarted.",
        supervisor.END_SERVER_RESTART: "The lesson ended because our server restarted.",
    }
    text = texts.get(reason, "Lesson ended.")
    cost = format_credits(row.charged_millicredits) if row.charged_millicredits else "no credits"
    return f"{text} You talked for {format_duration(row.billable_seconds)}, which used {cost}."


# ------------------------------------------------------------------ input checks


def check_offer_sdp(offer: str | bytes) -> str:
    """The browser's SDP offer as text, or a 413/400 refusal: at most 64 KiB, SDP lines
    only (`x=…`), starting with `v=0`, with an audio media line."""
    data = offer.encode("utf-8", "replace") if isinstance(offer, str) else bytes(offer)
    if len(data) > MAX_SDP_BYTES:
        raise CallRefused(
            "sdp_too_large",
            "Your browser's connection offer is too large. Reload the page and try again.",
            413,
        )
    bad = CallRefused(
        "bad_sdp",
        "Your browser sent a connection offer we could not read (it needs a microphone "
        "track). Reload the page and try again.",
        400,
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise bad from None
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0" or not all(_SDP_LINE.match(line) for line in lines):
        raise bad
    if not any(line.startswith("m=audio ") for line in lines):
        raise bad
    return text


def parse_vocabulary(value: str | Sequence[str] | None) -> list[str]:
    """Target words from "a, b" or a list: trimmed, de-duplicated, at most 10 of at
    most 40 characters each (else a 400 saying so)."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    words: list[str] = []
    for item in items:
        word = " ".join(str(item).split())
        if not word or word.lower() in (w.lower() for w in words):
            continue
        if len(word) > MAX_WORD_LENGTH:
            raise CallRefused(
                "bad_request", f"Target words can be at most {MAX_WORD_LENGTH} characters long.", 400
            )
        words.append(word)
    if len(words) > MAX_VOCABULARY:
        raise CallRefused("bad_request", f"Choose at most {MAX_VOCABULARY} target words.", 400)
    return words


# ---------------------------------------------------------------------- internals


def _open_session(
    *,
    user_id: uuid.UUID | None,
    level: str | None,
    topic: str | None,
    vocabulary: str | Sequence[str] | None,
    audio_setup: str | None,
    signaling: str,
    settings: Settings,
) -> tuple[uuid.UUID, Any]:
    """Check the learner and their input, and create the session (status starting)."""
    if user_id is None:
        raise errors.not_signed_in()
    topic = (topic or "").strip() or DEFAULT_SCENARIO_ID
    if get_scenario(topic) is None:
        raise CallRefused("bad_request", "That topic is not in the list. Pick one from the classroom.", 400)
    words = parse_vocabulary(vocabulary)
    level = (level or "").strip().upper()
    if level and level not in LEVELS:
        raise CallRefused("bad_request", "Choose a level from A1 to C2.", 400)

    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None or user.deleted_at is not None:
            raise errors.not_signed_in()
    # A call of this learner's that nobody follows any more (its server died) is billed
    # and closed first: it frees the "one live call" slot, and its cost counts below.
    recovery.finalise_stale_calls(user_id=user_id)
    with session_scope() as session:
        if ledger.balance(session=session, user_id=user_id) <= 0:
            raise errors.no_credits()
        _check_start_rate(session, user_id)
        level = level or (user.english_level if user.english_level in LEVELS else "B1")
        patterns = recurring_patterns(session=session, user_id=user_id)
        carried = lesson_words(session=session, user_id=user_id, now=utcnow())

    instructions = build_instructions(level, topic, words, patterns, carried.due, carried.unclear)
    config = build_session_config(
        settings=settings, instructions=instructions, audio_setup=AudioSetup.parse(audio_setup)
    )
    row = PracticeSession(
        user_id=user_id,
        status=SessionStatus.STARTING.value,
        topic=topic,
        level=level,
        target_vocabulary=words,
        signaling=signaling,
        model=settings.realtime_model,
        voice=settings.realtime_voice,
        simulated=settings.openai_simulated,
        instructions=instructions,
    )
    try:
        with session_scope() as session:
            session.add(row)
    except IntegrityError:
        raise errors.already_in_call() from None
    return row.id, config


def _check_start_rate(session: Session, user_id: uuid.UUID) -> None:
    """429 once the learner has started MAX_STARTS_PER_HOUR lessons within the hour."""
    now = utcnow()
    recent = session.exec(
        select(PracticeSession.created_at)
        .where(PracticeSession.user_id == user_id, col(PracticeSession.created_at) > now - START_WINDOW)
        .order_by(col(PracticeSession.created_at).desc())
        .limit(MAX_STARTS_PER_HOUR)
    ).all()
    if len(recent) < MAX_STARTS_PER_HOUR:
        return
    oldest = min(recent)
    if oldest.tzinfo is None:  # SQLite
        oldest = oldest.replace(tzinfo=now.tzinfo)
    free_in = oldest + START_WINDOW - now
    raise errors.too_many_starts(MAX_STARTS_PER_HOUR, max(1, math.ceil(free_in.total_seconds() / 60)))


def _record_call_id(session_id: uuid.UUID, call_id: str) -> None:
    with session_scope() as session:
        row = session.get(PracticeSession, session_id)
        assert row is not None
        row.provider_call_id = call_id
        session.add(row)


def _owned_row(session: Session, user_id: uuid.UUID, session_id: uuid.UUID) -> PracticeSession:
    row = session.exec(
        select(PracticeSession).where(
            col(PracticeSession.id) == session_id, PracticeSession.user_id == user_id
        )
    ).first()
    if row is None:
        raise errors.session_not_found()
    return row


def _parse_id(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise errors.session_not_found() from None


def _clean_reason(reason: str, default: str) -> str:
    cleaned = _REASON.sub("_", str(reason or "").lower()).strip("_")[:32]
    return cleaned or default


def _call_id_from_location(location: str | None) -> str | None:
    """`/v1/realtime/calls/rtc_abc` (or a full URL) → `rtc_abc`."""
    if not location:
        return None
    tail = location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail if _CALL_ID.match(tail) else None


_NO_CHARGE = "no credits were used"
_PROVIDER_MESSAGES = {
    "provider_timeout": f"The tutor service did not answer in time. Try again in a minute; {_NO_CHARGE}.",
    "provider_busy": f"The tutor service is busy right now. Try again in a minute; {_NO_CHARGE}.",
    "provider_unreachable": f"The tutor service is unreachable right now. Try again in a minute; {_NO_CHARGE}.",
    "provider_error": f"The tutor service could not start the call. Try again in a minute; {_NO_CHARGE}.",
}


def _provider_error() -> CallRefused:
    return CallRefused("provider_error", _PROVIDER_MESSAGES["provider_error"], 502)


def _provider_refusal(exc: openai.OpenAIError) -> CallRefused:
    """Map a provider failure at start to a refusal; details go to the log only."""
    if isinstance(exc, openai.APITimeoutError):
        code, status = "provider_timeout", 504
    elif isinstance(exc, openai.APIConnectionError):
        code, status = "provider_unreachable", 503
    elif isinstance(exc, openai.RateLimitError):
        code, status = "provider_busy", 503
    else:
        code, status = "provider_error", 502
    http_status = getattr(exc, "status_code", None)
    logger.warning("provider refused to start a call: %s (HTTP %s)", type(exc).__name__, http_status)
    return CallRefused(code, _PROVIDER_MESSAGES[code], status)
