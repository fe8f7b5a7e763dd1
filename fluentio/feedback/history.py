"""What /history and /history/{id} show: the learner's sessions, one session's feedback,
and progress over time. Plain queries; every function is scoped to one learner.

The list is paged (newest first, PAGE_SIZE a page) and the progress figures read only
narrow columns of the learner's rows, so the page stays fast with hundreds of sessions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from fluentio import languages, levels
from fluentio.billing.ledger import format_credits
from fluentio.classroom.scenarios import PLACEMENT_SCENARIO_ID, get_scenario
from fluentio.clock import week_start
from fluentio.feedback import jobs
from fluentio.feedback.fluency import Line
from fluentio.feedback.highlight import Segment, Span, find_span, locate, segments
from fluentio.feedback.patterns import count_patterns
from fluentio.feedback.speech import current_cache_key
from fluentio.models import Feedback, FeedbackStatus, PracticeSession
from fluentio.models.base import utcnow
from fluentio.models.tutor import Correction, SessionStatus, TranscriptItem
from fluentio.vocabulary.unclear import UnclearSpan, split_at, unclear_by_item

PAGE_SIZE = 20
CHART_WEEKS = 12
CHART_SESSIONS = 50
TOP_PATTERNS = 6

ANALYSING = (FeedbackStatus.PENDING.value, FeedbackStatus.RUNNING.value)
STATUS_LABELS = {
    FeedbackStatus.PENDING.value: "Analysing…",
    FeedbackStatus.RUNNING.value: "Analysing…",
    FeedbackStatus.DONE.value: "Feedback ready",
    FeedbackStatus.FAILED.value: "Feedback not ready — retry",
    FeedbackStatus.SKIPPED.value: "Not enough speech to analyse",
}
# The simulator's learner lines are scripted text laid over the timing of whatever the
# microphone heard, so words per minute would measure the script, not the learner.
SIMULATED_SPEED_NOTE = (
    "Speaking speed isn't measured in simulated lessons: the words shown for you were scripted."
)
LISTED = (SessionStatus.LIVE.value, SessionStatus.ENDED.value, SessionStatus.FAILED.value)


def topic_title(topic: str | None) -> str:
    """The scenario's title for a stored topic id (older or unknown ids shown as written)."""
    if not topic:
        return "Free talk"
    scenario = get_scenario(topic)
    return scenario.title if scenario else topic


RETRIES_USED_UP = "Feedback could not be made for this session (tried several times)"


def status_label(feedback_status: str | None, session_status: str, retries: int = 0) -> str:
    if session_status == SessionStatus.LIVE.value:
        return "In progress"
    if feedback_status is None:
        return "No feedback"
    if feedback_status == FeedbackStatus.FAILED.value and not jobs.retries_left(feedback_status, retries):
        return RETRIES_USED_UP
    return STATUS_LABELS.get(feedback_status, feedback_status)


def when(moment: datetime) -> str:
    return moment.strftime("%d %b %Y, %H:%M UTC")


def minutes(seconds: int) -> str:
    return f"{seconds / 60:.1f}" if seconds < 600 else str(round(seconds / 60))


@dataclass(frozen=True)
class SessionRow:
    id: str
    date: str
    topic: str
    minutes: str
    credits: str
    feedback: str
    can_retry: bool
    language: str  # "Spanish": the language practised in it
    # Feedback still being prepared: the page keeps refreshing while any row says so.
    analysing: bool


