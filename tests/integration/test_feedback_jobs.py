"""Analysis jobs on PostgreSQL: retry with backoff, resume after a restart, exactly one
result, skipped when there is too little speech. The model is a local fake endpoint
reached through OPENAI_BASE_URL, so the app's real client code runs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from fluentio.db import engine_for
from fluentio.feedback import history, jobs
from fluentio.feedback.schema import FeedbackAnswer
from fluentio.feedback.worker import AnalysisWorker
from fluentio.models import Feedback, FeedbackStatus
from fluentio.models.base import utcnow
from fluentio.models.tutor import Correction, TranscriptItem
from fluentio.settings import get_settings
from tests.support.databases import fresh_postgres
from tests.support.factories import make_user
from tests.support.fake_feedback_api import FakeOpenAI, Reply
from tests.support.feedback_data import add_practice_session

FAST = jobs.RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)
RESPONSES = "/v1/responses"


@pytest.fixture(scope="module")
def jobs_db() -> Iterator[str]:
    """A database of this module's own: the worker claims any due job it finds."""
    with fresh_postgres(prefix="fluentio_jobs") as url:
        yield url


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, jobs_db: str) -> Iterator[FakeOpenAI]:
    with engine_for(jobs_db).begin() as connection:
        connection.execute(sa.text("DELETE FROM feedback"))
    with FakeOpenAI().running() as fake:
        monkeypatch.setenv("DATABASE_URL", jobs_db)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        get_settings.cache_clear()
        yield fake


