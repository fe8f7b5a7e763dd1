""" "Hear it": one Speech API call per (model, voice, text), and the route that serves it
to the correction's owner with the right content type and cache headers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.routing import Route

from fluentio.api.speech_routes import CACHE_CONTROL, correction_speech
from fluentio.auth.cookies import SESSION_COOKIE
from fluentio.auth.sessions import create_login_session
from fluentio.db import engine_for
from fluentio.feedback.speech import clip_for_text, current_cache_key, speech_cache_key
from fluentio.models.tutor import SpeechClip
from fluentio.settings import get_settings
from tests.support.factories import make_user
from tests.support.fake_feedback_api import FAKE_AUDIO, FakeOpenAI, Reply
from tests.support.feedback_data import add_feedback, add_practice_session

SPEECH = "/v1/audio/speech"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> Iterator[FakeOpenAI]:
    with FakeOpenAI().running() as fake:
        monkeypatch.setenv("DATABASE_URL", pg_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        monkeypatch.setenv("FLUENTIO_SPEECH_VOICE", "verse")
        monkeypatch.setenv("FLUENTIO_SPEECH_MODEL", "gpt-test-tts")
        get_settings.cache_clear()
        yield fake


def clips(url: str, key: str) -> list[SpeechClip]:
    with Session(engine_for(url)) as session:
        return list(session.exec(select(SpeechClip).where(SpeechClip.cache_key == key)).all())


async def test_a_replay_never_calls_the_api_twice(fake: FakeOpenAI, pg_url: str) -> None:
    text = f"I went to the market {uuid.uuid4().hex[:6]}."
    first = await clip_for_text(text)
    second = await clip_for_text(text)

    assert first == second
    assert first.audio == FAKE_AUDIO and first.content_type == "audio/mpeg"
    [call] = fake.calls(SPEECH)
    assert call.body == {
        "model": "gpt-test-tts",
        "voice": "verse",
        "input": text,
        "instructions": "Speak in English, clearly, as a language teacher reading an example sentence.",
        "response_format": "mp3",
    }
    key = speech_cache_key(model="gpt-test-tts", voice="verse", text=text)
    assert first.cache_key == key == current_cache_key(text)
    [row] = clips(pg_url, key)
    assert (row.model, row.voice, row.text) == ("gpt-test-tts", "verse", text)


async def test_two_first_plays_at_once_make_one_call(fake: FakeOpenAI, pg_url: str) -> None:
    fake.script = [Reply(body=FAKE_AUDIO, headers={"content-type": "audio/mpeg"}, delay=0.3)]
    text = f"She doesn't like apples {uuid.uuid4().hex[:6]}."
    results = await asyncio.gather(clip_for_text(text), clip_for_text(text), clip_for_text(text))
    assert len({r.cache_key for r in results}) == 1
    assert len(fake.calls(SPEECH)) == 1
    assert len(clips(pg_url, results[0].cache_key)) == 1


async def test_another_voice_is_another_clip(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    text = f"Two apples {uuid.uuid4().hex[:6]}."
    one = await clip_for_text(text)
    monkeypatch.setenv("FLUENTIO_SPEECH_VOICE", "alloy")
    get_settings.cache_clear()
    two = await clip_for_text(text)
    assert one.cache_key != two.cache_key
    assert len(fake.calls(SPEECH)) == 2


async def test_a_failed_synthesis_is_not_cached(fake: FakeOpenAI, pg_url: str) -> None:
    from fluentio.feedback.speech import SpeechUnavailableError

    fake.script = [Reply(500), Reply(500)]  # the SDK retries a speech call once
    text = f"Retry me {uuid.uuid4().hex[:6]}."
    with pytest.raises(SpeechUnavailableError):
        await clip_for_text(text)
    assert clips(pg_url, current_cache_key(text)) == []
    clip = await clip_for_text(text)
    assert clip.audio == FAKE_AUDIO


@pytest.fixture
async def http(fake: FakeOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[Route("/api/speech/{correction_id}", correction_speech)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        yield client


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


def owner_with_correction(url: str) -> tuple[str, str, str]:
    """(token of the owner, token of another learner, correction id)."""
    with Session(engine_for(url)) as session:
        owner, other = make_user(session), make_user(session)
        practice = add_practice_session(session, user_id=owner.id)
        feedback = add_feedback(session, practice, corrections=1)
        from fluentio.models.tutor import Correction

        correction = session.exec(select(Correction).where(Correction.feedback_id == feedback.id)).one()
        correction.corrected = f"I went to the market {uuid.uuid4().hex[:6]}."
        session.add(correction)
        owner_token = create_login_session(session=session, user_id=owner.id, user_agent="t", ip="127.0.0.1")
        other_token = create_login_session(session=session, user_id=other.id, user_agent="t", ip="127.0.0.1")
        session.commit()
        return owner_token, other_token, str(correction.id)


async def test_the_route_serves_the_owner_with_cache_headers(
    http: httpx.AsyncClient, fake: FakeOpenAI, pg_url: str
) -> None:
    owner, _other, correction_id = owner_with_correction(pg_url)
    response = await http.get(f"/api/speech/{correction_id}", headers=cookie(owner))

    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["cache-control"] == CACHE_CONTROL == "private, max-age=31536000, immutable"
    etag = response.headers["etag"]
    assert etag.startswith('"') and len(etag) == 66
    assert response.content == FAKE_AUDIO

    again = await http.get(f"/api/speech/{correction_id}", headers={**cookie(owner), "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert len(fake.calls(SPEECH)) == 1


async def test_the_route_hides_other_learners_corrections(
    http: httpx.AsyncClient, fake: FakeOpenAI, pg_url: str
) -> None:
    _owner, other, correction_id = owner_with_correction(pg_url)
    for headers in (cookie(other), {}, cookie("forged")):
        response = await http.get(f"/api/speech/{correction_id}", headers=headers)
        assert response.status_code == 404
        assert response.headers["cache-control"] == "no-store"
    assert (await http.get("/api/speech/not-a-uuid", headers=cookie(other))).status_code == 404
    assert fake.calls(SPEECH) == []


async def test_the_route_says_when_audio_cannot_be_made(
    http: httpx.AsyncClient, fake: FakeOpenAI, pg_url: str
) -> None:
    owner, _other, correction_id = owner_with_correction(pg_url)
    fake.script = [Reply(503), Reply(503)]
    response = await http.get(f"/api/speech/{correction_id}", headers=cookie(owner))
    assert response.status_code == 503
    assert "Try again" in response.json()["error"]
    assert response.headers["cache-control"] == "no-store"


async def test_the_same_words_in_another_language_are_another_clip(fake: FakeOpenAI, pg_url: str) -> None:
    text = f"Ayer fui al mercado {uuid.uuid4().hex[:6]}."
    spanish = await clip_for_text(text, language="es")
    portuguese = await clip_for_text(text, language="pt")
    assert spanish.cache_key == current_cache_key(text, language="es") != portuguese.cache_key
    assert [call.body["instructions"][:19] for call in fake.calls(SPEECH)] == [
        "Speak in Spanish, c",
        "Speak in Portuguese",
    ]
    await clip_for_text(text, language="es")
    assert len(fake.calls(SPEECH)) == 2
