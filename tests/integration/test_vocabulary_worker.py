"""The analysis worker feeds the deck in the transaction that stores the feedback: new
items enter, and an older item the learner said is reviewed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from fluentio.db import engine_for
from fluentio.models import DeckItem, DeckSource, PracticeSession
from fluentio.vocabulary import deck
from tests.integration.test_feedback_jobs import (  # noqa: F401 (fixtures)
    correction_count,
    fake,
    finished,
    job_row,
    jobs_db,
    new_job,
    run_until,
)
from tests.support.fake_feedback_api import FakeOpenAI, Reply

ANSWER = {
    "corrections": [
        {
            "original": "buy two apple",
            "corrected": "bought two apples",
            "explanation": "Past simple, and a plural after two.",
            "category": "grammar",
        }
    ],
    "badPatterns": ["Past simple: present tense used for past events"],
    "suggestions": ["Tell a short story about last weekend."],
    "estimatedLevel": "B1",
    "newWords": ["travel in space"],
    "summary": "A lively chat. Watch your past tenses.",
}


async def test_the_worker_adds_and_reviews_deck_items(fake: FakeOpenAI, jobs_db: str) -> None:  # noqa: F811
    fake.script = [Reply.text(json.dumps(ANSWER))]
    practice_id, feedback_id = new_job(jobs_db)
    with Session(engine_for(jobs_db)) as session:
        practice = session.get(PracticeSession, practice_id)
        assert practice is not None
        user_id = practice.user_id
        deck.add_items(
            session=session,
            user_id=user_id,
            texts=["market"],
            source=DeckSource.TARGET_WORD,
            source_session_id=None,
            now=practice.created_at - timedelta(days=3),
        )
        session.commit()

    await run_until(finished(jobs_db, feedback_id))

    def rows() -> dict[str, DeckItem]:
        with Session(engine_for(jobs_db)) as session:
            return {r.key: r for r in session.exec(select(DeckItem).where(DeckItem.user_id == user_id))}

    stored = rows()
    assert {k: r.source for k, r in stored.items()} == {
        "market": "target_word",
        "travel in space": "new_word",
        "bought two apples": "correction",
    }
    # "…go to the market and buy two apple": "market" was said outside the mistake.
    market = stored["market"]
    assert (
        market.reps == 1
        and market.last_review_session_id == practice_id
        and market.due_at > market.created_at
    )
    assert stored["travel in space"].reps == 0


async def test_a_deck_failure_never_costs_the_learner_their_feedback(
    fake: FakeOpenAI,  # noqa: F811
    jobs_db: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**_kwargs: object) -> None:
        raise RuntimeError("deck bug")

    monkeypatch.setattr(deck, "after_feedback", broken)
    fake.script = [Reply.text(json.dumps(ANSWER))]
    _practice_id, feedback_id = new_job(jobs_db)
    await run_until(finished(jobs_db, feedback_id))
    assert job_row(jobs_db, feedback_id).status == "done"
    assert correction_count(jobs_db, feedback_id) == 1
