"""Placements on PostgreSQL: the worker stores a placement call's level with evidence
(in the job's transaction), the learner's level changes only when they accept, "Keep my
level" leaves it, a placement is answered once and only by its owner, the classroom's
offer, and account deletion."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlmodel import Session, select

from fluentio.auth import service as accounts
from fluentio.auth.levels import level_for, levels_for
from fluentio.db import engine_for
from fluentio.feedback import history, jobs
from fluentio.models import FeedbackStatus, Placement, PracticeSession, User
from fluentio.models.base import utcnow
from fluentio.models.tutor import SessionStatus
from fluentio.placement import service
from fluentio.placement.analysis import EvidenceAnswer, PlacementAnswer
from fluentio.placement.service import ALREADY_DECIDED, NOT_FOUND, Choice, PlacementError
from fluentio.simulator.script import LEARNER_LINES
from tests.integration.test_feedback_jobs import (  # noqa: F401 (fixtures)
    RESPONSES,
    correction_count,
    fake,
    finished,
    job_row,
    jobs_db,
    run_until,
)
from tests.support.factories import make_user
from tests.support.fake_feedback_api import FakeOpenAI, Reply
from tests.support.feedback_data import add_feedback, add_practice_session


def placement_job(url: str, level: str = "A2") -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A finished placement call with its analysis queued: (user, session, feedback) ids."""
    with Session(engine_for(url)) as session:
        user = make_user(session, english_level=level)
        practice = add_practice_session(
            session, user_id=user.id, learner_lines=LEARNER_LINES[:6], topic="placement"
        )
        job = jobs.enqueue_analysis(session=session, practice_session_id=practice.id)
        session.commit()
        return user.id, practice.id, job.id


def placement_of(url: str, practice_id: uuid.UUID) -> Placement | None:
    with Session(engine_for(url), expire_on_commit=False) as session:
        return session.exec(select(Placement).where(Placement.session_id == practice_id)).first()


