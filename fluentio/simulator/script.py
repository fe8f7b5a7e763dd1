"""What the simulated tutor says and what the simulated learner "said".

The tutor's lines are real speech recorded once with espeak-ng (voices/*.wav, texts in
voices/index.json, rendered by scripts/make-sim-voices.sh). Replies are chosen by turn
number, so a session always unfolds the same way: the greeting first, then line
((n - 1) mod 11) + 1 for the n-th reply after it.

Nothing here can understand the learner's audio offline, so each learner turn is given a
scripted, clearly simulated transcript: plausible sentences with typical mistakes, in the
order the tutor's corrections expect them. The feedback simulator derives its corrections
from these sentences. Each transcript comes with token log-probabilities, as the real API
sends them when asked to: every word is sure except the few in UNCLEAR_WORDS, which the
recogniser "heard" badly.
"""

from __future__ import annotations

import json
import math
import re
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av
import numpy as np

VOICES_DIR = Path(__file__).resolve().parent / "voices"
SAMPLE_RATE = 48_000

LEARNER_LINES: tuple[str, ...] = (
    "Yesterday I go to the market and buy two apple.",
    "After that I have meet my friend and we was talking about the movie.",
    "It is about a man who want to travel in the space.",
    "Yes, I would like it very much, but I am afraid from the height.",
    "On weekends I usually staying at home and I am reading books.",
    "I like very much the detective stories, they are more interesting for me.",
    "My favourite author is Agatha Christie, I am reading her books since five years.",
    "I am working like a software developer in a small company.",
    "I enjoy to solve problems and to learn the new technologies.",
    "Thank you, I want improve my speaking for the job interviews.",
    "Yes, please. I am ready for answer the questions.",
)

# The words the simulated recogniser is unsure of, with how sure it was (0–1).
UNCLEAR_WORDS: dict[str, float] = {"market": 0.31, "travel": 0.42, "technologies": 0.28}
CLEAR_CONFIDENCE = 0.97
# Words are cut into tokens of at most this many characters, like a BPE vocabulary's
# common pieces; punctuation is a token of its own.
TOKEN_CHARS = 4


@dataclass(frozen=True)
class TutorLine:
    """One scripted reply: its text, its speech at 48 kHz, and when each word ends."""

    id: str
    text: str
    pcm: np.ndarray  # int16 mono at SAMPLE_RATE
    word_ends: tuple[float, ...]  # fraction of the audio at which each word is spoken

    @property
    def words(self) -> list[str]:
        return self.text.split(" ")

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // SAMPLE_RATE

    def spoken_text(self, audio_ms: int) -> str:
        """The words fully spoken within the first `audio_ms` of the line."""
        if audio_ms >= self.duration_ms:
            return self.text
        heard = audio_ms / max(self.duration_ms, 1)
        words = [w for w, end in zip(self.words, self.word_ends, strict=True) if end <= heard]
        return " ".join(words)


def _word_ends(text: str) -> tuple[float, ...]:
    # Word timing proportional to characters: close enough for espeak's even pace.
    words = text.split(" ")
    total = sum(len(w) + 1 for w in words)
    ends, position = [], 0
    for word in words:
        position += len(word) + 1
        ends.append(position / total)
    return tuple(ends)


def _read_wav_48k(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path.name}: expected 16-bit PCM")
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate == SAMPLE_RATE:
        return samples.copy()
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts).astype(np.int16)


@cache
def tutor_lines() -> tuple[TutorLine, ...]:
    """Every scripted tutor line, loaded and resampled once per process."""
    index = json.loads((VOICES_DIR / "index.json").read_text())
    return tuple(
        TutorLine(
            id=entry["id"],
            text=entry["text"],
            pcm=_read_wav_48k(VOICES_DIR / entry["file"]),
            word_ends=_word_ends(entry["text"]),
        )
        for entry in index["lines"]
    )


def tutor_reply(reply_number: int) -> TutorLine:
    """The tutor's line for its `reply_number`-th reply of a call (0 = the greeting)."""
    lines = tutor_lines()
    if reply_number == 0:
        return lines[0]
    return lines[1 + (reply_number - 1) % (len(lines) - 1)]


def transcript_logprobs(transcript: str) -> list[dict[str, object]]:
    """The transcript as tokens with log-probabilities (the API's `logprobs` entries)."""
    tokens: list[dict[str, object]] = []
    for index, word in enumerate(transcript.split(" ")):
        pieces = re.findall(r"[\w']+|[^\w']", word)
        sure = UNCLEAR_WORDS.get(word.strip(".,!?").lower(), CLEAR_CONFIDENCE)
        first = True
        for piece in pieces:
            chunks = [piece[i : i + TOKEN_CHARS] for i in range(0, len(piece), TOKEN_CHARS)]
            for chunk in chunks:
                text = (" " if first and index else "") + chunk
                first = False
                logprob = math.log(sure if chunk[0].isalnum() else CLEAR_CONFIDENCE)
                tokens.append({"token": text, "logprob": logprob, "bytes": list(text.encode())})
    return tokens


def learner_transcript(turn_number: int) -> str:
    """The simulated transcript of the learner's `turn_number`-th turn (1-based)."""
    return LEARNER_LINES[(turn_number - 1) % len(LEARNER_LINES)]
