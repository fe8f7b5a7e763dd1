"""The simulator's speech model: Silero VAD v5 on onnxruntime, the very model the page
runs in the browser (assets/vad/silero_vad_v5.onnx, installed by scripts/ensure-vad.sh).

A level detector (or webrtcvad alone) takes typing, coughs and a fan for speech; the
simulator must not, or `make run` and the tests would show a tutor that the real
provider's VAD would not. Without the model file it falls back to webrtcvad and says so
in the log once.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import webrtcvad

logger = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).resolve().parents[2] / "assets" / "vad" / "silero_vad_v5.onnx"
MODEL_RATE = 16_000
MODEL_FRAME = 512  # 32 ms at 16 kHz
# v5 reads the last 64 samples of the previous frame with each new one.
CONTEXT = 64


@cache
def _session() -> onnxruntime.InferenceSession | None:
    if not MODEL_PATH.exists():
        logger.warning(
            "simulator: %s is missing (run scripts/ensure-vad.sh); falling back to webrtcvad, "
            "which takes some noises for speech",
            MODEL_PATH,
        )
        return None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(MODEL_PATH), options, providers=["CPUExecutionProvider"])


class SpeechProbability:
    """Speech probability of a 48 kHz mono int16 stream, fed 20 ms at a time.

    The model judges 32 ms frames at 16 kHz; `feed` returns the latest judgement, which
    is at most one model frame old.
    """

    def __init__(self) -> None:
        self._session = _session()
        self._webrtc = webrtcvad.Vad(3) if self._session is None else None
        self._pending = np.zeros(0, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._sr = np.array(MODEL_RATE, dtype=np.int64)
        self.probability = 0.0

    @property
    def model_based(self) -> bool:
        return self._session is not None

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)
        self._context[:] = 0
        self._state[:] = 0
        self.probability = 0.0

    def feed(self, samples_48k: np.ndarray) -> float:
        if self._webrtc is not None:
            return 1.0 if self._webrtc.is_speech(samples_48k.tobytes(), 48_000) else 0.0
        # 48 kHz → 16 kHz: average each group of three (a short low-pass), keep one.
        usable = len(samples_48k) // 3 * 3
        down = samples_48k[:usable].astype(np.float32).reshape(-1, 3).mean(axis=1) / 32768.0
        self._pending = np.concatenate([self._pending, down])
        while len(self._pending) >= MODEL_FRAME:
            frame, self._pending = self._pending[:MODEL_FRAME], self._pending[MODEL_FRAME:]
            self.probability = self._run(frame)
        return self.probability

    def _run(self, frame: np.ndarray) -> float:
        assert self._session is not None
        batch = np.concatenate([self._context, frame])[np.newaxis, :]
        self._context = frame[-CONTEXT:]
        inputs: dict[str, Any] = {"input": batch, "state": self._state, "sr": self._sr}
        output, self._state = self._session.run(None, inputs)
        return float(output[0][0])
