"""What the simulated tutor says and what the simulated learner "said".

The tutor's lines are real speech recorded once with espeak-ng (voices/*.wav, texts in
voices/index.json, rendered by scripts/make-sim-voices.sh). Replies are chosen by turn
number, so a session always unfolds the same way: the greeting first, then line
((n - 1) mod 11) + 1 for the n-th reply after it.

Other languages (fluentio/languages.py) have a shorter script each: the tutor's lines in
voices/<code>/index.json (spoken by espeak-ng's voice for the language) and the learner's
in LEARNER_LINES_BY_LANGUAGE. A call uses the script of its transcription language
(`audio.input.transcription.language` of the session config), English when unset.

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

# The learner's lines in the other languages, with typical mistakes that the tutor's
# lines (voices/<code>/index.json) and the feedback simulator (foreign_rules.py) correct.
LEARNER_LINES_BY_LANGUAGE: dict[str, tuple[str, ...]] = {
    "es": (
        "Ayer yo va al mercado y compro dos manzana.",
        "Después yo encontré mi amigo y nosotros hablaba de una película.",
        "Es sobre un hombre que quiere viajar a la espacio.",
        "Los fines de semana normalmente yo estoy leyendo libros en casa.",
    ),
    "fr": (
        "Hier je vais au marché et j'achète deux pomme.",
        "Après je suis rencontré mon ami et nous avons parlé de un film.",
        "C'est un homme qui veut voyager dans la espace.",
        "Le week-end je lis beaucoup des livres à la maison.",
    ),
    "de": (
        "Gestern ich bin zum Markt gegangen und habe zwei Apfel gekauft.",
        "Danach ich habe meinen Freund getroffen und wir hat über einen Film gesprochen.",
        "Er möchte in der Weltraum reisen.",
        "Am Wochenende ich lese oft Bücher zu Hause.",
    ),
    "it": (
        "Ieri io vado al mercato e compro due mela.",
        "Dopo ho incontrato il mio amico e abbiamo visto un film molto interessanto.",
        "Parla di un uomo che vuole viaggiare nel spazio.",
        "Nel fine settimana di solito io sto leggendo libri a casa.",
    ),
    "pt": (
        "Ontem eu vou ao mercado e compro duas maçã.",
        "Depois eu encontrei meu amigo e nós falou sobre um filme.",
        "É sobre um homem que quer viajar para a espaço.",
        "Nos fins de semana normalmente eu estou lendo livros em casa.",
    ),
}

# The words the simulated recogniser is unsure of, with how sure it was (0–1).
UNCLEAR_WORDS: dict[str, float] = {"market": 0.31, "travel": 0.42, "technologies": 0.28}
UNCLEAR_WORDS_BY_LANGUAGE: dict[str, dict[str, float]] = {
    "en": UNCLEAR_WORDS,
    "es": {"mercado": 0.31},
    "fr": {"marché": 0.31},
    "de": {"markt": 0.31},
    "it": {"mercato": 0.31},
    "pt": {"mercado": 0.31},
}
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


def script_language(language: str | None) -> str:
    """The script a call in `language` uses: its own, or English when there is none."""
    code = (language or "").strip().lower()
    return code if code in LEARNER_LINES_BY_LANGUAGE else "en"


@cache
def tutor_lines(language: str = "en") -> tuple[TutorLine, ...]:
    """Every scripted tutor line of a language, loaded and resampled once per process."""
    code = script_language(language)
    folder = VOICES_DIR if code == "en" else VOICES_DIR / code
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    return tuple(
        TutorLine(
            id=entry["id"],
            text=entry["text"],
            pcm=_read_wav_48k(folder / entry["file"]),
            word_ends=_word_ends(entry["text"]),
        )
        for entry in index["lines"]
    )


def tutor_reply(reply_number: int, language: str = "en") -> TutorLine:
    """The tutor's line for its `reply_number`-th reply of a call (0 = the greeting)."""
    lines = tutor_lines(script_language(language))
    if reply_number == 0:
        return lines[0]
    return lines[1 + (reply_number - 1) % (len(lines) - 1)]


def transcript_logprobs(transcript: str, language: str = "en") -> list[dict[str, object]]:
    """The transcript as tokens with log-probabilities (the API's `logprobs` entries)."""
    unclear = UNCLEAR_WORDS_BY_LANGUAGE[script_language(language)]
    tokens: list[dict[str, object]] = []
    for index, word in enumerate(transcript.split(" ")):
        pieces = re.findall(r"[\w']+|[^\w']", word)
        sure = unclear.get(word.strip(".,!?¿¡").lower(), CLEAR_CONFIDENCE)
        first = True
        for piece in pieces:
            chunks = [piece[i : i + TOKEN_CHARS] for i in range(0, len(piece), TOKEN_CHARS)]
            for chunk in chunks:
                text = (" " if first and index else "") + chunk
                first = False
                logprob = math.log(sure if chunk[0].isalnum() else CLEAR_CONFIDENCE)
                tokens.append({"token": text, "logprob": logprob, "bytes": list(text.encode())})
    return tokens


def learner_transcript(turn_number: int, language: str = "en") -> str:
    """The simulated transcript of the learner's `turn_number`-th turn (1-based)."""
    code = script_language(language)
    lines = LEARNER_LINES if code == "en" else LEARNER_LINES_BY_LANGUAGE[code]
    return lines[(turn_number - 1) % len(lines)]
