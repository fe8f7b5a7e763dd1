"""A level per language through the real classroom and simulator, on PostgreSQL: a
learner who is C1 in English gets a Spanish tutor at their Spanish level (asserted in the
session config the provider receives), and the profile edits only the practised
language's level."""

from __future__ import annotations

import pytest

from fluentio.auth import service
from fluentio.auth.levels import level_for, levels_for, set_level
from fluentio.classroom import calls
from fluentio.db import session_scope
from fluentio.settings import get_settings
from tests.integration.test_classroom_calls import (  # noqa: F401 (fixtures)
    classroom,
    make_learner,
    new_learner,
    simulator,
)
from tests.support.sim_server import RunningSimulator


def save_profile(user_id: object, *, level: str, target: str | None = None) -> None:
    with session_scope() as session:
        service.update_profile(
            session=session,
            user_id=user_id,  # type: ignore[arg-type]
            display_name="Ana",
            level=level,
            target_language=target,
        )


def levels_of(user_id: object) -> dict[str, str]:
    with session_scope() as session:
        return levels_for(session, user_id)  # type: ignore[arg-type]


@pytest.fixture
def app_db(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> str:
    monkeypatch.setenv("DATABASE_URL", pg_url)
    get_settings.cache_clear()
    return pg_url


def test_the_profile_edits_only_the_practised_languages_level(app_db: str) -> None:
    user_id = make_learner(0)
    save_profile(user_id, level="C1")  # practising English
    save_profile(user_id, level="A2", target="es")  # switched to Spanish, set its level
    assert levels_of(user_id) == {"en": "C1", "es": "A2", "fr": "B1", "de": "B1", "it": "B1", "pt": "B1"}
    # Saving again (still Spanish) changes Spanish only.
    save_profile(user_id, level="B1")
    assert (levels_of(user_id)["es"], levels_of(user_id)["en"]) == ("B1", "C1")
    # A language never set reads as the default until it is saved.
    with session_scope() as session:
        assert level_for(session, user_id, "de") == "B1"  # type: ignore[arg-type]
        set_level(session=session, user_id=user_id, language="de", level="C2")  # type: ignore[arg-type]
        assert level_for(session, user_id, "de") == "C2"  # type: ignore[arg-type]


async def test_a_spanish_lesson_uses_the_spanish_level_while_english_stays_c1(
    classroom: RunningSimulator,  # noqa: F811
) -> None:
    user_id = make_learner(60_000)
    save_profile(user_id, level="C1")
    save_profile(user_id, level="A2", target="es")

    spanish = new_learner()
    started = await spanish.start_relay(user_id=user_id, level=None)  # the profile's level
    instructions = (await spanish.wait_for("session.created"))["session"]["instructions"]
    assert "The learner's level is A2 (Elementary, CEFR) in Spanish." in instructions
    assert "C1" not in instructions
    await calls.end_call(user_id=user_id, session_id=started.session_id)
    assert levels_of(user_id)["en"] == "C1"

    # Back to English: the profile shows English's own level (C1) and saves it unchanged.
    with session_scope() as session:
        shown = level_for(session, user_id, "en")  # type: ignore[arg-type]
    save_profile(user_id, level=shown, target="en")
    english = new_learner()
    await english.start_relay(user_id=user_id, level=None)
    instructions = (await english.wait_for("session.created"))["session"]["instructions"]
    assert "The learner's level is C1 (Advanced, CEFR) in English." in instructions
    assert levels_of(user_id)["es"] == "A2"
