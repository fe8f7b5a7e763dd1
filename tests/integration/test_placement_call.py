"""A placement call through the real relay and sideband: the provider receives the
climbing placement instructions (not the lesson's, and no carried words), the session
records the placement scenario, and the meter's cap for it is five minutes."""

from __future__ import annotations

import uuid

from fluentio.classroom import calls, sideband
from fluentio.classroom.instructions import build_placement_instructions
from fluentio.classroom.reasons import EndReason
from fluentio.db import session_scope
from fluentio.models import DeckSource, PracticeSession
from fluentio.models.base import utcnow
from fluentio.vocabulary import deck
from tests.integration.test_classroom_calls import (  # noqa: F401 (fixtures)
    classroom,
    make_learner,
    new_learner,
    simulator,
)
from tests.support.sim_server import RunningSimulator


async def test_a_placement_call_gets_the_climbing_instructions_and_a_five_minute_cap(
    classroom: RunningSimulator,  # noqa: F811
) -> None:
    user_id = make_learner(30_000)
    with session_scope() as session:
        deck.add_items(
            session=session,
            user_id=user_id,
            texts=["meticulous"],
            source=DeckSource.NEW_WORD,
            source_session_id=None,
            now=utcnow(),
        )
    learner = new_learner()
    started = await learner.start_relay(user_id=user_id, topic="placement", vocabulary="deadline")
    instructions = (await learner.wait_for("session.created"))["session"]["instructions"]
    assert instructions == build_placement_instructions()
    assert "meticulous" not in instructions and "deadline" not in instructions
    with session_scope() as session:
        row = session.get(PracticeSession, uuid.UUID(started.session_id))
        assert row is not None and row.topic == "placement"
    supervisor = sideband.get_supervisor(uuid.UUID(started.session_id))
    assert supervisor is not None and supervisor.limits.max_seconds == 300

    await learner.connected()
    await calls.end_call(user_id=user_id, session_id=started.session_id, reason=EndReason.ENDED_BY_LEARNER)

    # A lesson started afterwards has the full limit and its own instructions.
    lesson = new_learner()
    again = await lesson.start_relay(user_id=user_id, topic="small_talk")
    assert "meticulous" in (await lesson.wait_for("session.created"))["session"]["instructions"]
    supervisor = sideband.get_supervisor(uuid.UUID(again.session_id))
    assert supervisor is not None and supervisor.limits.max_seconds == 30 * 60


async def test_an_ephemeral_placement_call_is_capped_too(classroom: RunningSimulator) -> None:  # noqa: F811
    user_id = make_learner(30_000)
    learner = new_learner()
    grant = await learner.start_ephemeral(user_id=user_id, topic="placement")
    assert (await learner.wait_for("session.created"))["session"]["instructions"] == (
        build_placement_instructions()
    )
    supervisor = sideband.get_supervisor(uuid.UUID(grant.session_id))
    assert supervisor is not None and supervisor.limits.max_seconds == 300
