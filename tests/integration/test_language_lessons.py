"""A Spanish lesson through the real classroom, sideband and simulator, on PostgreSQL:
the session config the provider receives (instructions in Spanish at the learner's level,
transcription language "es"), a Spanish transcript, a deck per language, and feedback
whose prompt asks for explanations in the learner's own language."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from fluentio.auth import service
from fluentio.auth.errors import AuthError
from fluentio.auth.levels import level_for
from fluentio.classroom import calls
from fluentio.db import engine_for, session_scope
from fluentio.feedback import history, jobs
from fluentio.feedback.speech import current_cache_key
from fluentio.models import DeckItem, DeckSource, PracticeSession, TranscriptItem, User
from fluentio.models.base import utcnow
from fluentio.models.tutor import Correction, Feedback
from fluentio.settings import get_settings
from fluentio.simulator.script import LEARNER_LINES_BY_LANGUAGE, learner_transcript, tutor_reply
from fluentio.vocabulary import deck
from tests.integration.test_classroom_calls import (  # noqa: F401 (fixtures)
    classroom,
    make_learner,
    new_learner,
    simulator,
    wait_until,
)
from tests.integration.test_feedback_jobs import fake, finished, jobs_db, run_until  # noqa: F401 (fixtures)
from tests.support.factories import make_user
from tests.support.fake_feedback_api import FakeOpenAI
from tests.support.feedback_data import add_practice_session
from tests.support.sim_server import RunningSimulator

SPANISH = LEARNER_LINES_BY_LANGUAGE["es"]


def choose_languages(user_id: uuid.UUID, target: str, explanation: str, level: str = "A2") -> None:
    with session_scope() as session:
        service.update_profile(
            session=session,
            user_id=user_id,
            display_name="Lucía",
            level=level,
            target_language=target,
            explanation_language=explanation,
        )


def deck_rows(user_id: uuid.UUID) -> dict[str, tuple[str, str]]:
    with session_scope() as session:
        rows = session.exec(select(DeckItem).where(DeckItem.user_id == user_id)).all()
        return {row.text: (row.language, row.source) for row in rows}


def test_the_profile_keeps_only_known_languages(pg_url: str) -> None:
    with Session(engine_for(pg_url)) as session:
        user = make_user(session)
        session.commit()
        user_id = user.id
        updated = service.update_profile(
            session=session,
            user_id=user_id,
            display_name="Ana",
            level="b2",
            target_language="ES",
            explanation_language="pt",
        )
        assert (updated.target_language, updated.explanation_language) == ("es", "pt")
        # The level is the Spanish one (the language now practised); English keeps the default.
        assert (level_for(session, user_id, "es"), level_for(session, user_id, "en")) == ("B2", "B1")
        for bad in ({"target_language": "xx"}, {"explanation_language": ""}):
            with pytest.raises(AuthError, match="Choose a language from the list"):
                service.update_profile(
                    session=session, user_id=user_id, display_name="Ana", level="B2", **bad
                )
        # Leaving the languages out keeps them.
        service.update_profile(session=session, user_id=user_id, display_name="Ana", level="C1")
        again = session.get(User, user_id)
        assert again is not None and (again.target_language, again.explanation_language) == ("es", "pt")


async def test_a_spanish_lesson_reaches_the_provider_in_spanish_and_keeps_a_spanish_deck(
    classroom: RunningSimulator,  # noqa: F811
) -> None:
    user_id = make_learner(60_000)
    choose_languages(user_id, "es", "en", level="A2")
    learner = new_learner()
    started = await learner.start_relay(user_id=user_id, level=None)  # the profile's level
    config = (await learner.wait_for("session.created"))["session"]
    # What the provider received: Spanish at the learner's level, transcribed as Spanish.
    assert config["audio"]["input"]["transcription"]["language"] == "es"
    assert config["audio"]["input"]["transcription"]["model"] == get_settings().transcribe_model
    instructions = config["instructions"]
    assert "a friendly Spanish speaking tutor" in instructions
    assert "The learner's level is A2 (Elementary, CEFR) in Spanish." in instructions
    assert "Speak only Spanish." in instructions
    assert config["audio"]["output"]["voice"] == get_settings().realtime_voice

    await learner.connected()
    await learner.wait_for("output_audio_buffer.stopped")
    greeting = await learner.wait_for("response.done")
    assert greeting["response"]["output"][0]["content"][0]["transcript"] == tutor_reply(0, "es").text
    await learner.say("learner_hello.wav")
    said = await learner.wait_for("conversation.item.input_audio_transcription.completed")
    assert said["transcript"] == learner_transcript(1, "es") == SPANISH[0]
    await wait_until(lambda: "mercado" in deck_rows(user_id), what="the unclear Spanish word in the deck")
    await calls.end_call(user_id=user_id, session_id=started.session_id)

    with session_scope() as session:
        practice = session.get(PracticeSession, uuid.UUID(started.session_id))
        assert practice is not None
        assert (practice.language, practice.explanation_language, practice.level) == ("es", "en", "A2")
        said_lines = session.exec(
            select(TranscriptItem.text).where(
                TranscriptItem.session_id == practice.id, TranscriptItem.speaker == "learner"
            )
        ).all()
        assert SPANISH[0] in said_lines
        row = history.list_sessions(session=session, user_id=user_id)[0][0]
        assert (row.id, row.language) == (started.session_id, "Spanish")
    assert deck_rows(user_id) == {"mercado": ("es", "unclear")}

    # An English word due now belongs to the English deck: the next Spanish lesson weaves
    # in Spanish words only, and an English lesson only English ones.
    with session_scope() as session:
        for text, language in (("meticulous", "en"), ("película", "es")):
            deck.add_items(
                session=session,
                user_id=user_id,
                texts=[text],
                source=DeckSource.NEW_WORD,
                source_session_id=None,
                now=utcnow() - timedelta(hours=1),
                language=language,
            )
    second = new_learner()
    again = await second.start_relay(user_id=user_id)
    spanish = (await second.wait_for("session.created"))["session"]["instructions"]
    assert 'could not make out these words clearly: "mercado"' in spanish
    assert '"película"' in spanish and "meticulous" not in spanish
    await calls.end_call(user_id=user_id, session_id=again.session_id)

    choose_languages(user_id, "en", "en", level="B1")
    third = new_learner()
    await third.start_relay(user_id=user_id)
    english = (await third.wait_for("session.created"))["session"]
    assert english["audio"]["input"]["transcription"]["language"] == "en"
    assert "Speak only English." in english["instructions"]
    assert '"meticulous"' in english["instructions"]
    assert "película" not in english["instructions"] and "mercado" not in english["instructions"]


async def test_spanish_feedback_explains_in_the_learners_language(fake: FakeOpenAI, jobs_db: str) -> None:  # noqa: F811
    with Session(engine_for(jobs_db)) as session:
        user = make_user(session)
        practice = add_practice_session(session, user_id=user.id, learner_lines=SPANISH)
        practice.language, practice.explanation_language = "es", "fr"
        session.add(practice)
        job = jobs.enqueue_analysis(session=session, practice_session_id=practice.id)
        session.commit()
        practice_id, feedback_id, user_id = practice.id, job.id, user.id

    await run_until(finished(jobs_db, feedback_id))

    [request] = fake.calls("/v1/responses")
    system, prompt = request.body["input"]
    assert "encouraging Spanish tutor" in system["content"]
    assert "the summary in French, the learner's own language" in system["content"]
    assert "Language practised: Spanish (es). Explanations in: French (fr)." in prompt["content"]
    with Session(engine_for(jobs_db)) as session:
        job_row = session.get(Feedback, feedback_id)
        assert job_row is not None and job_row.status == "done"
        assert job_row.summary.startswith("Tu as dit")
        corrections = session.exec(
            select(Correction).where(Correction.feedback_id == feedback_id).order_by(col(Correction.position))
        ).all()
        assert corrections[0].original == SPANISH[0]
        assert corrections[0].corrected == "Ayer fui al mercado y compré dos manzanas."
        assert corrections[0].explanation == "Dis plutôt : « Ayer fui al mercado y compré dos manzanas »."
        # Short corrected phrases and new words enter the Spanish deck.
        languages_in_deck = set(
            session.exec(select(DeckItem.language).where(DeckItem.user_id == user_id)).all()
        )
        assert languages_in_deck <= {"es"}
        detail = history.session_detail(session=session, user_id=user_id, practice_session_id=practice_id)
        assert detail is not None
        assert (detail.language, detail.explanation_language) == ("Spanish", "French")
        # "Hear it" asks for the Spanish clip (the language is part of its cache key).
        assert detail.corrections[0].audio_url.endswith(
            current_cache_key(corrections[0].corrected, language="es")[:16]
        )
