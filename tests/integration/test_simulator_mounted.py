"""The simulator mounted in the production app (no OPENAI_API_KEY): headless Chromium
calls it over WebRTC from the app's own origin, the sideband joins through the mount.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openai import OpenAI

from fluentio.settings import SIMULATOR_OPENAI_KEY
from fluentio.simulator.validation import validate_client_event, validate_server_event
from tests.support.app_server import RunningApp
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.sim_server import AUDIO_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

# The browser's side of a call, as the classroom component does it ("ephemeral" mode).
CALL_JS = """
async ([base, key]) => {
  const events = [];
  const pc = new RTCPeerConnection();
  const mic = await navigator.mediaDevices.getUserMedia({audio: true});
  pc.addTrack(mic.getTracks()[0], mic);
  const channel = pc.createDataChannel("oai-events");
  channel.onmessage = (m) => events.push(JSON.parse(m.data));
  let level = 0;
  pc.ontrack = (e) => {
    // Chromium feeds remote WebRTC audio to WebAudio only while a media element plays it.
    const player = new Audio();
    player.srcObject = e.streams[0];
    player.muted = true;
    player.play();
    const ctx = new AudioContext();
    ctx.resume();
    const analyser = ctx.createAnalyser();
    ctx.createMediaStreamSource(e.streams[0]).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    setInterval(() => {
      analyser.getFloatTimeDomainData(data);
      level = Math.max(level, Math.max(...data.map(Math.abs)));
    }, 20);
  };
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(base + "/realtime/calls", {
    method: "POST", body: pc.localDescription.sdp,
    headers: {Authorization: "Bearer " + key, "Content-Type": "application/sdp"},
  });
  const location = response.headers.get("Location");
  await pc.setRemoteDescription({type: "answer", sdp: await response.text()});
  await new Promise((ok) => channel.readyState === "open" ? ok() : channel.addEventListener("open", ok));
  channel.send(JSON.stringify({type: "response.create"}));
  const until = (type) => new Promise((ok) => {
    const check = setInterval(() => { if (events.some((e) => e.type === type)) { clearInterval(check); ok(); } }, 20);
  });
  await until("output_audio_buffer.started");
  await until("conversation.item.input_audio_transcription.completed");
  window.__pc = pc;
  return {status: response.status, location, state: pc.connectionState, level, events};
}
"""


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    wav = AUDIO_DIR / "learner_barge_in.wav"
    assert wav.is_file()
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


def test_chromium_calls_the_mounted_simulator(app_server: RunningApp, chromium: Any) -> None:
    base = app_server.url("/sim/openai/v1")
    server_headers = {"Authorization": f"Bearer {SIMULATOR_OPENAI_KEY}"}
    secret = httpx.post(
        f"{base}/realtime/client_secrets",
        json={
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
            }
        },
        headers=server_headers,
        timeout=10,
    )
    assert secret.status_code == 200, secret.text
    page = chromium.new_page()
    page.goto(app_server.url("/healthz"))
    result = page.evaluate(CALL_JS, [base, secret.json()["value"]])
    assert result["status"] == 201
    assert result["state"] == "connected"
    assert result["level"] > 0.05, "no tutor audio reached the browser"
    types = [e["type"] for e in result["events"]]
    assert types[0] == "session.created"
    # The fake microphone's learner cut in on the greeting.
    assert "input_audio_buffer.speech_started" in types
    assert "output_audio_buffer.cleared" in types
    call_id = result["location"].rsplit("/", 1)[-1]

    client = OpenAI(base_url=base, api_key=SIMULATOR_OPENAI_KEY)
    with client.realtime.connect(call_id=call_id) as connection:
        assert json.loads(connection.recv_bytes())["type"] == "session.created"
        client.realtime.calls.hangup(call_id)
    page.wait_for_function("window.__pc.connectionState !== 'connected'", timeout=10_000)

    record = httpx.get(f"{base}/_debug/calls/{call_id}/events", headers=server_headers, timeout=10).json()
    assert record["state"] == "ended"
    for event in record["server"]:
        validate_server_event(event)
    assert record["client"] and all(c["valid"] for c in record["client"])
    for received in record["client"]:
        validate_client_event(received["event"])
