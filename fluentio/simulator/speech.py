"""`POST /v1/audio/speech` of the local simulator: real speech for any text, offline.

Where `espeak-ng` is installed (Debian/Ubuntu: `apt-get install espeak-ng`; the test
machines have it) the requested sentence itself is spoken. Without it the answer is a
committed recording that says so ("install espeak-ng to hear the corrected sentence"),
so the app still plays real audio. The sound is encoded with PyAV (already installed for
the Realtime simulator) into the requested `response_format` at 24 kHz like OpenAI's,
and sent with that format's content type. The voice speaks the language the request's
`instructions` name ("Speak in Spanish, …", as fluentio/feedback/speech.py asks), with
espeak-ng's voice for it from fluentio/languages.py; English otherwise.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import struct
import wave
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fluentio.languages import LANGUAGES, get_language
from fluentio.simulator.auth import server_key_error
from fluentio.simulator.responses import error

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream

logger = logging.getLogger(__name__)

FALLBACK_CLIP = Path(__file__).resolve().parent / "speech_fallback.wav"
OUTPUT_RATE = 24_000
MAX_INPUT_CHARS = 4_096
ESPEAK_TIMEOUT_SECONDS = 20.0
# (container, codec, content type) per response_format; wav and pcm are written directly.
ENCODINGS: dict[str, tuple[str, str, str]] = {
    "mp3": ("mp3", "libmp3lame", "audio/mpeg"),
    "opus": ("ogg", "libopus", "audio/ogg"),
    "aac": ("adts", "aac", "audio/aac"),
    "flac": ("flac", "flac", "audio/flac"),
}
FORMATS = (*ENCODINGS, "wav", "pcm")


def parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Mono int16 samples and the rate of a PCM WAV, tolerating the bogus chunk sizes
    espeak-ng writes when it streams to stdout."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    position, rate, channels = 12, 0, 1
    while position + 8 <= len(data):
        chunk, size = data[position : position + 4], struct.unpack("<I", data[position + 4 : position + 8])[0]
        body = position + 8
        if chunk == b"fmt ":
            channels, rate = struct.unpack("<HI", data[body + 2 : body + 8])
        elif chunk == b"data":
            end = min(len(data), body + size)
            samples = np.frombuffer(data[body : end - (end - body) % 2], dtype=np.int16)
            if channels > 1:
                samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
            return samples.astype(np.int16), rate
        position = body + size + (size % 2)
    raise ValueError("WAV without data")


def resample(samples: np.ndarray, rate: int, target: int = OUTPUT_RATE) -> np.ndarray:
    if rate == target or not len(samples):
        return samples
    positions = np.arange(0, len(samples) * target // rate) * (rate / target)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.int16)


def wav_bytes(samples: np.ndarray, rate: int = OUTPUT_RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def encode(samples: np.ndarray, response_format: str) -> tuple[bytes, str]:
    """24 kHz mono int16 samples in the requested format, and its content type."""
    if response_format == "wav":
        return wav_bytes(samples), "audio/wav"
    if response_format == "pcm":
        return samples.astype("<i2").tobytes(), "audio/pcm"
    import av  # heavy; only needed for compressed formats

    container_name, codec, content_type = ENCODINGS[response_format]
    rate = 48_000 if codec == "libopus" else OUTPUT_RATE
    source = resample(samples, OUTPUT_RATE, rate)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_name) as container:
        stream = cast("AudioStream", container.add_stream(codec, rate=rate, layout="mono"))
        frame_size = stream.codec_context.frame_size or 1024
        fmt = stream.codec_context.format.name
        pts = 0
        for start in range(0, len(source), frame_size):
            chunk = source[start : start + frame_size]
            if len(chunk) < frame_size and codec in ("aac", "libopus"):
                chunk = np.pad(chunk, (0, frame_size - len(chunk)))
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = pts
            pts += len(chunk)
            if fmt != "s16":
                frame = _convert(frame, fmt, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue(), content_type


def _convert(frame: AudioFrame, fmt: str, rate: int) -> AudioFrame:
    import av

    return av.AudioResampler(format=fmt, layout="mono", rate=rate).resample(frame)[0]


@cache
def fallback_samples() -> np.ndarray:
    samples, rate = parse_wav(FALLBACK_CLIP.read_bytes())
    return resample(samples, rate)


def voice_for(instructions: object) -> str:
    """The espeak-ng voice for the language named in `instructions` ("Speak in French…")."""
    text = instructions if isinstance(instructions, str) else ""
    for language in LANGUAGES:
        if f"speak in {language.name.lower()}" in text.lower():
            return language.espeak_voice
    return get_language(None).espeak_voice


async def speak(text: str, voice: str = "en-us") -> np.ndarray:
    """The text spoken at 24 kHz: espeak-ng when installed, else the fallback recording."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return fallback_samples()
    process = await asyncio.create_subprocess_exec(
        espeak,
        "-v",
        voice,
        "-s",
        "160",
        "--stdout",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        # The text goes in on stdin, never on the command line.
        output, _ = await asyncio.wait_for(process.communicate(text.encode()), ESPEAK_TIMEOUT_SECONDS)
        samples, rate = parse_wav(output)
    except (TimeoutError, ValueError) as exc:
        if process.returncode is None:
            process.kill()
        logger.warning("simulator speech: espeak-ng failed (%s); using the fallback clip", exc)
        return fallback_samples()
    return resample(samples, rate)


async def create_speech(request: Request) -> Response:
    if (denied := server_key_error(request)) is not None:
        return denied
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error(400, "We could not parse the JSON body of your request.")
    if not isinstance(body, dict):
        return error(400, "The request body must be a JSON object.")
    text = body.get("input")
    for name in ("model", "voice"):
        if not body.get(name):
            return error(400, f"Missing required parameter: '{name}'.", param=name)
    if not isinstance(text, str) or not text.strip():
        return error(400, "Missing required parameter: 'input'.", param="input")
    if len(text) > MAX_INPUT_CHARS:
        return error(400, f"'input' is longer than {MAX_INPUT_CHARS} characters.", param="input")
    response_format = body.get("response_format") or "mp3"
    if response_format not in FORMATS:
        return error(400, f"'response_format' must be one of {', '.join(FORMATS)}.", param="response_format")
    samples = await speak(text, voice_for(body.get("instructions")))
    audio, content_type = await asyncio.to_thread(encode, samples, response_format)
    return Response(audio, media_type=content_type)


routes: list[BaseRoute] = [Route("/v1/audio/speech", create_speech, methods=["POST"])]