async def test_the_worker_stores_the_level_with_quoted_evidence(fake: FakeOpenAI, jobs_db: str) -> None:  # noqa: F811
    user_id, practice_id, feedback_id = placement_job(jobs_db)

    await run_until(finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    placement = placement_of(jobs_db, practice_id)
    assert job.status == "done" and placement is not None
    assert placement.user_id == user_id and placement.level == job.cefr_level
    assert placement.decision is None and placement.summary
    assert 2 <= len(placement.evidence) <= 3
    assert all(item["quote"] in LEARNER_LINES[:6] and item["why"] for item in placement.evidence)
    # A placement call is not a lesson's feedback: no corrections were stored.
    assert correction_count(jobs_db, feedback_id) == 0
    request = fake.calls(RESPONSES)[0].body
    assert request["text"]["format"]["name"] == "PlacementAnswer"
    assert request["text"]["format"]["strict"] is True
    assert "placement conversation" in request["input"][0]["content"]
    # The learner's level is untouched until they answer.
    with Session(engine_for(jobs_db)) as session:
        assert level_for(session, user_id, "en") == "A2"


async def test_invented_evidence_is_asked_for_again(fake: FakeOpenAI, jobs_db: str) -> None:  # noqa: F811
    invented = {
        "level": "C2",
        "evidence": [{"quote": "I have published three novels in English", "why": "Nobody said this."}],
        "summary": "Amazing.",
    }
    fake.script = [Reply.text(json.dumps(invented))]
    _user_id, practice_id, feedback_id = placement_job(jobs_db)

    await run_until(finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    assert job.status == "done" and job.attempts == 2
    placement = placement_of(jobs_db, practice_id)
    assert placement is not None and placement.level != "C2"
    assert all(item["quote"] in LEARNER_LINES for item in placement.evidence)


def stored_placement(
    session: Session, *, level: str = "A2", found: str = "B1", language: str = "en"
) -> tuple[User, PracticeSession]:
    user = make_user(session, english_level=level)
    practice = add_practice_session(session, user_id=user.id, topic="placement", language=language)
    answer = PlacementAnswer(
        level=found,  # type: ignore[arg-type]
        evidence=[EvidenceAnswer(quote=LEARNER_LINES[0], why="Past events in the present tense.")],
        summary="You speak at about B1.",
    )
    service.record_result(session=session, practice_session_id=practice.id, answer=answer, now=utcnow())
    session.commit()
    return user, practice


def test_accepting_sets_the_level_once(pg: Session) -> None:
    user, practice = stored_placement(pg)
    shown = service.placement_for_session(session=pg, user_id=user.id, practice_session_id=practice.id)
    assert shown is not None and (shown.level, shown.current_level, shown.decision) == ("B1", "A2", "")

    view = service.decide(session=pg, user_id=user.id, practice_session_id=practice.id, choice=Choice.ACCEPT)

    assert (view.decision, view.current_level, view.level_before) == ("accepted", "B1", "A2")
    assert level_for(pg, user.id, "en") == "B1"
    # Answered once: "Keep my level" afterwards changes nothing.
    with pytest.raises(PlacementError, match=ALREADY_DECIDED):
        service.decide(session=pg, user_id=user.id, practice_session_id=practice.id, choice=Choice.KEEP)
    row = pg.exec(select(Placement).where(Placement.session_id == practice.id)).one()
    assert row.decision == "accepted" and level_for(pg, user.id, "en") == "B1"
    # "Download my data" includes it.
    exported = service.export_record(session=pg, practice_session_id=practice.id)
    assert exported is not None
    assert (exported["level"], exported["your_answer"], exported["your_level_then"]) == (
        "B1",
        "accepted",
        "A2",
    )
    assert exported["evidence"] == [{"quote": LEARNER_LINES[0], "why": "Past events in the present tense."}]


def test_keep_my_level_leaves_it(pg: Session) -> None:
    user, practice = stored_placement(pg, level="A2", found="B1")

    view = service.decide(session=pg, user_id=user.id, practice_session_id=practice.id, choice=Choice.KEEP)

    assert (view.decision, view.current_level, view.level_before) == ("kept", "A2", "A2")
    assert level_for(pg, user.id, "en") == "A2"
    with pytest.raises(PlacementError, match=ALREADY_DECIDED):
        service.decide(session=pg, user_id=user.id, practice_session_id=practice.id, choice=Choice.ACCEPT)
    assert level_for(pg, user.id, "en") == "A2"


def test_another_learner_can_neither_see_nor_accept_it(pg: Session) -> None:
    owner, practice = stored_placement(pg)
    other = make_user(pg, english_level="C1")
    pg.commit()

    assert (
        service.placement_for_session(session=pg, user_id=other.id, practice_session_id=practice.id) is None
    )
    with pytest.raises(PlacementError, match=NOT_FOUND):
        service.decide(session=pg, user_id=other.id, practice_session_id=practice.id, choice=Choice.ACCEPT)

    assert (level_for(pg, owner.id, "en"), level_for(pg, other.id, "en")) == ("A2", "C1")
    row = pg.exec(select(Placement).where(Placement.session_id == practice.id)).one()
    assert row.decision is None


def test_the_offer_is_for_learners_before_their_first_lesson(pg: Session) -> None:
    new, skipper, practised, placing = (make_user(pg) for _ in range(4))
    add_practice_session(pg, user_id=practised.id, topic="small_talk")
    add_practice_session(pg, user_id=placing.id, topic="placement", status=SessionStatus.LIVE.value)
    pg.commit()
    service.skip_offer(session=pg, user_id=skipper.id, language="en")

    offered = {
        u.id: service.should_offer(session=pg, user_id=u.id, language="en")
        for u in (new, skipper, practised, placing)
    }

    assert offered == {new.id: True, skipper.id: False, practised.id: False, placing.id: False}
    # A lesson that never connected does not count as finished.
    add_practice_session(pg, user_id=new.id, topic="small_talk", status=SessionStatus.FAILED.value)
    pg.commit()
    assert service.should_offer(session=pg, user_id=new.id, language="en")


def test_a_placement_that_found_no_level_is_offered_again(pg: Session) -> None:
    learner = make_user(pg)
    placement = add_practice_session(pg, user_id=learner.id, topic="placement")
    analysis = jobs.enqueue_analysis(session=pg, practice_session_id=placement.id)
    pg.commit()
    # Being analysed: the level is on its way, no second offer.
    assert not service.should_offer(session=pg, user_id=learner.id, language="en")

    analysis.status = FeedbackStatus.SKIPPED.value  # too little speech to place
    pg.add(analysis)
    pg.commit()
    assert service.should_offer(session=pg, user_id=learner.id, language="en")


def test_accepting_a_spanish_placement_sets_only_the_spanish_level(pg: Session) -> None:
    user, practice = stored_placement(pg, level="C1", found="A2", language="es")
    # The learner practises English again by the time they answer: the call's language counts.
    shown = service.placement_for_session(session=pg, user_id=user.id, practice_session_id=practice.id)
    assert shown is not None and shown.current_level == "B1"  # Spanish never set: the default

    view = service.decide(session=pg, user_id=user.id, practice_session_id=practice.id, choice=Choice.ACCEPT)

    assert (view.current_level, view.level_before) == ("A2", "B1")
    assert levels_for(pg, user.id) == {"en": "C1", "es": "A2", "fr": "B1", "de": "B1", "it": "B1", "pt": "B1"}


def test_the_offer_is_per_language(pg: Session) -> None:
    placed, practised = make_user(pg), make_user(pg)
    english = add_practice_session(pg, user_id=placed.id, topic="placement", language="en")
    service.record_result(
        session=pg,
        practice_session_id=english.id,
        answer=PlacementAnswer(level="B2", evidence=[], summary="B2."),  # type: ignore[arg-type]
    )
    add_practice_session(pg, user_id=practised.id, topic="small_talk", language="en")
    # A Spanish placement still being analysed counts as taken, for Spanish only.
    add_practice_session(pg, user_id=practised.id, topic="placement", language="es", status="live")
    pg.commit()

    def offered(user: User, language: str) -> bool:
        return service.should_offer(session=pg, user_id=user.id, language=language)

    # Placed in English, practising Spanish for the first time: offered a Spanish placement.
    assert (offered(placed, "en"), offered(placed, "es"), offered(placed, "fr")) == (False, True, True)
    assert (offered(practised, "en"), offered(practised, "es"), offered(practised, "de")) == (
        False,
        False,
        True,
    )
    # "Skip, I know my level" is per language, and keeps the level shown.
    service.skip_offer(session=pg, user_id=placed.id, language="es")
    assert (offered(placed, "es"), offered(placed, "fr")) == (False, True)
    assert levels_for(pg, placed.id)["es"] == "B1"


def test_deleting_the_account_deletes_its_placements(pg: Session) -> None:
    user, practice = stored_placement(pg)

    accounts.delete_account(session=pg, user_id=user.id)

    assert pg.exec(select(Placement).where(Placement.user_id == user.id)).all() == []
    assert pg.get(PracticeSession, practice.id) is not None


def test_a_placement_shows_in_the_level_chart_but_not_the_mistakes_chart(pg: Session) -> None:
    user = make_user(pg)
    lesson = add_practice_session(pg, user_id=user.id, topic="small_talk")
    add_feedback(pg, lesson, level="A2")
    placement = add_practice_session(pg, user_id=user.id, topic="placement")
    add_feedback(pg, placement, level="B1", corrections=0)
    pg.commit()

    figures = history.progress(session=pg, user_id=user.id)

    assert [point["level"] for point in figures.levels] == ["A2", "B1"]
    assert len(figures.mistakes) == 1


def test_the_level_chart_shows_the_language_asked_for(pg: Session) -> None:
    user = make_user(pg)
    for language, level in (("en", "C1"), ("es", "A2"), ("en", "C2")):
        add_feedback(pg, add_practice_session(pg, user_id=user.id, language=language), level=level)
    pg.commit()

    spanish = history.progress(session=pg, user_id=user.id, language="es")
    english = history.progress(session=pg, user_id=user.id, language="en")

    assert ([p["level"] for p in spanish.levels], spanish.latest_level) == (["A2"], "A2")
    assert ([p["level"] for p in english.levels], english.latest_level) == (["C1", "C2"], "C2")
    # Minutes and mistakes stay for every language.
    assert len(spanish.mistakes) == len(english.mistakes) == 3
