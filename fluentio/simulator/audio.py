"""The simulator's media: the tutor's outbound voice and voice activity detection inbound.

Outbound is a track that hands aiortc one 20 ms frame at 48 kHz each time it asks, paced
by the wall clock. Each frame is pulled from the call at the moment it is sent, so a
barge-in takes effect on the very next frame and the call always knows exactly how much
audio the learner has received.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from fluentio.simulator.vad import SpeechProbability

SAMPLE_RATE = 48_000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
_TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
_SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)
# If the loop stalls for longer than this, restart the clock rather than send a burst.
_MAX_LAG_S = 0.2
# The speech model's probability above which a frame is voiced (Silero's own default).
SPEECH_PROBABILITY = 0.5


class TutorVoiceTrack(MediaStreamTrack):
    """Outbound audio: `pull()` returns the next 960 samples, or None for silence."""

    kind = "audio"

    def __init__(self, pull: Callable[[], np.ndarray | None]) -> None:
        super().__init__()
        self._pull = pull
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / SAMPLE_RATE - now
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -_MAX_LAG_S:
                self._start = now - self._pts / SAMPLE_RATE
        samples = self._pull()
        frame = av.AudioFrame.from_ndarray(
            (_SILENCE if samples is None else samples).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = _TIME_BASE
        return frame


def mono_48k(frame: av.AudioFrame) -> np.ndarray:
    """An inbound decoded frame (s16, often stereo) as int16 mono samples."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        samples = data.astype(np.int32).mean(axis=0) if channels > 1 else data[0]
    else:
        flat = data.reshape(-1)
        samples = flat.reshape(-1, channels).astype(np.int32).mean(axis=1) if channels > 1 else flat
    if frame.sample_rate != SAMPLE_RATE:
        raise ValueError(f"unexpected inbound sample rate {frame.sample_rate}")
    return np.asarray(samples, dtype=np.int16)


def rms_dbfs(samples: np.ndarray) -> float:
    if len(samples) == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(samples.astype(np.float64) ** 2)))
    return 20 * math.log10(max(rms, 1e-9) / 32768)


@dataclass
class VadDecision:
    started: bool = False  # speech confirmed
    stopped: bool = False  # the turn is over
    tentative: bool = False  # voice heard, not yet confirmed


class SpeechDetector:
    """Server VAD: a speech model (fluentio/simulator/vad.py) on 20 ms frames plus a
    loudness floor.

    Speech starts after `confirm_frames` voiced frames in a row (the onset is the first of
    them) and stops after `silence_ms` without voice. Until it is confirmed, a voiced frame
    is reported as `tentative`, so the tutor can hold its voice at once (barge-in speed)
    and go on if it was only a click.
    """

    def __init__(self, *, confirm_frames: int = 3) -> None:
        self._vad = SpeechProbability()
        self.confirm_frames = confirm_frames
        self.speaking = False
        self._voiced_run = 0
        self._quiet_ms = 0
        self.onset_frame = 0

    def reset(self) -> None:
        self._vad.reset()
        self.speaking = False
        self._voiced_run = 0
        self._quiet_ms = 0

    def feed(
        self, samples: np.ndarray, frame_index: int, *, threshold: float, silence_ms: int
    ) -> VadDecision:
        # threshold 0.5 (the API default) asks for at least -45 dBFS; 1.0 for -20 dBFS.
        floor = -70 + 50 * min(max(threshold, 0.0), 1.0)
        # The model hears every frame (it keeps state); a quiet frame never counts.
        probability = self._vad.feed(samples)
        voiced = rms_dbfs(samples) >= floor and probability >= SPEECH_PROBABILITY
        decision = VadDecision()
        if not self.speaking:
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self.confirm_frames:
                self.speaking = True
                self._quiet_ms = 0
                self.onset_frame = frame_index - self._voiced_run + 1
                decision.started = True
            else:
                decision.tentative = self._voiced_run > 0
        else:
            self._quiet_ms = 0 if voiced else self._quiet_ms + FRAME_MS
            if self._quiet_ms >= silence_ms:
                self.speaking = False
                self._voiced_run = 0
                decision.stopped = True
        return decision