def new_job(url: str, learner_lines: list[str] | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    """A finished session with its analysis queued; (session id, feedback id)."""
    with Session(engine_for(url)) as session:
        user = make_user(session)
        kwargs = {"learner_lines": learner_lines} if learner_lines is not None else {}
        practice = add_practice_session(session, user_id=user.id, **kwargs)
        job = jobs.enqueue_analysis(session=session, practice_session_id=practice.id)
        session.commit()
        return practice.id, job.id


def job_row(url: str, feedback_id: uuid.UUID) -> Feedback:
    with Session(engine_for(url), expire_on_commit=False) as session:
        job = session.get(Feedback, feedback_id)
        assert job is not None
        return job


def correction_count(url: str, feedback_id: uuid.UUID) -> int:
    with Session(engine_for(url)) as session:
        return len(session.exec(select(Correction.id).where(Correction.feedback_id == feedback_id)).all())


async def run_until(worker: AnalysisWorker, done: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the job did not reach the expected state in time"
        await worker.run_once()
        await asyncio.sleep(0.02)


def finished(url: str, feedback_id: uuid.UUID) -> Callable[[], bool]:
    return lambda: job_row(url, feedback_id).status in ("done", "failed", "skipped")


async def test_fails_twice_then_succeeds_stores_one_result(fake: FakeOpenAI, jobs_db: str) -> None:
    fake.script = [Reply(500), Reply(429, headers={"retry-after": "0"})]
    _, feedback_id = new_job(jobs_db)
    worker = AnalysisWorker(policy=FAST)

    await run_until(worker, finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    assert job.status == FeedbackStatus.DONE.value
    assert job.attempts == 3
    assert len(fake.calls(RESPONSES)) == 3
    assert job.last_error is None and job.cefr_level in {"A1", "A2", "B1", "B2", "C1", "C2"}
    # One result: the corrections of one answer, each pointing at the learner's line.
    count = correction_count(jobs_db, feedback_id)
    assert count >= 3
    with Session(engine_for(jobs_db)) as session:
        linked = session.exec(
            select(Correction.transcript_item_id).where(Correction.feedback_id == feedback_id)
        ).all()
        assert all(item is not None for item in linked)
        speakers = {session.get(TranscriptItem, item).speaker for item in linked}  # type: ignore[union-attr]
        assert speakers == {"learner"}
    # The fluency figures are computed here, not by the model.
    assert job.learner_words and job.turns == 4 and job.words_per_minute and 0 < (job.talk_share or 0) < 1


async def test_a_failure_backs_off_before_the_next_attempt(fake: FakeOpenAI, jobs_db: str) -> None:
    fake.script = [Reply(503)]
    _, feedback_id = new_job(jobs_db)
    worker = AnalysisWorker(policy=jobs.RetryPolicy(base_delay=60))

    assert await worker.run_once() == 1
    job = job_row(jobs_db, feedback_id)
    assert job.status == FeedbackStatus.PENDING.value
    assert job.next_attempt_at is not None and job.next_attempt_at > utcnow() + timedelta(seconds=30)
    assert "503" in (job.last_error or "")
    assert await worker.run_once() == 0  # not due yet


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text("Sorry, I can't produce JSON today."),
        Reply.text('{"corrections": [], "badPatterns": [], "suggestions": []}'),
        Reply.text(
            '{"corrections": [], "badPatterns": [], "suggestions": [], "estimatedLevel": "Z9", '
            '"newWords": [], "summary": ""}'
        ),
        Reply(body={"unexpected": "shape"}),
    ],
    ids=["not-json", "missing-fields", "bad-level", "not-a-response"],
)
async def test_a_malformed_answer_is_a_failed_attempt(fake: FakeOpenAI, jobs_db: str, reply: Reply) -> None:
    fake.script = [reply, reply]
    practice_id, feedback_id = new_job(jobs_db)
    worker = AnalysisWorker(policy=jobs.RetryPolicy(max_attempts=2, base_delay=0.01))

    await run_until(worker, finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    assert job.status == FeedbackStatus.FAILED.value
    assert job.attempts == 2
    assert job.last_error
    assert correction_count(jobs_db, feedback_id) == 0
    with Session(engine_for(jobs_db)) as session:  # the transcript is kept
        assert (
            len(session.exec(select(TranscriptItem).where(TranscriptItem.session_id == practice_id)).all())
            == 8
        )


async def test_a_refused_request_fails_at_once_and_the_learner_can_retry(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    fake.script = [Reply(401)]
    practice_id, feedback_id = new_job(jobs_db)
    worker = AnalysisWorker(policy=FAST)

    await run_until(worker, finished(jobs_db, feedback_id))
    job = job_row(jobs_db, feedback_id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert "401" in (job.last_error or "")

    with Session(engine_for(jobs_db)) as session:
        owner = session.exec(
            sa.select(sa.column("user_id"))
            .select_from(sa.table("practice_sessions"))
            .where(sa.column("id") == practice_id)
        ).one()[0]
        stranger = make_user(session)
        session.commit()
        assert not jobs.request_retry(session=session, user_id=stranger.id, practice_session_id=practice_id)
        assert jobs.request_retry(session=session, user_id=owner, practice_session_id=practice_id)
    assert job_row(jobs_db, feedback_id).status == "pending"

    await run_until(worker, finished(jobs_db, feedback_id))
    assert job_row(jobs_db, feedback_id).status == "done"


async def test_a_job_left_running_by_a_dead_worker_completes_after_a_restart(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    _, feedback_id = new_job(jobs_db)
    # A worker claims the job, then the server dies: the row stays "running" and its
    # lease runs out.
    with Session(engine_for(jobs_db)) as session:
        claim = jobs.claim_next(session=session, now=utcnow() - timedelta(minutes=5))
    assert claim is not None and claim.feedback_id == feedback_id
    assert job_row(jobs_db, feedback_id).status == "running"

    restarted = AnalysisWorker(policy=FAST)  # what the next start-up runs
    await run_until(restarted, finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert len(fake.calls(RESPONSES)) == 1
    # The dead worker's late answer cannot store a second result.
    with Session(engine_for(jobs_db)) as session:
        late = FeedbackAnswer.model_validate(
            {
                "corrections": [],
                "badPatterns": [],
                "suggestions": [],
                "estimatedLevel": "C2",
                "newWords": [],
                "summary": "late",
            }
        )
        from fluentio.feedback.fluency import fluency_figures

        stored = jobs.store_result(
            session=session, claim=claim, answer=late, figures=fluency_figures([]), lines=[], model="late"
        )
    assert stored is False
    assert job_row(jobs_db, feedback_id).summary != "late"


async def test_a_running_job_with_a_live_lease_is_left_alone(fake: FakeOpenAI, jobs_db: str) -> None:
    _, feedback_id = new_job(jobs_db)
    with Session(engine_for(jobs_db)) as session:
        assert jobs.claim_next(session=session) is not None
    assert await AnalysisWorker(policy=FAST).run_once() == 0
    assert job_row(jobs_db, feedback_id).status == "running"
    assert fake.calls(RESPONSES) == []


async def test_pending_jobs_from_before_a_restart_are_picked_up_at_start(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    ids = [new_job(jobs_db)[1] for _ in range(3)]
    worker = AnalysisWorker(policy=FAST, concurrency=2)
    await run_until(worker, lambda: all(finished(jobs_db, i)() for i in ids))
    assert [job_row(jobs_db, i).status for i in ids] == ["done"] * 3


async def test_two_workers_racing_store_one_result(fake: FakeOpenAI, jobs_db: str) -> None:
    fake.script = [Reply(delay=0.3)]  # slow enough for the two to overlap
    _, feedback_id = new_job(jobs_db)
    first, second = AnalysisWorker(policy=FAST), AnalysisWorker(policy=FAST)

    ran = await asyncio.gather(first.run_once(), second.run_once())

    assert sorted(ran) == [0, 1]
    assert len(fake.calls(RESPONSES)) == 1
    job = job_row(jobs_db, feedback_id)
    assert (job.status, job.attempts) == ("done", 1)
    with Session(engine_for(jobs_db)) as session:
        positions = session.exec(
            select(Correction.position).where(Correction.feedback_id == feedback_id)
        ).all()
    assert sorted(positions) == list(range(len(positions)))


def test_concurrent_claims_take_each_job_once(fake: FakeOpenAI, jobs_db: str) -> None:
    ids = {new_job(jobs_db)[1] for _ in range(6)}

    def claim_all() -> list[uuid.UUID]:
        taken = []
        with Session(engine_for(jobs_db)) as session:
            while (claim := jobs.claim_next(session=session)) is not None:
                taken.append(claim.feedback_id)
        return taken

    async def race() -> list[list[uuid.UUID]]:
        return await asyncio.gather(*(asyncio.to_thread(claim_all) for _ in range(4)))

    results = asyncio.run(race())
    taken = [i for batch in results for i in batch]
    assert sorted(taken) == sorted(ids)  # every job once, none twice


async def test_too_little_speech_is_skipped_without_a_model_call(fake: FakeOpenAI, jobs_db: str) -> None:
    _, feedback_id = new_job(jobs_db, learner_lines=["Yes.", "I go home."])

    await run_until(AnalysisWorker(policy=FAST), finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    assert job.status == FeedbackStatus.SKIPPED.value
    assert job.last_error == jobs.NOT_ENOUGH_SPEECH
    assert job.learner_words == 4
    assert fake.calls(RESPONSES) == []


async def test_enqueue_is_idempotent(fake: FakeOpenAI, jobs_db: str) -> None:
    practice_id, feedback_id = new_job(jobs_db)
    with Session(engine_for(jobs_db)) as session:
        again = jobs.enqueue_analysis(session=session, practice_session_id=practice_id)
        session.commit()
        assert again.id == feedback_id
        assert len(session.exec(select(Feedback).where(Feedback.session_id == practice_id)).all()) == 1


async def test_the_worker_runs_on_sqlite_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`make run` uses SQLite: claims, leases and results work there as well."""
    from tests.support.databases import fresh_sqlite

    with fresh_sqlite(tmp_path_factory.mktemp("jobs")) as url, FakeOpenAI().running() as fake:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        get_settings.cache_clear()
        fake.script = [Reply(502)]
        _, feedback_id = new_job(url)
        with Session(engine_for(url)) as session:  # a claim whose worker died
            assert jobs.claim_next(session=session, now=utcnow() - timedelta(minutes=5)) is not None

        await run_until(AnalysisWorker(policy=FAST), finished(url, feedback_id))

        job = job_row(url, feedback_id)
        assert (job.status, job.attempts) == ("done", 3)
        assert correction_count(url, feedback_id) >= 3


async def test_the_learners_retries_of_a_failing_analysis_are_capped_with_a_message(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    fake.script = [Reply(401)] * (jobs.MAX_LEARNER_RETRIES + 1)
    practice_id, feedback_id = new_job(jobs_db)
    worker = AnalysisWorker(policy=FAST)
    with Session(engine_for(jobs_db)) as session:
        owner = session.exec(
            sa.select(sa.column("user_id"))
            .select_from(sa.table("practice_sessions"))
            .where(sa.column("id") == practice_id)
        ).one()[0]
    await run_until(worker, finished(jobs_db, feedback_id))
    for _ in range(jobs.MAX_LEARNER_RETRIES):
        with Session(engine_for(jobs_db)) as session:
            assert history.list_sessions(session=session, user_id=owner)[0][0].can_retry
            assert jobs.request_retry(session=session, user_id=owner, practice_session_id=practice_id)
        await run_until(worker, finished(jobs_db, feedback_id))
        assert job_row(jobs_db, feedback_id).status == "failed"
    # The service was asked once per press, and no more presses are accepted.
    assert len(fake.calls(RESPONSES)) == jobs.MAX_LEARNER_RETRIES + 1
    with Session(engine_for(jobs_db)) as session:
        assert not jobs.request_retry(session=session, user_id=owner, practice_session_id=practice_id)
        [row], _more = history.list_sessions(session=session, user_id=owner)
    assert not row.can_retry and row.feedback == history.RETRIES_USED_UP
    assert job_row(jobs_db, feedback_id).status == "failed"
