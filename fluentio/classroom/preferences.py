"""A learner's classroom preferences (the only writer of `classroom_preferences`).

Learners who never changed anything have no row; they get the defaults: the tutor goes
on through a short "mm-hm", laptop or phone speakers, no push-to-talk, and a microphone
check before their first lesson.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from fluentio.classroom.realtime_config import AudioSetup
from fluentio.models import Backchannel, ClassroomPreferences
from fluentio.models.base import utcnow


@dataclass(frozen=True)
class Preferences:
    push_to_talk: bool = False
    backchannel: Backchannel = Backchannel.CONTINUE
    audio_setup: AudioSetup = AudioSetup.SPEAKERS
    mic_checked_at: datetime | None = None


def get_preferences(*, session: Session, user_id: uuid.UUID) -> Preferences:
    row = session.get(ClassroomPreferences, user_id)
    if row is None:
        return Preferences()
    return Preferences(
        push_to_talk=row.push_to_talk,
        backchannel=_backchannel(row.backchannel),
        audio_setup=AudioSetup.parse(row.audio_setup),
        mic_checked_at=row.mic_checked_at,
    )


def save_preferences(
    *,
    session: Session,
    user_id: uuid.UUID,
    push_to_talk: bool | None = None,
    backchannel: str | None = None,
    audio_setup: str | None = None,
    mic_checked: bool = False,
) -> Preferences:
    """Change the given settings (unknown values fall back to the defaults); the caller
    owns the transaction."""
    row = session.get(ClassroomPreferences, user_id) or ClassroomPreferences(user_id=user_id)
    if push_to_talk is not None:
        row.push_to_talk = push_to_talk
    if backchannel is not None:
        row.backchannel = _backchannel(backchannel).value
    if audio_setup is not None:
        row.audio_setup = AudioSetup.parse(audio_setup).value
    if mic_checked:
        row.mic_checked_at = utcnow()
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return get_preferences(session=session, user_id=user_id)


def _backchannel(value: str) -> Backchannel:
    try:
        return Backchannel(value)
    except ValueError:
        return Backchannel.CONTINUE
