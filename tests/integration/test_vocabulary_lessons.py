"""Words carry from one lesson to the next, through the real sideband and session config:
the simulator's recogniser is unsure of "market" in the learner's first line, the
supervisor stores it as unclear, and the next call's session config — as the provider
receives it — asks for it again and weaves in the due deck items."""

from __future__ import annotations

import uuid

from sqlmodel import select

from fluentio.classroom import calls
from fluentio.db import session_scope
from fluentio.models import DeckItem, DeckSource, UnclearWord
from fluentio.models.base import utcnow
from fluentio.simulator.script import LEARNER_LINES
from fluentio.vocabulary import deck
from tests.integration.test_classroom_calls import (  # noqa: F401 (fixtures)
    classroom,
    make_learner,
    new_learner,
    simulator,
    wait_until,
)
from tests.support.sim_server import RunningSimulator


def unclear_words(session_id: str) -> list[UnclearWord]:
    with session_scope() as session:
        return list(session.exec(select(UnclearWord).where(UnclearWord.session_id == uuid.UUID(session_id))))


async def test_unclear_and_due_words_reach_the_next_lessons_session_config(
    classroom: RunningSimulator,  # noqa: F811
) -> None:
    user_id = make_learner(30_000)
    first = new_learner()
    started = await first.start_relay(user_id=user_id)
    created = await first.wait_for("session.created")
    assert created["session"]["include"] == ["item.input_audio_transcription.logprobs"]
    await first.connected()
    await first.wait_for("output_audio_buffer.stopped")
    await first.say("learner_hello.wav")
    said = await first.wait_for("conversation.item.input_audio_transcription.completed")
    assert said["transcript"] == LEARNER_LINES[0] and said["logprobs"]
    await wait_until(lambda: unclear_words(started.session_id), what="unclear word stored")
    await calls.end_call(user_id=user_id, session_id=started.session_id)
    [word] = unclear_words(started.session_id)
    assert (word.word, word.position) == ("market", 5) and word.confidence < 0.5

    with session_scope() as session:
        deck.add_items(
            session=session,
            user_id=user_id,
            texts=["meticulous"],
            source=DeckSource.NEW_WORD,
            source_session_id=None,
            now=utcnow(),
        )
        sources = {
            row.text: row.source for row in session.exec(select(DeckItem).where(DeckItem.user_id == user_id))
        }
    assert sources == {"market": "unclear", "meticulous": "new_word"}

    second = new_learner()
    await second.start_relay(user_id=user_id)
    instructions = (await second.wait_for("session.created"))["session"]["instructions"]
    assert 'could not make out these words clearly: "market"' in instructions
    assert 'due today: "meticulous". Use these naturally' in instructions
    # The unclear word is asked for once, not also as a due deck item.
    assert instructions.count('"market"') == 1
