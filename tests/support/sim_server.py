"""Run the local OpenAI simulator alone for tests, and a fake learner to call it.

    with running_simulator(log_dir) as sim:
        client = AsyncOpenAI(base_url=sim.base_url, api_key=sim.api_key)
        learner = LearnerPeer()
        answer = await learner.call_with_ephemeral_key(sim, session={...})
        ...
        events = sim.call_events(learner.call_id)   # what the simulator sent and received

`LearnerPeer` is an aiortc client standing in for the browser: it sends a microphone
track (silence, or a WAV when told to speak), opens the `oai-events` data channel and
records every server event and the RMS of each 20 ms of tutor audio it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import math
import os
import signal
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from fluentio.settings import SIMULATOR_OPENAI_KEY
from tests.support.app_server import free_port

ROOT = Path(__file__).resolve().parents[2]
AUDIO_DIR = ROOT / "tests" / "assets" / "audio"
RATE = 48_000
FRAME = 960


@dataclass
class RunningSimulator:
    root_url: str  # http://127.0.0.1:PORT
    process: subprocess.Popen[bytes]
    log_path: Path
    api_key: str = SIMULATOR_OPENAI_KEY

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (what AsyncOpenAI(base_url=...) takes)."""
        return self.root_url + "/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call_events(self, call_id: str) -> dict[str, Any]:
        """The simulator's record of a call: `server` events sent, `client` events received."""
        response = httpx.get(
            f"{self.base_url}/_debug/calls/{call_id}/events",
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=10,
        )
        response.raise_for_status()
        return dict(response.json())


@contextlib.contextmanager
def running_simulator(
    log_dir: Path, *, timeout: float = 30.0, api_key: str = SIMULATOR_OPENAI_KEY
) -> Iterator[RunningSimulator]:
    """`python -m fluentio.simulator` on a free port; stopped (its own process group) on exit.

    `api_key` is the server key it accepts (passed as OPENAI_API_KEY, as in production)."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"simulator-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "fluentio.simulator", "--port", str(port), "--log-level", "info"],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "OPENAI_API_KEY": api_key,
                # Its debug routes (call records) exist only in tests.
                "FLUENTIO_ENV": "test",
            },
            start_new_session=True,
        )
    sim = RunningSimulator(
        root_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path, api_key=api_key
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the simulator exited at start-up:\n{sim.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if (
                    httpx.get(
                        f"{sim.base_url}/_debug/calls",
                        headers={"Authorization": f"Bearer {sim.api_key}"},
                        timeout=2,
                    ).status_code
                    == 200
                ):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not answer within {timeout:.0f} s:\n{sim.log()}")
            time.sleep(0.2)
        yield sim
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def read_wav_48k(path: Path) -> np.ndarray:
    """A WAV file as int16 mono at 48 kHz."""
    with wave.open(str(path), "rb") as wav:
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate != RATE:
        positions = np.arange(0, len(samples), rate / RATE)
        samples = np.interp(positions, np.arange(len(samples)), samples.astype(np.float64)).astype(np.int16)
    return samples


def speech_onset_s(samples: np.ndarray, *, dbfs: float = -40.0) -> float:
    """Seconds into `samples` of the first 20 ms frame louder than `dbfs`."""
    for index in range(0, len(samples) - FRAME, FRAME):
        if rms_dbfs(samples[index : index + FRAME]) > dbfs:
            return index / RATE
    return len(samples) / RATE


def rms_dbfs(samples: np.ndarray) -> float:
    rms = math.sqrt(float(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
    return 20 * math.log10(max(rms, 1e-9) / 32768)


class LearnerMic(MediaStreamTrack):
    """A microphone: silence, or the samples queued by `play()`, in 20 ms frames."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue = np.empty(0, dtype=np.int16)
        self._start: float | None = None
        self._pts = 0
        self.play_started_at: float | None = None  # monotonic time the queued audio began

    def play(self, samples: np.ndarray) -> None:
        self._queue = np.concatenate([self._queue, samples])
        self.play_started_at = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            wait = self._start + self._pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if len(self._queue):
            if self.play_started_at is None:
                self.play_started_at = time.monotonic()
            chunk, self._queue = self._queue[:FRAME], self._queue[FRAME:]
            chunk = np.concatenate([chunk, np.zeros(FRAME - len(chunk), dtype=np.int16)])
        else:
            chunk = np.zeros(FRAME, dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


@dataclass
class LearnerPeer:
    """A browser stand-in: mic track, `oai-events` channel, tutor audio levels."""

    with_audio: bool = True
    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[])))
    mic: LearnerMic = field(default_factory=LearnerMic)
    events: list[dict[str, Any]] = field(default_factory=list)
    levels: list[tuple[float, float]] = field(default_factory=list)  # (monotonic time, dBFS) per frame
    call_id: str | None = None
    channel_open: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def offer(self) -> str:
        if self.with_audio:
            self.pc.addTrack(self.mic)
        self.channel = self.pc.createDataChannel("oai-events")
        self.channel.on("open", self.channel_open.set)
        self.channel.on("message", lambda message: self.events.append(json.loads(message)))
        self.pc.on("track", self._on_track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str, location: str) -> None:
        self.call_id = location.rstrip("/").rsplit("/", 1)[-1]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "audio":
                # Like a browser's short jitter buffer (aiortc's default holds 80 ms), so
                # tutor audio levels are timed close to what a learner hears.
                transceiver.receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=16, prefetch=0)

    async def call_with_ephemeral_key(self, sim: RunningSimulator, ephemeral_key: str) -> httpx.Response:
        """The browser's "ephemeral" signalling: POST the SDP itself with an ek_ key."""
        sdp = await self.offer()
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{sim.base_url}/realtime/calls",
                content=sdp,
                headers={"Authorization": f"Bearer {ephemeral_key}", "Content-Type": "application/sdp"},
            )
        if response.status_code == 201:
            await self.accept(response.text, response.headers["location"])
        return response

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            self._tasks.append(asyncio.ensure_future(self._listen(track)))

    async def _listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                frame = await track.recv()
                data = frame.to_ndarray().reshape(-1).astype(np.int16)
                channels = len(frame.layout.channels)
                mono = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data
                self.levels.append((time.monotonic(), rms_dbfs(mono)))

    def event_types(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def wait_for(
        self, event_type: str, *, after: int = 0, within: float = 15.0, **match: Any
    ) -> dict[str, Any]:
        """The first event of `event_type` at index >= `after` whose fields equal `match`."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for event in self.events[after:]:
                if event["type"] == event_type and all(event.get(k) == v for k, v in match.items()):
                    return event
            await asyncio.sleep(0.01)
        raise AssertionError(
            f"no {event_type} {match or ''} within {within} s; got {self.event_types()[after:]}"
        )

    def loud_seconds(self, since: float, until: float | None = None, *, dbfs: float = -45.0) -> float:
        """Seconds of received tutor audio louder than `dbfs` in [since, until)."""
        frames = [
            t for t, level in self.levels if t >= since and (until is None or t < until) and level > dbfs
        ]
        return len(frames) * FRAME / RATE

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
