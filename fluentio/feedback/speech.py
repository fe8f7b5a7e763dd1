""" "Hear it": corrected sentences spoken by OpenAI's Speech API, cached in the database.

A clip is stored once per (model, voice, language, text) — the cache key is their SHA-256 — so a
replay, by this learner or any other, never calls (or bills) the API again. Two plays
of a new sentence at the same moment make one call: a per-key lock in this process, and
the table's unique key across processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Literal

import openai
import sqlalchemy as sa
from sqlmodel import Session, col, select

from fluentio.db import off_loop, session_scope
from fluentio.languages import get_language
from fluentio.models import Feedback, PracticeSession
from fluentio.models.tutor import Correction, SpeechClip
from fluentio.openai_client import openai_client
from fluentio.settings import Settings, get_settings

logger = logging.getLogger(__name__)

RESPONSE_FORMAT: Literal["mp3"] = "mp3"
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
MAX_SPEECH_CHARS = 1_000
REQUEST_TIMEOUT_SECONDS = 30.0

_locks: dict[str, asyncio.Lock] = {}


class SpeechUnavailableError(Exception):
    """The Speech API could not make the clip; `message` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Clip:
    cache_key: str
    content_type: str
    audio: bytes


def speech_cache_key(*, model: str, voice: str, text: str, language: str = "en") -> str:
    """The same words in two languages are two clips (`language`: fluentio/languages.py)."""
    return hashlib.sha256(f"{model}|{voice}|{language}|{text}".encode()).hexdigest()


def current_cache_key(text: str, settings: Settings | None = None, *, language: str = "en") -> str:
    """The key the clip for `text` has (or will have) under the current voice settings."""
    settings = settings or get_settings()
    return speech_cache_key(
        model=settings.speech_model, voice=settings.speech_voice, text=_speakable(text), language=language
    )


def speech_instructions(language: str) -> str:
    """What the Speech API is told about how to read (the simulator picks its voice from it)."""
    return (
        f"Speak in {get_language(language).name}, clearly, as a language teacher reading an example sentence."
    )


def _speakable(text: str) -> str:
    return " ".join(text.split())[:MAX_SPEECH_CHARS]


def cached_clip(*, session: Session, cache_key: str) -> Clip | None:
    row = session.exec(select(SpeechClip).where(SpeechClip.cache_key == cache_key)).first()
    return Clip(row.cache_key, row.content_type, row.audio) if row else None


def _store(*, session: Session, clip: Clip, model: str, voice: str, text: str) -> None:
    """Insert the clip unless another process stored the same key first."""
    exists = session.exec(select(SpeechClip.id).where(SpeechClip.cache_key == clip.cache_key)).first()
    if exists is not None:
        return
    try:
        with session.begin_nested():
            session.add(
                SpeechClip(
                    cache_key=clip.cache_key,
                    model=model,
                    voice=voice,
                    text=text,
                    content_type=clip.content_type,
                    audio=clip.audio,
                )
            )
    except sa.exc.IntegrityError:
        logger.info("speech clip %s was stored by another worker first", clip.cache_key[:12])


async def synthesise(text: str, *, settings: Settings, language: str = "en") -> tuple[bytes, str]:
    """Call the Speech API; the audio and its content type."""
    try:
        client = openai_client(timeout=REQUEST_TIMEOUT_SECONDS, max_retries=1, settings=settings)
        response = await client.audio.speech.create(
            model=settings.speech_model,
            voice=settings.speech_voice,
            input=text,
            instructions=speech_instructions(language),
            response_format=RESPONSE_FORMAT,
        )
    except openai.OpenAIError as exc:
        logger.warning("speech synthesis failed: %s", type(exc).__name__)
        raise SpeechUnavailableError("The audio could not be made right now. Try again in a moment.") from exc
    audio = response.content
    if not audio:
        raise SpeechUnavailableError("The audio came back empty. Try again in a moment.")
    header = response.response.headers.get("content-type", "").split(";")[0].strip()
    content_type = header if header.startswith("audio/") else CONTENT_TYPES[RESPONSE_FORMAT]
    return audio, content_type


async def clip_for_text(text: str, *, settings: Settings | None = None, language: str = "en") -> Clip:
    """The spoken `text` (in `language`): from the cache, or made once and cached."""
    settings = settings or get_settings()
    speakable = _speakable(text)
    if not speakable:
        raise SpeechUnavailableError("There is no sentence to speak.")
    key = speech_cache_key(
        model=settings.speech_model, voice=settings.speech_voice, text=speakable, language=language
    )

    def lookup() -> Clip | None:
        with session_scope() as session:
            return cached_clip(session=session, cache_key=key)

    if (clip := await off_loop(lookup)) is not None:
        return clip
    lock = _locks.setdefault(key, asyncio.Lock())
    try:
        async with lock:
            if (clip := await off_loop(lookup)) is not None:
                return clip
            audio, content_type = await synthesise(speakable, settings=settings, language=language)
            clip = Clip(key, content_type, audio)

            def store() -> None:
                with session_scope() as session:
                    _store(
                        session=session,
                        clip=clip,
                        model=settings.speech_model,
                        voice=settings.speech_voice,
                        text=speakable,
                    )

            await off_loop(store)
            return clip
    finally:
        if not lock.locked():
            _locks.pop(key, None)


def owned_correction_text(
    *, session: Session, user_id: uuid.UUID, correction_id: uuid.UUID
) -> tuple[str, str] | None:
    """The corrected sentence of one of this learner's corrections and the language it is
    in (its lesson's), or None."""
    row = session.exec(
        select(Correction.corrected, PracticeSession.language)
        .join(Feedback, col(Feedback.id) == col(Correction.feedback_id))
        .join(PracticeSession, col(PracticeSession.id) == col(Feedback.session_id))
        .where(col(Correction.id) == correction_id, col(PracticeSession.user_id) == user_id)
    ).first()
    return (row[0], row[1]) if row is not None else None
