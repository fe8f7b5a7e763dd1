"""A feedback job whose worker is killed mid-analysis is finished by another worker, once.

Real processes (`python -m fluentio.cli worker`, the worker process type), `kill -9`,
real PostgreSQL and the real engine. The analysis talks to the fake model through
OPENAI_BASE_URL; the fake holds its first answer until the test lets go, so the first
worker is killed while it waits for the model — not by mocking any app code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from fluentio.db import engine_for
from fluentio.feedback import jobs
from fluentio.models import DeckItem, Feedback, JobError
from fluentio.models.tutor import Correction
from fluentio.settings import get_settings
from tests.support.databases import fresh_postgres
from tests.support.factories import make_user
from tests.support.fake_feedback_api import FakeOpenAI, Reply
from tests.support.feedback_data import add_practice_session

ROOT = Path(__file__).resolve().parents[2]
RESPONSES = "/v1/responses"
STALLED_SECONDS = 3


@pytest.fixture
def cluster_db() -> Iterator[str]:
    with fresh_postgres(prefix="fluentio_kill") as url:
        yield url


def wait_for(what: str, condition: Callable[[], bool], seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "fluentio.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def feedback(url: str, feedback_id: uuid.UUID) -> Feedback:
    with Session(engine_for(url), expire_on_commit=False) as session:
        row = session.get(Feedback, feedback_id)
        assert row is not None
        return row


def test_a_job_whose_worker_is_killed_mid_analysis_is_finished_by_another_worker_once(
    cluster_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gate = threading.Event()
    with FakeOpenAI().running() as fake:
        fake.script = [Reply(gate=gate)]  # the first analysis hangs in the "model"
        env = {
            **os.environ,
            "DATABASE_URL": cluster_db,
            "OPENAI_API_KEY": "sk-test-fake",
            "OPENAI_BASE_URL": fake.url,
            "FLUENTIO_PROCESS_ROLE": "worker",
            "FLUENTIO_JOBS_STALLED_SECONDS": str(STALLED_SECONDS),
            "PYTHONPATH": str(ROOT),
        }
        for key in ("DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.setenv(key, env[key])
        get_settings.cache_clear()

        with Session(engine_for(cluster_db)) as session:
            user = make_user(session)
            practice = add_practice_session(session, user_id=user.id)
            feedback_id = jobs.enqueue_analysis(session=session, practice_session_id=practice.id).id
            session.commit()
            user_id = user.id

        first = start_worker(env, tmp_path / "first.log")
        second: subprocess.Popen[bytes] | None = None
        try:
            wait_for("the first worker to ask the model", lambda: len(fake.calls(RESPONSES)) == 1)
            assert feedback(cluster_db, feedback_id).status == "running"

            second = start_worker(env, tmp_path / "second.log")
            wait_for(
                "the second worker to start",
                lambda: b"worker ready" in (tmp_path / "second.log").read_bytes(),
            )
            time.sleep(STALLED_SECONDS)  # the first worker is alive and heartbeating: its job stays its own
            assert len(fake.calls(RESPONSES)) == 1
            assert feedback(cluster_db, feedback_id).status == "running"

            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            wait_for(
                "the analysis to be finished by the second worker",
                lambda: feedback(cluster_db, feedback_id).status == "done",
            )
        finally:
            gate.set()
            if first.poll() is None:
                first.kill()
            if second is not None:
                second.send_signal(signal.SIGTERM)
                try:
                    assert second.wait(timeout=30) == 0, (tmp_path / "second.log").read_text()
                finally:
                    if second.poll() is None:
                        second.kill()

        # The second worker saw the first one fall silent and took its job over.
        assert "its worker stopped answering; queued again" in (tmp_path / "second.log").read_text()
        # Finished once: a second call to the model, one stored result.
        assert len(fake.calls(RESPONSES)) == 2
        row = feedback(cluster_db, feedback_id)
        assert (row.status, row.attempts, row.last_error) == ("done", 2, None)
        with Session(engine_for(cluster_db)) as session:
            positions = session.exec(
                select(Correction.position).where(Correction.feedback_id == feedback_id)
            ).all()
            assert positions and sorted(positions) == list(range(len(positions)))
            keys = session.exec(select(DeckItem.key).where(DeckItem.user_id == user_id)).all()
            assert len(keys) == len(set(keys))
            # The engine: the job succeeded (and was cleared); nothing failed.
            assert session.exec(select(JobError)).all() == []
            left = session.execute(
                sa.text("SELECT status FROM procrastinate_jobs WHERE lock = :lock"),
                {"lock": jobs.job_lock(feedback_id)},
            ).all()
            assert left == []
