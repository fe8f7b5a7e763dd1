"""The simulator's server VAD hears speech, not noise: no room noise of the corpus starts a
turn, speech does, and a turn spoken over a fan still ends.

A distant TV, the tutor's echo and "mm-hm" *are* voices: like the real provider's VAD,
the simulator commits them as turns. Keeping them from cutting the tutor or getting an
answer is the page's job (its level gate and backchannel rule; tests/e2e/test_barge_in.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from fluentio.simulator.audio import FRAME_SAMPLES, SpeechDetector
from tests.support.classroom import NOISE_CLIPS, NOISE_DIR
from tests.support.sim_server import AUDIO_DIR, read_wav_48k


def turns(samples: np.ndarray) -> list[str]:
    """The detector's decisions over a whole clip: "started" / "stopped", in order."""
    detector = SpeechDetector()
    assert detector._vad.model_based, "the Silero model file is installed (scripts/ensure-vad.sh)"
    events: list[str] = []
    padded = np.concatenate([samples, np.zeros(48_000, dtype=np.int16)])
    for index in range(len(padded) // FRAME_SAMPLES):
        frame = padded[index * FRAME_SAMPLES : (index + 1) * FRAME_SAMPLES]
        decision = detector.feed(frame, index, threshold=0.5, silence_ms=500)
        events += ["started"] * decision.started + ["stopped"] * decision.stopped
    return events


VOICES = ("tv", "echo", "mmhm")


@pytest.mark.parametrize("clip", [c for c in NOISE_CLIPS if c not in VOICES])
def test_room_noise_is_not_a_turn(clip: str) -> None:
    assert turns(read_wav_48k(NOISE_DIR / f"{clip}.wav")) == []


@pytest.mark.parametrize("clip", VOICES)
def test_voices_are_turns_for_the_page_to_judge(clip: str) -> None:
    found = turns(read_wav_48k(NOISE_DIR / f"{clip}.wav"))
    assert found and found[0] == "started" and found[-1] == "stopped"


def test_speech_is_a_turn_even_over_a_fan() -> None:
    speech = read_wav_48k(AUDIO_DIR / "learner_hello.wav")
    assert turns(speech) == ["started", "stopped"]
    fan = read_wav_48k(NOISE_DIR / "fan.wav")
    mixed = fan[: len(speech)].astype(np.int32) + speech.astype(np.int32)
    assert turns(np.clip(mixed, -32768, 32767).astype(np.int16)) == ["started", "stopped"]