def _listed(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    return sa.and_(col(PracticeSession.user_id) == user_id, col(PracticeSession.status).in_(LISTED))


def list_sessions(
    *, session: Session, user_id: uuid.UUID, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[SessionRow], bool]:
    """One page of the learner's sessions, newest first, and whether another page follows."""
    page = max(1, page)
    query = (
        sa.select(
            col(PracticeSession.id),
            col(PracticeSession.created_at),
            col(PracticeSession.topic),
            col(PracticeSession.language),
            col(PracticeSession.status),
            col(PracticeSession.billable_seconds),
            col(PracticeSession.charged_millicredits),
            col(Feedback.status),
            col(Feedback.retries),
        )
        .outerjoin(Feedback, col(Feedback.session_id) == col(PracticeSession.id))
        .where(_listed(user_id))
        .order_by(col(PracticeSession.created_at).desc(), col(PracticeSession.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
    )
    rows = session.connection().execute(query).all()
    listed = [
        SessionRow(
            id=str(sid),
            date=when(created),
            topic=topic_title(topic),
            minutes=minutes(seconds),
            credits=format_credits(millicredits),
            feedback=status_label(feedback, status, retries or 0),
            can_retry=jobs.retries_left(feedback, retries or 0)
            or (feedback is None and status == SessionStatus.ENDED.value),
            analysing=feedback in ANALYSING,
            language=languages.name(language),
        )
        for sid, created, topic, language, status, seconds, millicredits, feedback, retries in rows[
            :page_size
        ]
    ]
    return listed, len(rows) > page_size


def count_sessions(*, session: Session, user_id: uuid.UUID) -> tuple[int, int]:
    """How many sessions the learner has had, and how many seconds they practised."""
    count, seconds = session.exec(
        select(sa.func.count(), sa.func.coalesce(sa.func.sum(PracticeSession.billable_seconds), 0)).where(
            _listed(user_id)
        )
    ).one()
    return int(count), int(seconds)


@dataclass
class Progress:
    sessions: int = 0
    minutes: int = 0
    analysed: int = 0
    latest_level: str = ""
    weekly_minutes: list[dict[str, str | float]] = field(default_factory=list)
    mistakes: list[dict[str, str | float]] = field(default_factory=list)
    patterns: list[dict[str, str | int]] = field(default_factory=list)
    levels: list[dict[str, str | int]] = field(default_factory=list)


def point_labels(moments: list[datetime]) -> list[str]:
    """Chart labels: the day ("30 Nov"), with the time added where several points fall
    on one day ("30 Nov 09:15", "30 Nov 18:40") so no two points read the same."""
    days = [moment.strftime("%d %b") for moment in moments]
    shared = {day for day in days if days.count(day) > 1}
    return [
        f"{day} {moment:%H:%M}" if day in shared else day for day, moment in zip(days, moments, strict=True)
    ]


def progress(
    *, session: Session, user_id: uuid.UUID, language: str | None = None, now: datetime | None = None
) -> Progress:
    """Minutes per week, mistakes per 100 words, frequent patterns and level over time.

    With `language`, the level figures (latest level, level over time) count only that
    language's sessions: a level is a level in one language."""
    now = now or utcnow()
    count, seconds = count_sessions(session=session, user_id=user_id)
    result = Progress(sessions=count, minutes=round(seconds / 60))
    if not count:
        return result

    this_week = week_start(now)
    since = this_week - timedelta(weeks=CHART_WEEKS - 1)
    recent = session.exec(
        select(PracticeSession.created_at, PracticeSession.billable_seconds).where(
            _listed(user_id), col(PracticeSession.created_at) >= since
        )
    ).all()
    per_week: dict[datetime, int] = {}
    for created, secs in recent:
        start = week_start(created)
        per_week[start] = per_week.get(start, 0) + secs
    first = min(per_week, default=this_week)
    week = first
    while week <= this_week:
        result.weekly_minutes.append(
            {"week": week.strftime("%d %b"), "minutes": round(per_week.get(week, 0) / 60, 1)}
        )
        week += timedelta(weeks=1)

    latest = (
        sa.select(
            col(Feedback.id),
            col(PracticeSession.created_at),
            col(Feedback.learner_words),
            col(Feedback.cefr_level),
            col(Feedback.bad_patterns),
            col(PracticeSession.topic),
            col(PracticeSession.language),
        )
        .join(PracticeSession, col(PracticeSession.id) == col(Feedback.session_id))
        .where(col(PracticeSession.user_id) == user_id, col(Feedback.status) == FeedbackStatus.DONE.value)
        .order_by(col(PracticeSession.created_at).desc())
        .limit(CHART_SESSIONS)
    )
    analysed = session.connection().execute(latest).all()
    result.analysed = len(analysed)
    if not analysed:
        return result
    wanted = languages.get_language(language).code if language else None
    in_language = [row for row in analysed if wanted is None or row[6] == wanted]
    result.latest_level = (in_language[0][3] or "") if in_language else ""
    counts = dict(
        session.exec(
            select(Correction.feedback_id, sa.func.count())
            .where(col(Correction.feedback_id).in_([row[0] for row in analysed]))
            .group_by(col(Correction.feedback_id))
        ).all()
    )
    oldest_first = list(reversed(analysed))
    labels = point_labels([row[1] for row in oldest_first])
    for (feedback_id, _created, words, level, _patterns, topic, session_language), label in zip(
        oldest_first, labels, strict=True
    ):
        # A placement call looks for a level, not for mistakes: it has no point there.
        if words and topic != PLACEMENT_SCENARIO_ID:
            result.mistakes.append(
                {"date": label, "per_100_words": round(100 * counts.get(feedback_id, 0) / words, 1)}
            )
        in_wanted = wanted is None or session_language == wanted
        if in_wanted and level and (position := levels.rank(level)) is not None:
            result.levels.append({"date": label, "level": level, "rank": position})
    result.patterns = [
        {"pattern": text, "sessions": n}
        for text, n in count_patterns((row[4] for row in analysed), limit=TOP_PATTERNS)
    ]
    return result


@dataclass(frozen=True)
class CorrectionView:
    id: str
    number: int
    category: str
    original: str
    corrected: str
    explanation: str
    audio_url: str


@dataclass(frozen=True)
class PartView:
    """A piece of a segment: plain text, or a word the recogniser was unsure of
    (vocabulary/unclear.py) with what it says about it."""

    text: str
    unclear: bool = False
    label: str = ""


@dataclass(frozen=True)
class SegmentView:
    text: str
    marked: bool
    note: str
    # The segment's text again, cut around unclear words (so they are marked inside a mistake too).
    parts: list[PartView] = field(default_factory=list)


@dataclass(frozen=True)
class LineView:
    speaker: str
    learner: bool
    segments: list[SegmentView]


@dataclass
class SessionDetail:
    id: str
    date: str
    topic: str
    minutes: str
    credits: str
    session_status: str
    language: str = "English"  # practised in the lesson
    explanation_language: str = "English"  # its feedback explains in
    feedback_status: str = ""
    feedback_label: str = ""
    feedback_note: str = ""
    level: str = ""
    summary: str = ""
    patterns: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    new_words: list[str] = field(default_factory=list)
    words_per_minute: str = ""
    speed_note: str = ""
    talk_share: str = ""
    turns: str = ""
    learner_words: str = ""
    corrections: list[CorrectionView] = field(default_factory=list)
    lines: list[LineView] = field(default_factory=list)
    is_placement: bool = False


def _with_unclear(pieces: list[Segment], spans: list[UnclearSpan]) -> list[SegmentView]:
    """The corrections' pieces, each with its parts cut around the line's unclear words."""
    views: list[SegmentView] = []
    offset = 0
    for piece in pieces:
        inside = [
            UnclearSpan(s.start - offset, s.end - offset, s.word, s.confidence)
            for s in spans
            if s.start >= offset and s.end <= offset + len(piece.text)
        ]
        parts = [
            PartView(text, span is not None, span.label if span else "")
            for text, span in split_at(piece.text, inside)
        ]
        views.append(SegmentView(piece.text, piece.marked, piece.note, parts))
        offset += len(piece.text)
    return views


def _highlighted(
    items: list[TranscriptItem],
    corrections: list[Correction],
    unclear: dict[str, list[UnclearSpan]] | None = None,
) -> list[LineView]:
    lines = [Line(i.speaker, i.text, i.started_ms, i.ended_ms, str(i.id)) for i in items]
    by_id = {line.item_id: line for line in lines}
    marks: dict[str, list[tuple[Span, str]]] = {}
    for number, correction in enumerate(corrections, start=1):
        note = f"{number}. {correction.corrected}"
        line = by_id.get(str(correction.transcript_item_id)) if correction.transcript_item_id else None
        span = find_span(correction.original, line.text) if line else None
        if line is None or span is None:
            found = locate(correction.original, lines)
            if found is None:
                continue
            line, span = found
        marks.setdefault(line.item_id, []).append((span, note))
    provider_ids = {str(i.id): i.provider_item_id for i in items}
    views: list[LineView] = []
    for line in lines:
        if not line.text.strip():
            continue
        pieces = segments(line.text, marks.get(line.item_id, []))
        provider_id = provider_ids.get(line.item_id or "")
        spans = (unclear or {}).get(provider_id or "", []) if line.is_learner else []
        views.append(
            LineView(
                speaker="You" if line.is_learner else "Tutor",
                learner=line.is_learner,
                segments=_with_unclear(pieces, spans),
            )
        )
    return views


def session_detail(
    *, session: Session, user_id: uuid.UUID, practice_session_id: uuid.UUID
) -> SessionDetail | None:
    """One of the learner's sessions with its transcript and feedback; None if not theirs."""
    practice = session.get(PracticeSession, practice_session_id)
    if practice is None or practice.user_id != user_id:
        return None
    detail = SessionDetail(
        id=str(practice.id),
        date=when(practice.created_at),
        topic=topic_title(practice.topic),
        minutes=minutes(practice.billable_seconds),
        credits=format_credits(practice.charged_millicredits),
        session_status=practice.status,
        is_placement=practice.topic == PLACEMENT_SCENARIO_ID,
        language=languages.name(practice.language),
        explanation_language=languages.name(practice.explanation_language),
    )
    items = list(
        session.exec(
            select(TranscriptItem)
            .where(TranscriptItem.session_id == practice.id)
            .order_by(col(TranscriptItem.seq))
        ).all()
    )
    job = session.exec(select(Feedback).where(Feedback.session_id == practice.id)).first()
    detail.feedback_status = job.status if job else ""
    detail.feedback_label = status_label(
        job.status if job else None, practice.status, job.retries if job else 0
    )
    corrections: list[Correction] = []
    if job is not None:
        if job.status in (FeedbackStatus.SKIPPED.value, FeedbackStatus.FAILED.value):
            detail.feedback_note = (
                job.last_error or ""
                if job.status == FeedbackStatus.SKIPPED.value
                else "Your transcript is saved. Press Retry to try the analysis again."
                if jobs.retries_left(job.status, job.retries)
                else "Your transcript is saved, but the analysis failed every time we tried. "
                "Contact us if you need feedback on this session."
            )
        if job.status == FeedbackStatus.DONE.value:
            corrections = list(
                session.exec(
                    select(Correction)
                    .where(Correction.feedback_id == job.id)
                    .order_by(col(Correction.position))
                ).all()
            )
            detail.level = job.cefr_level or ""
            detail.summary = job.summary
            detail.patterns = list(job.bad_patterns)
            detail.suggestions = list(job.suggestions)
            detail.new_words = list(job.new_words)
            detail.corrections = [
                CorrectionView(
                    id=str(c.id),
                    number=n,
                    category=c.category,
                    original=c.original,
                    corrected=c.corrected,
                    explanation=c.explanation,
                    audio_url=f"/api/speech/{c.id}?k={current_cache_key(c.corrected, language=practice.language)[:16]}",
                )
                for n, c in enumerate(corrections, start=1)
            ]
        if practice.simulated:
            detail.speed_note = SIMULATED_SPEED_NOTE
        elif job.words_per_minute is not None:
            detail.words_per_minute = f"{job.words_per_minute:.0f}"
        if job.talk_share is not None:
            detail.talk_share = f"{job.talk_share:.0%}"
        if job.turns is not None:
            detail.turns = str(job.turns)
        if job.learner_words is not None:
            detail.learner_words = str(job.learner_words)
    detail.lines = _highlighted(
        items, corrections, unclear_by_item(session=session, practice_session_id=practice.id)
    )
    return detail
