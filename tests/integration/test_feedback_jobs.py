"""Analysis jobs on the job engine (procrastinate on PostgreSQL, and in memory on SQLite):
retry with backoff, a failed state the learner can retry, a dead worker's job run again
with exactly one result, skipped when there is too little speech. The model is a local
fake endpoint reached through OPENAI_BASE_URL, so the app's real client code runs, and
the engine is the real one on the test's PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from procrastinate.jobs import Job
from sqlmodel import Session, col, select

from fluentio.classroom import calls, lifecycle, transcript
from fluentio.classroom.reasons import EndReason
from fluentio.db import engine_for
from fluentio.feedback import history, jobs, worker
from fluentio.feedback.fluency import fluency_figures
from fluentio.feedback.schema import FeedbackAnswer
from fluentio.jobs import engine_lifespan, jobs_app
from fluentio.jobs.runner import retry_stalled_jobs, worker_options
from fluentio.models import Feedback, FeedbackStatus, JobError
from fluentio.models.base import utcnow
from fluentio.models.tutor import Correction, TranscriptItem
from fluentio.settings import get_settings
from tests.support.databases import fresh_postgres, fresh_sqlite
from tests.support.factories import make_user
from tests.support.fake_feedback_api import FakeOpenAI, Reply
from tests.support.feedback_data import add_practice_session

ROOT = Path(__file__).resolve().parents[2]
FAST = jobs.RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)
RESPONSES = "/v1/responses"


@pytest.fixture(scope="module")
def jobs_db() -> Iterator[str]:
    """A database of this module's own: its workers take any job they find."""
    with fresh_postgres(prefix="fluentio_jobs") as url:
        yield url


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch, jobs_db: str) -> AsyncIterator[FakeOpenAI]:
    """The fake model, the app's settings pointing at it, and the engine open on this loop."""
    with engine_for(jobs_db).begin() as connection:
        for table in ("feedback", "job_errors", "procrastinate_jobs", "procrastinate_workers"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
    monkeypatch.setattr(worker.ANALYSIS_RETRY, "policy", FAST)
    with FakeOpenAI().running() as fake:
        monkeypatch.setenv("DATABASE_URL", jobs_db)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        get_settings.cache_clear()
        assert get_settings().jobs_backend == "postgres"
        async with engine_lifespan():
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


async def engine_jobs(feedback_id: uuid.UUID) -> list[Job]:
    return list(await jobs_app.job_manager.list_jobs_async(lock=jobs.job_lock(feedback_id)))


async def work(**options: object) -> None:
    """One worker run that takes every job due now, then stops."""
    await jobs_app.run_worker_async(**worker_options(get_settings(), wait=False, **options))


async def run_until(done: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the job did not reach the expected state in time"
        await work()
        await asyncio.sleep(0.02)


def finished(url: str, feedback_id: uuid.UUID) -> Callable[[], bool]:
    return lambda: job_row(url, feedback_id).status in ("done", "failed", "skipped")


def owner_of(url: str, practice_id: uuid.UUID) -> uuid.UUID:
    with Session(engine_for(url)) as session:
        return session.exec(
            sa.select(sa.column("user_id"))
            .select_from(sa.table("practice_sessions"))
            .where(sa.column("id") == practice_id)
        ).one()[0]


async def test_fails_twice_then_succeeds_stores_one_result(fake: FakeOpenAI, jobs_db: str) -> None:
    fake.script = [Reply(500), Reply(429, headers={"retry-after": "0"})]
    _, feedback_id = new_job(jobs_db)

    await run_until(finished(jobs_db, feedback_id))

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
    # The engine's job succeeded and was cleared away; no error is left for the admin.
    assert await engine_jobs(feedback_id) == []
    with Session(engine_for(jobs_db)) as session:
        assert session.exec(select(JobError)).all() == []


async def test_a_failure_backs_off_before_the_next_attempt(
    fake: FakeOpenAI, jobs_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker.ANALYSIS_RETRY, "policy", jobs.RetryPolicy(base_delay=60))
    fake.script = [Reply(503)]
    _, feedback_id = new_job(jobs_db)

    await work()

    job = job_row(jobs_db, feedback_id)
    assert job.status == FeedbackStatus.PENDING.value
    assert job.next_attempt_at is not None and job.next_attempt_at > utcnow() + timedelta(seconds=30)
    assert "503" in (job.last_error or "")
    [queued] = await engine_jobs(feedback_id)  # the engine holds the retry, not our row
    assert queued.status == "todo" and queued.attempts == 1
    assert queued.scheduled_at is not None and queued.scheduled_at > utcnow() + timedelta(seconds=30)
    await work()  # not due yet
    assert len(fake.calls(RESPONSES)) == 1


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
async def test_a_malformed_answer_is_a_failed_attempt(
    fake: FakeOpenAI, jobs_db: str, reply: Reply, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker.ANALYSIS_RETRY, "policy", jobs.RetryPolicy(max_attempts=2, base_delay=0.01))
    fake.script = [reply, reply]
    practice_id, feedback_id = new_job(jobs_db)

    await run_until(finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    assert job.status == FeedbackStatus.FAILED.value
    assert job.attempts == 2
    assert job.last_error and job.last_error.startswith(jobs.GAVE_UP)
    assert correction_count(jobs_db, feedback_id) == 0
    with Session(engine_for(jobs_db)) as session:  # the transcript is kept
        assert (
            len(session.exec(select(TranscriptItem).where(TranscriptItem.session_id == practice_id)).all())
            == 8
        )
    # The engine's failed state, with the reason, is what the admin page lists.
    [failed] = await engine_jobs(feedback_id)
    assert failed.status == "failed" and failed.attempts == 2
    with Session(engine_for(jobs_db)) as session:
        error = session.get(JobError, failed.id)
    assert error is not None and error.task_name == jobs.ANALYSE_TASK and error.error == job.last_error


async def test_a_refused_request_fails_at_once_and_the_learner_can_retry(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    fake.script = [Reply(401)]
    practice_id, feedback_id = new_job(jobs_db)

    await run_until(finished(jobs_db, feedback_id))
    job = job_row(jobs_db, feedback_id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert "401" in (job.last_error or "")

    with Session(engine_for(jobs_db)) as session:
        stranger = make_user(session)
        session.commit()
        assert not jobs.request_retry(session=session, user_id=stranger.id, practice_session_id=practice_id)
        assert jobs.request_retry(
            session=session, user_id=owner_of(jobs_db, practice_id), practice_session_id=practice_id
        )
    assert job_row(jobs_db, feedback_id).status == "pending"
    assert sorted(j.status for j in await engine_jobs(feedback_id)) == ["failed", "todo"]

    await run_until(finished(jobs_db, feedback_id))
    assert job_row(jobs_db, feedback_id).status == "done"


async def test_a_dead_workers_job_runs_again_and_its_late_answer_is_refused(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    _, feedback_id = new_job(jobs_db)
    # A worker takes the job and starts the analysis, then its process dies: the engine
    # still says "doing", the row says "running", and the worker's heartbeat stops.
    dead_worker = await jobs_app.job_manager.register_worker()
    taken = await jobs_app.job_manager.fetch_job(queues=None, worker_id=dead_worker)
    assert taken is not None and taken.task_kwargs == {"feedback_id": str(feedback_id)}
    with Session(engine_for(jobs_db)) as session:
        dead_run = jobs.claim(session=session, feedback_id=feedback_id, now=utcnow() - timedelta(minutes=5))
    assert dead_run is not None and job_row(jobs_db, feedback_id).status == "running"

    # While its heartbeat is fresh the job is left alone, and no one else may run it.
    assert await retry_stalled_jobs(jobs_app, stalled_seconds=30) == 0
    await work()
    assert fake.calls(RESPONSES) == []

    with engine_for(jobs_db).begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '5 minutes' WHERE id = :id"
            ),
            {"id": dead_worker},
        )
    assert await retry_stalled_jobs(jobs_app, stalled_seconds=30) == 1
    await run_until(finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert len(fake.calls(RESPONSES)) == 1
    # The dead run's late answer cannot store a second result.
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
    with Session(engine_for(jobs_db)) as session:
        stored = jobs.store_result(
            session=session, claim=dead_run, answer=late, figures=fluency_figures([]), lines=[], model="late"
        )
    assert stored is False
    assert job_row(jobs_db, feedback_id).summary != "late"


async def test_unfinished_analyses_without_a_job_are_queued_again_at_start(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    ids = [new_job(jobs_db)[1] for _ in range(3)]
    # Two lost their jobs (rows from before the engine, say); one still has its own.
    with engine_for(jobs_db).begin() as connection:
        connection.execute(
            sa.text("DELETE FROM procrastinate_jobs WHERE lock IN (:a, :b)"),
            {"a": jobs.job_lock(ids[0]), "b": jobs.job_lock(ids[1])},
        )

    assert await worker.requeue_lost_analyses() == 2
    assert await worker.requeue_lost_analyses() == 0  # each once

    await run_until(lambda: all(finished(jobs_db, i)() for i in ids))
    assert [job_row(jobs_db, i).status for i in ids] == ["done"] * 3
    assert len(fake.calls(RESPONSES)) == 3


async def test_two_jobs_for_one_analysis_never_run_together_and_store_one_result(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    fake.script = [Reply(delay=0.5)]  # slow enough for the workers to overlap
    _, feedback_id = new_job(jobs_db)
    # A second job for the same analysis (a re-scan racing the first job's start).
    await jobs_app.configure_task(jobs.ANALYSE_TASK, lock=jobs.job_lock(feedback_id)).defer_async(
        feedback_id=str(feedback_id)
    )

    await asyncio.gather(work(concurrency=1), work(concurrency=1))
    await run_until(finished(jobs_db, feedback_id))
    while await engine_jobs(feedback_id):
        await work()

    assert len(fake.calls(RESPONSES)) == 1
    job = job_row(jobs_db, feedback_id)
    assert (job.status, job.attempts) == ("done", 1)
    with Session(engine_for(jobs_db)) as session:
        positions = session.exec(
            select(Correction.position).where(Correction.feedback_id == feedback_id)
        ).all()
    assert sorted(positions) == list(range(len(positions)))


async def test_racing_workers_take_each_job_once(fake: FakeOpenAI, jobs_db: str) -> None:
    ids = [new_job(jobs_db)[1] for _ in range(6)]

    await asyncio.gather(*(work(concurrency=2) for _ in range(3)))
    await run_until(lambda: all(finished(jobs_db, i)() for i in ids))

    assert [job_row(jobs_db, i).attempts for i in ids] == [1] * 6
    assert len(fake.calls(RESPONSES)) == 6  # every job once, none twice


async def test_too_little_speech_is_skipped_without_a_model_call(fake: FakeOpenAI, jobs_db: str) -> None:
    _, feedback_id = new_job(jobs_db, learner_lines=["Yes.", "I go home."])

    await run_until(finished(jobs_db, feedback_id))

    job = job_row(jobs_db, feedback_id)
    assert job.status == FeedbackStatus.SKIPPED.value
    assert job.last_error == jobs.NOT_ENOUGH_SPEECH
    assert job.learner_words == 4
    assert fake.calls(RESPONSES) == []


async def test_enqueue_is_idempotent_and_part_of_the_transaction(fake: FakeOpenAI, jobs_db: str) -> None:
    practice_id, feedback_id = new_job(jobs_db)
    with Session(engine_for(jobs_db)) as session:
        again = jobs.enqueue_analysis(session=session, practice_session_id=practice_id)
        session.commit()
        assert again.id == feedback_id
        assert len(session.exec(select(Feedback).where(Feedback.session_id == practice_id)).all()) == 1
    assert len(await engine_jobs(feedback_id)) == 1

    # A transaction that rolls back leaves neither the row nor a job behind.
    with Session(engine_for(jobs_db)) as session:
        user = make_user(session)
        practice = add_practice_session(session, user_id=user.id)
        dropped = jobs.enqueue_analysis(session=session, practice_session_id=practice.id)
        session.rollback()
    assert await engine_jobs(dropped.id) == []


async def test_the_in_memory_engine_on_sqlite_runs_the_same_task(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`make run` (SQLite, one process): the same task on procrastinate's in-memory engine;
    a row left running by a restart is queued again when the engine starts."""
    monkeypatch.setattr(worker.ANALYSIS_RETRY, "policy", FAST)
    with fresh_sqlite(tmp_path_factory.mktemp("jobs")) as url, FakeOpenAI().running() as fake:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
        get_settings.cache_clear()
        assert get_settings().jobs_backend == "memory"
        # Before the restart: a job was taken, then the process stopped.
        _, left_running = new_job(url)
        with Session(engine_for(url)) as session:
            assert jobs.claim(session=session, feedback_id=left_running, now=utcnow() - timedelta(minutes=5))

        async with engine_lifespan():
            assert await worker.requeue_lost_analyses() == 1
            await run_until(finished(url, left_running))
            fake.script = [Reply(502)]
            # Committed in a worker thread, as a lesson's end is: handed to the engine's loop.
            _, fresh = await asyncio.to_thread(new_job, url)
            await run_until(finished(url, fresh))

        assert [job_row(url, i).status for i in (left_running, fresh)] == ["done", "done"]
        assert sorted(job_row(url, i).attempts for i in (left_running, fresh)) == [2, 2]
        assert correction_count(url, fresh) >= 3
        assert len(fake.calls(RESPONSES)) == 3


async def test_the_learners_retries_of_a_failing_analysis_are_capped_with_a_message(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    fake.script = [Reply(401)] * (jobs.MAX_LEARNER_RETRIES + 1)
    practice_id, feedback_id = new_job(jobs_db)
    owner = owner_of(jobs_db, practice_id)
    await run_until(finished(jobs_db, feedback_id))
    for _ in range(jobs.MAX_LEARNER_RETRIES):
        with Session(engine_for(jobs_db)) as session:
            assert history.list_sessions(session=session, user_id=owner)[0][0].can_retry
            assert jobs.request_retry(session=session, user_id=owner, practice_session_id=practice_id)
        await run_until(finished(jobs_db, feedback_id))
        assert job_row(jobs_db, feedback_id).status == "failed"
    # The service was asked once per press, and no more presses are accepted.
    assert len(fake.calls(RESPONSES)) == jobs.MAX_LEARNER_RETRIES + 1
    with Session(engine_for(jobs_db)) as session:
        assert not jobs.request_retry(session=session, user_id=owner, practice_session_id=practice_id)
        [row], _more = history.list_sessions(session=session, user_id=owner)
    assert not row.can_retry and row.feedback == history.RETRIES_USED_UP
    assert job_row(jobs_db, feedback_id).status == "failed"


async def test_a_job_stopped_by_a_shutdown_goes_back_to_the_queue(fake: FakeOpenAI, jobs_db: str) -> None:
    gate = threading.Event()
    fake.script = [Reply(gate=gate)]  # the model is still thinking when the worker stops
    _, feedback_id = new_job(jobs_db)
    running = asyncio.create_task(
        jobs_app.run_worker_async(**worker_options(get_settings(), shutdown_graceful_timeout=0.2))
    )
    deadline = time.monotonic() + 30
    while not fake.calls(RESPONSES):
        assert time.monotonic() < deadline, "the worker never asked the model"
        await asyncio.sleep(0.05)

    running.cancel()  # what the process's SIGTERM does to its worker
    with contextlib.suppress(asyncio.CancelledError):
        await running
    gate.set()

    [queued] = await engine_jobs(feedback_id)
    assert queued.status == "todo"
    assert job_row(jobs_db, feedback_id).status == "running"
    await run_until(finished(jobs_db, feedback_id))
    job = job_row(jobs_db, feedback_id)
    assert (job.status, job.attempts) == ("done", 2)
    assert len(fake.calls(RESPONSES)) == 2


def engine_cli(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m fluentio.cli jobs …` as an operator runs it, on the queue at `url`."""
    return subprocess.run(
        [sys.executable, "-m", "fluentio.cli", "jobs", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_an_operator_lists_and_retries_failed_jobs_with_the_engines_own_cli(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    fake.script = [Reply(401)]
    _, feedback_id = new_job(jobs_db)
    await run_until(finished(jobs_db, feedback_id))
    [failed] = await engine_jobs(feedback_id)
    assert failed.status == "failed"

    healthy = await asyncio.to_thread(engine_cli, jobs_db, "healthchecks")
    assert healthy.returncode == 0 and "DB connection: OK" in healthy.stdout, healthy.stderr

    listed = await asyncio.to_thread(engine_cli, jobs_db, "shell", stdin="list_jobs status=failed\n")
    assert listed.returncode == 0, listed.stderr
    assert f"#{failed.id} {failed.task_name}" in listed.stdout and "failed" in listed.stdout

    retried = await asyncio.to_thread(engine_cli, jobs_db, "shell", stdin=f"retry {failed.id}\n")
    assert retried.returncode == 0, retried.stderr
    [again] = await engine_jobs(feedback_id)
    assert again.id == failed.id and again.status == "todo"  # back in the queue for a worker
    await run_until(lambda: job_row(jobs_db, feedback_id).status == "done")  # the model answers now
    assert correction_count(jobs_db, feedback_id) > 0


def live_taken_over_call(url: str, *, takeovers: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A live call (four exchanges stored), taken over `takeovers` times; (learner id,
    session id)."""
    with Session(engine_for(url)) as session:
        user = make_user(session)
        practice = add_practice_session(session, user_id=user.id, status="live", created_at=utcnow())
        practice.ended_at = None
        practice.end_reason = None
        practice.takeovers = takeovers
        practice.provider_call_id = f"rtc_gap_{uuid.uuid4().hex[:10]}"
        for number, item in enumerate(
            session.exec(
                select(TranscriptItem)
                .where(TranscriptItem.session_id == practice.id)
                .order_by(col(TranscriptItem.seq))
            ).all()
        ):
            item.provider_item_id = f"item_stored_{number}"
        session.commit()
        return user.id, practice.id


def end_by_the_server(url: str, practice_id: uuid.UUID) -> uuid.UUID:
    """The time limit ends the call (the learner's page learns it afterwards); its
    analysis's feedback id."""
    with Session(engine_for(url)) as session:
        done = lifecycle.finalise(
            session=session, session_id=practice_id, reason=EndReason.TIME_LIMIT, settings=get_settings()
        )
        assert done is not None
        session.commit()
        feedback = session.exec(select(Feedback).where(Feedback.session_id == practice_id)).one()
        return feedback.id


async def test_a_taken_over_calls_analysis_waits_for_what_the_page_hands_over(
    fake: FakeOpenAI, jobs_db: str
) -> None:
    """A worker died mid-lesson and a whole exchange went unheard; the server then ends
    the call. The learner's page hands that exchange over a moment later: the analysis,
    queued at the end, must not have read the transcript yet."""
    user_id, practice_id = live_taken_over_call(jobs_db, takeovers=1)
    feedback_id = end_by_the_server(jobs_db, practice_id)
    [job] = await engine_jobs(feedback_id)
    assert job.scheduled_at is not None
    waits = (job.scheduled_at - utcnow()).total_seconds()
    assert transcript.PAGE_CAPTIONS_GRACE_SECONDS - 5 < waits <= transcript.PAGE_CAPTIONS_GRACE_SECONDS

    await work()  # a worker looking now finds nothing due
    assert job_row(jobs_db, feedback_id).status == "pending" and fake.requests == []

    unheard = "I went to the market yesterday and buyed three apples for my grandmother"
    captions = [
        {"id": "item_stored_0", "speaker": "tutor", "text": "(as stored)"},
        {"id": "item_stored_1", "speaker": "learner", "text": "(as stored)"},
        {"id": "item_gap_tutor", "speaker": "tutor", "text": "What did you do yesterday?"},
        {"id": "item_gap_learner", "speaker": "learner", "text": unheard},
    ]
    assert await calls.keep_page_captions(user_id=user_id, session_id=practice_id, captions=captions) == 2

    with engine_for(jobs_db).begin() as connection:  # the engine's clock is the database's
        connection.execute(
            sa.text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"), {"id": job.id}
        )
    await run_until(finished(jobs_db, feedback_id))
    assert job_row(jobs_db, feedback_id).status == "done"
    [request] = [r for r in fake.requests if r.path == RESPONSES]
    assert unheard in json.dumps(request.body)  # the analysis read the exchange the page kept


async def test_a_call_followed_from_start_to_end_is_analysed_at_once(fake: FakeOpenAI, jobs_db: str) -> None:
    _, practice_id = live_taken_over_call(jobs_db, takeovers=0)
    feedback_id = end_by_the_server(jobs_db, practice_id)
    [job] = await engine_jobs(feedback_id)
    assert job.scheduled_at is None
    await run_until(finished(jobs_db, feedback_id))
    assert job_row(jobs_db, feedback_id).status == "done"
