"""A learner's classroom preferences: how they hear the tutor and talk to it."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from fluentio.models.base import default_now, string, utc_timestamp


class Backchannel(StrEnum):
    """What a short "mm-hm" over the tutor does."""

    CONTINUE = "continue"  # the tutor goes on; a real sentence interrupts
    STOP = "stop"  # any confirmed word stops the tutor


class ClassroomPreferences(SQLModel, table=True):
    """One row per learner who changed a setting or checked their microphone; written only
    by fluentio.classroom.preferences."""

    __tablename__ = "classroom_preferences"

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    push_to_talk: bool = Field(default=False)
    backchannel: str = string(16, default=Backchannel.CONTINUE.value)
    # realtime_config.AudioSetup: "speakers" or "headphones".
    audio_setup: str = string(16, default="speakers")
    mic_checked_at: datetime | None = utc_timestamp()
    updated_at: datetime = default_now()


class WorkerProcess(SQLModel, table=True):
    """One row per process that supervises calls (roles "all" and "worker"), with its
    heartbeat; written only by fluentio.classroom.ownership. A row whose heartbeat is old
    is a process that died; a graceful stop deletes its own row."""

    __tablename__ = "workers"

    id: str = Field(sa_type=sa.String(80), primary_key=True)
    role: str = string(16)
    host: str = string(255, default="")
    pid: int = Field(default=0)
    started_at: datetime = default_now()
    heartbeat_at: datetime = utc_timestamp(nullable=False, index=True)
