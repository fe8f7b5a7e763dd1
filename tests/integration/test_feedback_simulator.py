"""The local simulator's /v1/responses and /v1/audio/speech, driven by the openai SDK
exactly as the app drives them (the simulator runs in process over ASGI)."""

from __future__ import annotations

import io
import json
import wave
from collections.abc import AsyncIterator

import av
import httpx
import httpx2
import pytest
from openai import AsyncOpenAI
from openai.lib._parsing._responses import type_to_text_format_param
from openai.lib._pydantic import to_strict_json_schema
from starlette.applications import Starlette

from fluentio.feedback.analysis import build_input, prepare_transcript
from fluentio.feedback.fluency import Line
from fluentio.feedback.schema import FeedbackAnswer
from fluentio.settings import SIMULATOR_OPENAI_KEY
from fluentio.simulator import responses, speech
from fluentio.simulator.responses import analyse_transcript, correct_sentence
from fluentio.simulator.script import LEARNER_LINES

APP = Starlette(routes=[*responses.routes, *speech.routes])
TRANSCRIPT = "\n".join(f"Tutor: Tell me more.\nLearner: {line}" for line in LEARNER_LINES)


@pytest.fixture
async def client() -> AsyncIterator[AsyncOpenAI]:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=APP))
    async with AsyncOpenAI(
        base_url="http://sim/v1", api_key=SIMULATOR_OPENAI_KEY, http_client=http, max_retries=0
    ) as openai_client:
        yield openai_client


@pytest.fixture
async def raw() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=APP),
        base_url="http://sim",
        headers={"Authorization": f"Bearer {SIMULATOR_OPENAI_KEY}"},
    ) as http:
        yield http


def request_body(transcript: str = TRANSCRIPT) -> dict[str, object]:
    return {
        "model": "gpt-4o-mini",
        "input": [
            {"role": "system", "content": "Analyse."},
            {"role": "user", "content": f"Transcript:\n{transcript}"},
        ],
        "text": {"format": type_to_text_format_param(FeedbackAnswer)},
    }


async def test_responses_parse_accepts_the_simulators_answer(client: AsyncOpenAI) -> None:
    lines = [
        Line("learner" if i % 2 else "tutor", LEARNER_LINES[i // 2] if i % 2 else "Go on.") for i in range(22)
    ]
    response = await client.responses.parse(
        model="gpt-4o-mini",
        input=build_input(prepare_transcript(lines), level="B1", topic="x"),  # type: ignore[arg-type]
        text_format=FeedbackAnswer,
    )
    assert response.status == "completed" and response.object == "response"
    parsed = response.output_parsed
    assert isinstance(parsed, FeedbackAnswer)
    assert len(parsed.corrections) >= 10
    assert parsed.bad_patterns and parsed.suggestions and parsed.summary
    assert response.usage is not None and response.usage.total_tokens > 0


async def test_the_answer_is_deterministic_and_matches_the_request_schema(raw: httpx.AsyncClient) -> None:
    first = (await raw.post("/v1/responses", json=request_body())).json()
    second = (await raw.post("/v1/responses", json=request_body())).json()
    text = first["output"][0]["content"][0]["text"]
    assert text == second["output"][0]["content"][0]["text"]
    answer = json.loads(text)
    FeedbackAnswer.model_validate(answer)
    responses.validate(answer, to_strict_json_schema(FeedbackAnswer))


def test_corrections_follow_the_classrooms_scripted_learner() -> None:
    expected = {
        "Yesterday I go to the market and buy two apple.": "Yesterday I went to the market and bought two apples.",
        "After that I have meet my friend and we was talking about the movie.": (
            "After that I met my friend and we were talking about the movie."
        ),
        "It is about a man who want to travel in the space.": "It is about a man who wants to travel into space.",
        "I am working like a software developer in a small company.": (
            "I work as a software developer in a small company."
        ),
        "I enjoy to solve problems and to learn the new technologies.": (
            "I enjoy solving problems and learning new technologies."
        ),
    }
    for original, corrected in expected.items():
        found = correct_sentence(original)
        assert found is not None and found.corrected == corrected
    assert correct_sentence("Does he like pizza?") is None
    assert correct_sentence("Many people who want to go there are here.") is None
    he = correct_sentence("He don't like two apple and I am student.")
    assert he is not None and he.corrected == "He doesn't like two apples and I am a student."
    th = correct_sentence("I have tree brothers.")
    assert th is not None and th.category == "pronunciation"
    um = correct_sentence("Um, I, uh, like it.")
    assert um is not None and um.category == "fluency"


def test_a_clean_transcript_gets_no_corrections() -> None:
    answer = analyse_transcript("Learner: I went to the cinema yesterday because it was raining.")
    assert answer["corrections"] == [] and answer["badPatterns"] == []
    assert "Well done" in answer["summary"]


async def test_a_schema_that_is_not_strict_is_refused_like_openai(raw: httpx.AsyncClient) -> None:
    body = request_body()
    loose = json.loads(json.dumps(type_to_text_format_param(FeedbackAnswer)))
    loose["schema"]["required"].remove("newWords")
    body["text"] = {"format": loose}
    response = await raw.post("/v1/responses", json=body)
    assert response.status_code == 400
    assert "newWords" in response.json()["error"]["message"]


async def test_the_simulator_requires_its_key(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        "/v1/responses", json=request_body(), headers={"Authorization": "Bearer sk-wrong"}
    )
    assert response.status_code == 401
    speech_response = await raw.post(
        "/v1/audio/speech",
        json={"model": "m", "voice": "alloy", "input": "Hi"},
        headers={"Authorization": "Bearer sk-wrong"},
    )
    assert speech_response.status_code == 401


async def test_speech_is_real_audio_in_the_requested_format(client: AsyncOpenAI) -> None:
    mp3 = await client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input="Yesterday I went to the market."
    )
    assert mp3.response.headers["content-type"] == "audio/mpeg"
    with av.open(io.BytesIO(mp3.content)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name in ("mp3", "mp3float")
        decoded = sum(frame.samples for frame in container.decode(stream))
    assert decoded > 24_000 * 0.8  # most of a second of speech at least

    wav = await client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input="Hello.", response_format="wav"
    )
    assert wav.response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(wav.content)) as parsed:
        assert parsed.getframerate() == 24_000 and parsed.getnframes() > 2_400


async def test_speech_without_espeak_plays_the_fallback_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speech.shutil, "which", lambda _name: None)
    samples = await speech.speak("Anything at all.")
    assert len(samples) == len(speech.fallback_samples()) > 24_000
    assert abs(samples.astype(int)).max() > 1_000  # audible, not silence


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"model": "m", "voice": "alloy", "input": ""}, "input"),
        ({"model": "m", "voice": "alloy", "input": "x" * 5000}, "input"),
        ({"model": "m", "input": "Hi"}, "voice"),
        ({"model": "m", "voice": "alloy", "input": "Hi", "response_format": "ogg"}, "response_format"),
    ],
)
async def test_bad_speech_requests_are_400(
    raw: httpx.AsyncClient, body: dict[str, object], problem: str
) -> None:
    response = await raw.post("/v1/audio/speech", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == problem
