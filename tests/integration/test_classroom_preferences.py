"""Classroom preferences on both engines, and the microphone check's verdicts."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from fluentio.classroom.mic_check import MicVerdict, judge
from fluentio.classroom.preferences import Preferences, get_preferences, save_preferences
from fluentio.classroom.realtime_config import AudioSetup
from fluentio.models import Backchannel
from tests.support.factories import make_user


def test_defaults_until_the_learner_changes_something(db: Session) -> None:
    user = make_user(db)
    assert get_preferences(session=db, user_id=user.id) == Preferences()


def test_changes_are_kept_and_unknown_values_fall_back(db: Session) -> None:
    user = make_user(db)
    saved = save_preferences(session=db, user_id=user.id, push_to_talk=True, audio_setup="headphones")
    assert saved.push_to_talk and saved.audio_setup is AudioSetup.HEADPHONES
    assert saved.backchannel is Backchannel.CONTINUE and saved.mic_checked_at is None
    save_preferences(session=db, user_id=user.id, backchannel="stop", mic_checked=True)
    again = get_preferences(session=db, user_id=user.id)
    assert again.push_to_talk and again.backchannel is Backchannel.STOP and again.mic_checked_at is not None
    weird = save_preferences(session=db, user_id=user.id, backchannel="shout", audio_setup="bone conduction")
    assert weird.backchannel is Backchannel.CONTINUE and weird.audio_setup is AudioSetup.SPEAKERS
    # Another learner is untouched.
    assert get_preferences(session=db, user_id=make_user(db).id) == Preferences()


@pytest.mark.parametrize(
    ("peak", "noise", "speech_ms", "verdict"),
    [
        (-90, -120, 0, MicVerdict.SILENT),
        (-61, -70, 0, MicVerdict.SILENT),
        (-20, -30, 900, MicVerdict.NOISY),
        (-25, -42, 0, MicVerdict.NOISY),
        (-35, -60, 100, MicVerdict.FAINT),
        (-12, -65, 1200, MicVerdict.GOOD),
    ],
)
def test_mic_check_verdicts(peak: int, noise: int, speech_ms: int, verdict: MicVerdict) -> None:
    result = judge(peak_dbfs=peak, noise_dbfs=noise, speech_ms=speech_ms)
    assert result.verdict is verdict
    assert result.suggests_push_to_talk is (verdict is MicVerdict.NOISY)
    assert result.message
