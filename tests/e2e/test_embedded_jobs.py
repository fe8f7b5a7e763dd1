"""`make run`'s embedded mode end to end: the production app on SQLite runs its jobs on the
in-memory engine inside its one process, and analyses left unfinished by an earlier run
(one still pending, one that was running when the process died) are finished after a
start-up, by the app's own worker and built-in simulator."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlmodel import Session

from fluentio.db import engine_for
from fluentio.feedback import jobs
from fluentio.models import Feedback
from fluentio.models.base import utcnow
from tests.support.app_server import start_prod_app, stop_app
from tests.support.databases import fresh_sqlite
from tests.support.factories import make_user
from tests.support.feedback_data import add_practice_session

pytestmark = pytest.mark.e2e


def status(url: str, feedback_id: uuid.UUID) -> str:
    with Session(engine_for(url)) as session:
        row = session.get(Feedback, feedback_id)
        assert row is not None
        return row.status


def test_unfinished_analyses_are_finished_after_a_restart_on_sqlite(
    artifacts_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fresh_sqlite(tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)  # this test process: no engine runs here
        with Session(engine_for(url)) as session:
            user = make_user(session)
            pending = jobs.enqueue_analysis(
                session=session, practice_session_id=add_practice_session(session, user_id=user.id).id
            ).id
            running = jobs.enqueue_analysis(
                session=session, practice_session_id=add_practice_session(session, user_id=user.id).id
            ).id
            session.commit()
            assert jobs.claim(session=session, feedback_id=running, now=utcnow()) is not None

        app = start_prod_app(database_url=url, log_dir=artifacts_dir)
        try:
            deadline = time.monotonic() + 90
            while {status(url, pending), status(url, running)} != {"done"}:
                assert time.monotonic() < deadline, app.log()[-3000:]
                time.sleep(0.5)
            assert "job worker started (memory engine)" in app.log()
        finally:
            stop_app(app)
