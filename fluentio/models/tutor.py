"""Practice: live sessions with the tutor, their transcripts, feedback and speech cache."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from fluentio.models.base import default_now, json_list, long_text, string, utc_timestamp, uuid_pk


class SessionStatus(StrEnum):
    STARTING = "starting"
    LIVE = "live"
    ENDED = "ended"
    FAILED = "failed"


class Speaker(StrEnum):
    LEARNER = "learner"
    TUTOR = "tutor"


class FeedbackStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class CorrectionCategory(StrEnum):
    GRAMMAR = "grammar"
    VOCABULARY = "vocabulary"
    PRONUNCIATION = "pronunciation"
    FLUENCY = "fluency"


class PracticeSession(SQLModel, table=True):
    """One conversation with the tutor, from Start to its end, and what it cost."""

    __tablename__ = "practice_sessions"
    __table_args__ = (
        sa.Index("ix_practice_sessions_user_created", "user_id", "created_at"),
        # One live call per learner: at most one row per user in a not-yet-ended state.
        sa.Index(
            "uq_practice_sessions_one_open_call",
            "user_id",
            unique=True,
            postgresql_where=sa.text("status IN ('starting', 'live')"),
            sqlite_where=sa.text("status IN ('starting', 'live')"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="RESTRICT")
    status: str = string(16, default=SessionStatus.STARTING.value, index=True)
    topic: str = string(50)
    level: str = string(2)
    # The language practised and the one feedback explains in, fixed at Start
    # (fluentio/languages.py codes), so History stays right after the learner switches.
    language: str = string(8, default="en", sa_column_kwargs={"server_default": "en"})
    explanation_language: str = string(8, default="en", sa_column_kwargs={"server_default": "en"})
    target_vocabulary: list[str] = json_list()
    signaling: str = string(16, default="relay")
    provider_call_id: str | None = string(100, default=None, nullable=True, unique=True)
    created_at: datetime = default_now()
    started_at: datetime | None = utc_timestamp()
    ended_at: datetime | None = utc_timestamp()
    end_reason: str | None = string(32, default=None, nullable=True)
    billable_seconds: int = Field(default=0)
    charged_millicredits: int = Field(default=0, sa_type=sa.BigInteger)
    input_text_tokens: int = Field(default=0)
    input_audio_tokens: int = Field(default=0)
    cached_input_tokens: int = Field(default=0)
    output_text_tokens: int = Field(default=0)
    output_audio_tokens: int = Field(default=0)
    cost_estimate_microusd: int = Field(default=0, sa_type=sa.BigInteger)
    # Call control: the model and voice used, whether it ran on the local simulator,
    # the instructions the tutor was given, and the meter's heartbeat (a call whose
    # server died is finalised from it at the next start-up).
    model: str = string(64, default="")
    voice: str = string(32, default="")
    simulated: bool = Field(default=False)
    instructions: str = long_text(default="")
    last_seen_at: datetime | None = utc_timestamp()
    low_balance_warned: bool = Field(default=False)
    # Call ownership (fluentio/classroom/ownership.py; written only by lifecycle.py):
    # when the provider answered (the connected clock's start, kept for whichever worker
    # supervises the call), the worker process that supervises it and until when its
    # lease runs. A call whose lease ran out is taken over by another worker.
    answered_at: datetime | None = utc_timestamp()
    owner_id: str | None = string(80, default=None, nullable=True, index=True)
    lease_expires_at: datetime | None = utc_timestamp()
    # Why another process (the web, for the learner) asked the call to end; its owner
    # then finalises with this reason when the provider has closed the call.
    end_requested: str | None = string(32, default=None, nullable=True)
    # When the provider acknowledged a hang-up sent by another process (the web): the
    # owner charges up to it, never up to when it saw the sideband close.
    hung_up_at: datetime | None = utc_timestamp()
    # How many times a worker took this call over after it went live: only such a call
    # may have items said while no worker listened, which the learner's page fills in.
    takeovers: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class TranscriptItem(SQLModel, table=True):
    """One turn of the conversation, in order, as the learner heard or said it."""

    __tablename__ = "transcript_items"
    __table_args__ = (sa.UniqueConstraint("session_id", "seq", name="uq_transcript_session_seq"),)

    id: uuid.UUID = uuid_pk()
    session_id: uuid.UUID = Field(foreign_key="practice_sessions.id", ondelete="CASCADE", index=True)
    seq: int
    speaker: str = string(8)
    text: str = long_text(default="")
    provider_item_id: str | None = string(100, default=None, nullable=True)
    started_ms: int | None = Field(default=None, nullable=True)
    ended_ms: int | None = Field(default=None, nullable=True)
    truncated: bool = Field(default=False)
    created_at: datetime = default_now()


class Feedback(SQLModel, table=True):
    """The analysis of one session: a durable job and, once done, its result."""

    __tablename__ = "feedback"

    id: uuid.UUID = uuid_pk()
    session_id: uuid.UUID = Field(foreign_key="practice_sessions.id", ondelete="CASCADE", unique=True)
    status: str = string(16, default=FeedbackStatus.PENDING.value, index=True)
    attempts: int = Field(default=0)
    retries: int = Field(default=0)  # the learner's "Retry" presses (capped in feedback/jobs.py)
    last_error: str | None = long_text(default=None, nullable=True)
    next_attempt_at: datetime | None = utc_timestamp()
    model: str = string(64, default="")
    cefr_level: str | None = string(2, default=None, nullable=True)
    bad_patterns: list[str] = json_list()
    suggestions: list[str] = json_list()
    new_words: list[str] = json_list()
    words_per_minute: float | None = Field(default=None, nullable=True)
    talk_share: float | None = Field(default=None, nullable=True)
    turns: int | None = Field(default=None, nullable=True)
    learner_words: int | None = Field(default=None, nullable=True)
    summary: str = long_text(default="")
    created_at: datetime = default_now()
    # Stamped by each run that takes the analysis on: it fences the row, so a run that was
    # given up on (its worker stopped answering) can never store a second result.
    started_at: datetime | None = utc_timestamp()
    completed_at: datetime | None = utc_timestamp()


class Correction(SQLModel, table=True):
    """One mistake the learner made, with the corrected sentence and why."""

    __tablename__ = "corrections"

    id: uuid.UUID = uuid_pk()
    feedback_id: uuid.UUID = Field(foreign_key="feedback.id", ondelete="CASCADE", index=True)
    position: int
    category: str = string(16, default=CorrectionCategory.GRAMMAR.value)
    original: str = long_text()
    corrected: str = long_text()
    explanation: str = long_text(default="")
    transcript_item_id: uuid.UUID | None = Field(
        default=None, foreign_key="transcript_items.id", ondelete="SET NULL", nullable=True
    )


class SpeechClip(SQLModel, table=True):
    """Cached text-to-speech audio, keyed by a hash of (model, voice, text)."""

    __tablename__ = "speech_clips"

    id: uuid.UUID = uuid_pk()
    cache_key: str = string(64, unique=True)
    model: str = string(64)
    voice: str = string(32)
    text: str = long_text()
    content_type: str = string(64, default="audio/mpeg")
    audio: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = default_now()
