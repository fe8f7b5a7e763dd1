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

Either way a server process follows the call over the sideband (sideband.py), meters it
and finalises it exactly once (lifecycle.py writes the session row): this process in role
"all", else the worker that claims it (ownership.py). Ending a call another process
follows is asking it: the reason goes on the row, the call is hung up at the provider,
and its owner finalises when the sideband closes. Every refusal is a
`CallRefused` with a plain-language message (errors.py). Database work runs in worker
threads (`in_transaction`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import openai
from sqlmodel import Session, col, select

from fluentio.auth.levels import level_for
from fluentio.auth.sessions import resolve_login_session
from fluentio.billing import ledger
from fluentio.billing.ledger import format_credits
from fluentio.classroom import errors, lifecycle, ownership, recovery, sideband
from fluentio.classroom.errors import CallRefused, RefusalCode
from fluentio.classroom.instructions import MAX_VOCABULARY, build_instructions, build_placement_instructions
from fluentio.classroom.lifecycle import OPEN_STATUSES
from fluentio.classroom.meter import LOW_BALANCE_SECONDS, MeterLimits, max_call_minutes
from fluentio.classroom.provider import hangup, hangup_acknowledged_at, provider_client, spawn_hangup
from fluentio.classroom.realtime_config import AudioSetup, build_session_config
from fluentio.classroom.reasons import (
    ENDED_MESSAGES,
    NOT_STARTED_MESSAGE,
    PLACEMENT_TIME_UP,
    PROVIDER_MESSAGES,
    EndReason,
)
from fluentio.classroom.scenarios import DEFAULT_SCENARIO_ID, PLACEMENT_SCENARIO_ID, get_scenario
from fluentio.classroom.transcript import PageCaption, fill_from_page
from fluentio.clock import format_duration
from fluentio.db import in_transaction, off_loop, session_scope
from fluentio.feedback.patterns import recurring_patterns
from fluentio.languages import get_language
from fluentio.levels import LEVELS
from fluentio.models import PracticeSession, SessionStatus, Speaker, TranscriptItem, User
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
    end_reason: EndReason | None
    ended_message: str  # plain words once ended/failed, else ""
    charged_millicredits: int


# ------------------------------------------------------------------ start: relay


async def start_relay_call(
    *,
    user_id: uuid.UUID | None = None,
    login_token: str | None = None,
    offer_sdp: str | bytes,
    level: str | None,
    topic: str | None,
    vocabulary: str | Sequence[str] | None,
    audio_setup: str | None = None,
) -> StartedCall:
    """Relay the browser's offer to the provider and return its answer (see module doc).

    The learner is `user_id`, or the one signed in with `login_token` (the session
    cookie), which is then looked up in the transaction that opens the session: a start
    costs one database round of its own fewer."""
    offer = check_offer_sdp(offer_sdp)
    settings = get_settings()
    session_id, user_id, config = await _opening(
        "relay",
        settings,
        learner=_Learner(user_id, login_token),
        level=level,
        topic=topic,
        words=vocabulary,
        setup=audio_setup,
    )
    try:
        client = provider_client(settings=settings)
        raw = await client.realtime.calls.with_raw_response.create(sdp=offer, session=config)
        answered_at = utcnow()
        answer = raw.text
        call_id = _call_id_from_location(raw.headers.get("location"))
    except openai.OpenAIError as exc:
        refusal = _provider_refusal(exc)
        await _close_unstarted(session_id, EndReason(refusal.code.value))
        raise refusal from None
    if call_id is None or not answer.startswith("v="):
        logger.warning("provider answered call %s without a usable call id or SDP", session_id)
        if call_id is not None:
            await hangup(call_id)
        await _close_unstarted(session_id, EndReason.PROVIDER_ERROR)
        raise errors.provider_refused(RefusalCode.PROVIDER_ERROR)
    supervised_here = settings.process_role != "web"
    await in_transaction(
        lifecycle.record_call_id,
        session_id=session_id,
        call_id=call_id,
        answered_at=answered_at,
        lease=ownership.new_call_lease(answered_at) if supervised_here else None,
    )
    if supervised_here:
        sideband.start_supervision(
            session_id=session_id,
            user_id=user_id,
            call_id=call_id,
            answered_at=answered_at,
            limits=MeterLimits.for_scenario(settings, topic),
        )
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
    session_id, _, config = await _opening(
        "ephemeral",
        settings,
        learner=_Learner(user_id),
        level=level,
        topic=topic,
        words=vocabulary,
        setup=audio_setup,
    )
    try:
        client = provider_client(settings=settings)
        secret = await client.realtime.client_secrets.create(
            expires_after={"anchor": "created_at", "seconds": EPHEMERAL_TTL_SECONDS},
            session=config,
        )
    except openai.OpenAIError as exc:
        refusal = _provider_refusal(exc)
        await _close_unstarted(session_id, EndReason(refusal.code.value))
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
        raise errors.bad_request("That call id is not valid. Start the lesson again.")
    sid = _parse_id(session_id)
    supervised_here = get_settings().process_role != "web"
    answered_at = utcnow()
    lease = ownership.new_call_lease(answered_at) if supervised_here else None
    topic = await in_transaction(_attach, user_id=user_id, session_id=sid, call_id=call_id, lease=lease)
    if topic is not None and supervised_here:
        limits = MeterLimits.for_scenario(get_settings(), topic)
        sideband.start_supervision(
            session_id=sid, user_id=user_id, call_id=call_id, answered_at=answered_at, limits=limits
        )


def _attach(
    *,
    session: Session,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    call_id: str,
    lease: lifecycle.Lease | None,
) -> str | None:
    """The session's topic, to follow its call; None when the browser reported the same
    call twice (it is already attached)."""
    row = _owned_row(session, user_id, session_id)
    if row.provider_call_id == call_id and row.status in OPEN_STATUSES:
        return None
    lifecycle.attach_call_id(session=session, row=row, call_id=call_id, now=utcnow(), lease=lease)
    return row.topic


# ------------------------------------------------------- captions from the page

MAX_PAGE_CAPTIONS = 200
MAX_CAPTION_CHARS = 4000


async def keep_page_captions(
    *, user_id: uuid.UUID, session_id: uuid.UUID | str, captions: Sequence[object]
) -> int:
    """The learner's page hands over the captions it showed (before End, and when the
    lesson ended): for a call that was taken over by another worker, the items no worker
    heard are filled in from them (transcript.fill_from_page); otherwise nothing is
    written. Malformed entries are ignored. How many items were added."""
    sid = _parse_id(session_id)
    parsed: list[PageCaption] = []
    for entry in list(captions)[:MAX_PAGE_CAPTIONS]:
        if not isinstance(entry, dict):
            continue
        item_id, speaker, text = entry.get("id"), entry.get("speaker"), entry.get("text")
        if not (isinstance(item_id, str) and _CALL_ID.match(item_id)) or not isinstance(text, str):
            continue
        if speaker not in (Speaker.LEARNER.value, Speaker.TUTOR.value):
            continue
        parsed.append(PageCaption(item_id, Speaker(speaker), text.strip()[:MAX_CAPTION_CHARS]))
    if not parsed:
        return 0
    return await in_transaction(_keep_page_captions, user_id=user_id, session_id=sid, captions=parsed)


def _keep_page_captions(
    *, session: Session, user_id: uuid.UUID, session_id: uuid.UUID, captions: list[PageCaption]
) -> int:
    row = _owned_row(session, user_id, session_id)
    if row.takeovers < 1:
        return 0  # followed from start to end: the sideband heard everything
    added = fill_from_page(session=session, session_id=row.id, captions=captions)
    if added:
        logger.info("call %s: %d item(s) no worker heard, kept from the page", row.id, added)
    return added


# ------------------------------------------------------------------- end / abandon


async def end_call(
    *, user_id: uuid.UUID | None, session_id: uuid.UUID | str, reason: EndReason = EndReason.ENDED_BY_LEARNER
) -> None:
    """Hang up and finalise the call (charged for the connected time). Idempotent."""
    if user_id is None:
        raise errors.not_signed_in()
    sid = _parse_id(session_id)
    running = sideband.get_supervisor(sid)
    if running is not None and running.user_id == user_id:
        # Followed here, so still open (a supervisor leaves the registry once it has
        # finalised) and the learner's own: no need to read the row first.
        await running.stop(reason)
        return
    row = await in_transaction(_owned_row_of, user_id=user_id, session_id=sid)
    if row.status not in OPEN_STATUSES:
        return
    running = sideband.get_supervisor(sid)
    if running is not None:
        await running.stop(reason)
        return
    await _end_elsewhere(row, reason)


async def _end_elsewhere(row: PracticeSession, reason: EndReason) -> None:
    """End a call this process does not follow. Its owner (another process holding the
    lease) is asked: the reason goes on the row, the call is hung up at the provider, and
    the owner finalises once the sideband closes (with the last tokens). A call nobody
    holds (never attached, or its owner is gone) is finalised here."""
    settings = get_settings()
    if row.provider_call_id is not None:
        await in_transaction(lifecycle.request_end, session_id=row.id, reason=reason)
        ended_at = await hangup_acknowledged_at(row.provider_call_id)
        acknowledged = ended_at is not None
        if ended_at is not None:  # the owner charges up to it, not to when it saw the close
            await in_transaction(lifecycle.record_hangup, session_id=row.id, at=ended_at)
        held = (
            row.owner_id not in (None, ownership.worker_id())
            and row.lease_expires_at is not None
            and row.lease_expires_at > utcnow()
        )
        if acknowledged and held and await _finalised_within(row.id, OWNER_FINALISE_SECONDS):
            return
    await in_transaction(lifecycle.finalise, session_id=row.id, reason=reason, settings=settings)


# How long a page waits for the owner of a call it hung up to finalise it.
OWNER_FINALISE_SECONDS = 6.0


async def _finalised_within(session_id: uuid.UUID, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        status = await off_loop(_status_of, session_id)
        if status not in OPEN_STATUSES:
            return True
        await asyncio.sleep(0.2)
    return False


def _status_of(session_id: uuid.UUID) -> str | None:
    with session_scope() as session:
        return session.exec(
            select(PracticeSession.status).where(col(PracticeSession.id) == session_id)
        ).first()


async def end_open_calls(*, user_id: uuid.UUID, reason: EndReason) -> int:
    """Hang up and finalise every call the learner still has open (e.g. before their
    account is deleted). Returns how many there were."""
    open_ids = await off_loop(_open_session_ids, user_id)
    for sid in open_ids:
        await end_call(user_id=user_id, session_id=sid, reason=reason)
    return len(open_ids)


async def abandon_start(*, user_id: uuid.UUID | None, session_id: uuid.UUID | str, reason: EndReason) -> None:
    """The browser failed before the call connected (microphone refused, offer failed,
    answer unusable): end the session without charging. Idempotent.

    Free only while nobody has said anything: once the tutor has produced audio (or the
    learner has spoken), or the call has been connected for longer than a few seconds,
    it is ended normally instead and charged, so a browser reporting an error cannot be
    used to be tutored for free. Token usage is stored either way. The hang-up, if one
    is needed, runs in the background.
    """
    if user_id is None:
        raise errors.not_signed_in()
    sid = _parse_id(session_id)
    settings = get_settings()
    row, spoke = await in_transaction(_row_and_speech, user_id=user_id, session_id=sid)
    if row.status not in OPEN_STATUSES:
        return
    running = sideband.get_supervisor(sid)
    someone_spoke = spoke or row.output_audio_tokens > 0 or (running is not None and running.tutor_spoke)
    too_late = row.started_at is not None and (
        someone_spoke or utcnow() - row.started_at > timedelta(seconds=ABANDON_GRACE_SECONDS)
    )
    if too_late:
        if running is not None:
            running.request_end(reason)
        else:
            await _end_elsewhere(row, reason)
        return
    # The running supervisor stores any usage that arrives after this (store_usage).
    await in_transaction(
        lifecycle.finalise,
        session_id=sid,
        reason=reason,
        settings=settings,
        charge=False,
        usage=running.usage if running else None,
    )
    if running is not None:
        running.request_end(reason)  # hangs up; its own finalisation then finds nothing to do
    elif row.provider_call_id is not None:
        spawn_hangup(row.provider_call_id)


def _row_and_speech(
    *, session: Session, user_id: uuid.UUID, session_id: uuid.UUID
) -> tuple[PracticeSession, bool]:
    row = _owned_row(session, user_id, session_id)
    spoke = session.exec(
        select(TranscriptItem.id).where(TranscriptItem.session_id == session_id).limit(1)
    ).first()
    return row, spoke is not None


# -------------------------------------------------------------------------- status


async def call_status(*, user_id: uuid.UUID | None, session_id: uuid.UUID | str) -> CallStatus:
    """The call's state, time and remaining balance, for the page to show."""
    if user_id is None:
        raise errors.not_signed_in()
    return await off_loop(_call_status, user_id, _parse_id(session_id))


def _call_status(user_id: uuid.UUID, sid: uuid.UUID) -> CallStatus:
    settings = get_settings()
    with session_scope() as session:
        row = _owned_row(session, user_id, sid)
        balance = ledger.balance(session=session, user_id=user_id)
    balance_seconds = balance * settings.seconds_per_credit / MILLICREDITS_PER_CREDIT
    if row.status == SessionStatus.LIVE.value and row.started_at is not None:
        running = sideband.get_supervisor(sid)
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
            low_balance=left <= LOW_BALANCE_SECONDS or row.low_balance_warned,
            end_reason=None,
            ended_message="",
            charged_millicredits=0,
        )
    open_call = row.status in OPEN_STATUSES
    return CallStatus(
        status=row.status,
        seconds_connected=row.billable_seconds,
        seconds_left=max(0, math.floor(balance_seconds)),
        low_balance=False,
        end_reason=EndReason.parse(row.end_reason, EndReason.ABANDONED) if row.end_reason else None,
        ended_message="" if open_call else ended_message(row, settings),
        charged_millicredits=row.charged_millicredits,
    )


def ended_message(row: PracticeSession, settings: Settings | None = None) -> str:
    """A sentence for the learner about how the lesson ended and what it cost."""
    settings = settings or get_settings()
    reason = EndReason.parse(row.end_reason, EndReason.ABANDONED)
    if row.status == SessionStatus.FAILED.value:
        return PROVIDER_MESSAGES.get(reason, NOT_STARTED_MESSAGE)
    text = ENDED_MESSAGES.get(reason, ENDED_MESSAGES[EndReason.ENDED_BY_LEARNER])
    if reason is EndReason.TIME_LIMIT and row.topic == PLACEMENT_SCENARIO_ID:
        text = PLACEMENT_TIME_UP
    text = text.format(max_minutes=max_call_minutes(settings, row.topic))
    cost = format_credits(row.charged_millicredits) if row.charged_millicredits else "no credits"
    return f"{text} You talked for {format_duration(row.billable_seconds)}, which used {cost}."


# ------------------------------------------------------------------ input checks


def check_offer_sdp(offer: str | bytes) -> str:
    """The browser's SDP offer as text, or a 413/400 refusal: at most 64 KiB, SDP lines
    only (`x=…`), starting with `v=0`, with an audio media line."""
    data = offer.encode("utf-8", "replace") if isinstance(offer, str) else bytes(offer)
    if len(data) > MAX_SDP_BYTES:
        raise offer_too_large()
    bad = CallRefused(
        RefusalCode.BAD_SDP,
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
    """Target words from "a, b" (commas or new lines) or a list: trimmed, de-duplicated,
    at most MAX_VOCABULARY of at most 40 characters each; more is refused with a message
    saying so, never cut."""
    if value is None:
        return []
    items = value.replace("\n", ",").split(",") if isinstance(value, str) else list(value)
    words: list[str] = []
    for item in items:
        word = " ".join(str(item).split())
        if not word or word.lower() in (w.lower() for w in words):
            continue
        if len(word) > MAX_WORD_LENGTH:
            raise errors.bad_request(f"Target words can be at most {MAX_WORD_LENGTH} characters long.")
        words.append(word)
    if len(words) > MAX_VOCABULARY:
        raise errors.bad_request(
            f"Choose at most {MAX_VOCABULARY} target words; you gave {len(words)}. Remove a few and try again."
        )
    return words


# ---------------------------------------------------------------------- internals


@dataclass(frozen=True)
class _Learner:
    """Who starts: a user id, or the login session cookie's token (the route passes it),
    resolved by `_open_row` in the transaction that opens the session."""

    user_id: uuid.UUID | None
    login_token: str | None = None

    def known(self) -> bool:
        return self.user_id is not None or bool(self.login_token)

    def user(self, session: Session) -> User | None:
        """The live learner, or None (no, expired or revoked login; deleted account)."""
        if self.user_id is not None:
            user = session.get(User, self.user_id)
        else:
            found = resolve_login_session(session=session, token=self.login_token or "")
            user = found[0] if found is not None else None
        return None if user is None or user.deleted_at is not None else user


async def _opening(
    signaling: str,
    settings: Settings,
    *,
    learner: _Learner,
    level: str | None,
    topic: str | None,
    words: str | Sequence[str] | None,
    setup: str | None,
) -> tuple[uuid.UUID, uuid.UUID, Any]:
    """`_open_session` on the database threads: the new session, its learner and its
    config. The provider calls of the abandoned sessions it finalised are hung up in the
    background."""
    session_id, user_id, config, stale_calls = await off_loop(
        _open_session,
        learner=learner,
        level=level,
        topic=topic,
        vocabulary=words,
        audio_setup=setup,
        signaling=signaling,
        settings=settings,
    )
    for call_id in stale_calls:
        spawn_hangup(call_id)
    return session_id, user_id, config


def _open_session(
    *,
    learner: _Learner,
    level: str | None,
    topic: str | None,
    vocabulary: str | Sequence[str] | None,
    audio_setup: str | None,
    signaling: str,
    settings: Settings,
) -> tuple[uuid.UUID, uuid.UUID, Any, list[str]]:
    """Check the learner and their input, and create the session (status starting).
    Blocking (the database): the use cases run it in a worker thread. Also returns the provider
    call ids of this learner's abandoned sessions it finalised first."""
    if not learner.known():
        raise errors.not_signed_in()
    topic = (topic or "").strip() or DEFAULT_SCENARIO_ID
    if get_scenario(topic) is None:
        raise errors.bad_request("That topic is not in the list. Pick one from the classroom.")
    words = parse_vocabulary(vocabulary)
    level = (level or "").strip().upper()
    if level and level not in LEVELS:
        raise errors.bad_request("Choose a level from A1 to C2.")

    try:
        return (*_open_row(learner, level, topic, words, audio_setup, signaling, settings), [])
    except _AlreadyInCall as taken:
        # A call of this learner's that nobody follows any more (its server died) is
        # billed and closed first: it frees the "one live call" slot, and its cost counts
        # when the balance is checked again. Looked for only when the slot is taken, so
        # that a start costs no extra transaction in the common case.
        stale = recovery.finalise_stale_calls(user_id=taken.user_id)
        if not stale:
            raise taken.refused from None
        learner = _Learner(taken.user_id)
    opened = _open_row(learner, level, topic, words, audio_setup, signaling, settings)
    return (*opened, [call_id for call_id in stale.values() if call_id])


class _AlreadyInCall(Exception):
    """`already_in_call`, with whose call it is (the learner may be known by token only)."""

    def __init__(self, refused: CallRefused, user_id: uuid.UUID) -> None:
        super().__init__(refused.message)
        self.refused = refused
        self.user_id = user_id


def _open_row(
    learner: _Learner,
    level: str,
    topic: str,
    words: list[str],
    audio_setup: str | None,
    signaling: str,
    settings: Settings,
) -> tuple[uuid.UUID, uuid.UUID, Any]:
    """One transaction: the learner, their balance and start rate, what the tutor should
    know (level, recurring patterns, words due), and the new session row."""
    with session_scope() as session:
        user = learner.user(session)
        if user is None:
            raise errors.not_signed_in()
        user_id = user.id
        if ledger.balance(session=session, user_id=user_id) <= 0:
            raise errors.no_credits()
        _check_start_rate(session, user_id)
        language = get_language(user.target_language).code
        # The learner's level in the language of this lesson, unless they picked one for it.
        level = level or level_for(session, user_id, language)
        patterns = recurring_patterns(session=session, user_id=user_id, language=language)
        carried = lesson_words(session=session, user_id=user_id, now=utcnow(), language=language)

        if topic == PLACEMENT_SCENARIO_ID:
            # The placement call climbs through the levels on its own script.
            instructions = build_placement_instructions(language)
        else:
            instructions = build_instructions(
                level, topic, words, patterns, carried.due, carried.unclear, language=language
            )
        config = build_session_config(
            settings=settings,
            instructions=instructions,
            audio_setup=AudioSetup.parse(audio_setup),
            language=language,
        )
        try:
            row = lifecycle.open_session(
                session=session,
                user_id=user_id,
                topic=topic,
                level=level,
                vocabulary=words,
                signaling=signaling,
                instructions=instructions,
                settings=settings,
                language=language,
                explanation_language=get_language(user.explanation_language).code,
            )
        except CallRefused as refused:
            if refused.code is not RefusalCode.ALREADY_IN_CALL:
                raise
            raise _AlreadyInCall(refused, user_id) from None
    return row.id, user_id, config


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


async def _close_unstarted(session_id: uuid.UUID, reason: EndReason) -> None:
    """The provider did not start the call: the session ends as failed, free."""
    await in_transaction(
        lifecycle.finalise, session_id=session_id, reason=reason, settings=get_settings(), charge=False
    )


def _open_session_ids(user_id: uuid.UUID) -> list[uuid.UUID]:
    with session_scope() as session:
        return list(
            session.exec(
                select(PracticeSession.id).where(
                    PracticeSession.user_id == user_id, col(PracticeSession.status).in_(OPEN_STATUSES)
                )
            )
        )


def _owned_row_of(*, session: Session, user_id: uuid.UUID, session_id: uuid.UUID) -> PracticeSession:
    return _owned_row(session, user_id, session_id)


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


def _call_id_from_location(location: str | None) -> str | None:
    """`/v1/realtime/calls/rtc_abc` (or a full URL) → `rtc_abc`."""
    if not location:
        return None
    tail = location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail if _CALL_ID.match(tail) else None


def offer_too_large() -> CallRefused:
    return CallRefused(
        RefusalCode.SDP_TOO_LARGE,
        "Your browser's connection offer is too large. Reload the page and try again.",
        413,
    )


def _provider_refusal(exc: openai.OpenAIError) -> CallRefused:
    """Map a provider failure at start to a refusal; details go to the log only."""
    if isinstance(exc, openai.APITimeoutError):
        code = RefusalCode.PROVIDER_TIMEOUT
    elif isinstance(exc, openai.APIConnectionError):
        code = RefusalCode.PROVIDER_UNREACHABLE
    elif isinstance(exc, openai.RateLimitError):
        code = RefusalCode.PROVIDER_BUSY
    else:
        code = RefusalCode.PROVIDER_ERROR
    http_status = getattr(exc, "status_code", None)
    logger.warning("provider refused to start a call: %s (HTTP %s)", type(exc).__name__, http_status)
    return errors.provider_refused(code)
