"""The admin page's "Background jobs": the engine's failed jobs with task, time, attempts
and error, and "Retry" — for admins only. Real engine on PostgreSQL, fake model."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from fluentio.backoffice import service
from fluentio.db import engine_for
from fluentio.models import Role, User
from tests.integration.test_feedback_jobs import (  # noqa: F401 (fixtures)
    fake,
    finished,
    job_row,
    jobs_db,
    new_job,
    run_until,
)
from tests.support.factories import make_user
from tests.support.fake_feedback_api import FakeOpenAI, Reply


def people(url: str) -> tuple[User, User]:
    with Session(engine_for(url), expire_on_commit=False) as session:
        admin = make_user(session, role=Role.ADMIN, display_name="Ada Admin")
        learner = make_user(session)
        session.commit()
        return admin, learner


async def test_failed_jobs_are_listed_and_retried_by_an_admin_only(fake: FakeOpenAI, jobs_db: str) -> None:  # noqa: F811
    admin, learner = people(jobs_db)
    fake.script = [Reply(401)]
    _, feedback_id = new_job(jobs_db)
    await run_until(finished(jobs_db, feedback_id))
    assert job_row(jobs_db, feedback_id).status == "failed"

    [row] = await service.failed_jobs(admin=admin)
    assert row["task"] == "Feedback analysis"
    assert row["about"] == f"feedback_id {feedback_id}"
    assert row["attempts"] == "1"
    assert "401" in row["error"] and row["when"].endswith("UTC")

    for intruder in (learner, None):
        with pytest.raises(service.AdminError, match="Only administrators"):
            await service.failed_jobs(admin=intruder)
        with pytest.raises(service.AdminError, match="Only administrators"):
            await service.retry_failed_job(admin=intruder, job_id=row["id"])
    assert [r["id"] for r in await service.failed_jobs(admin=admin)] == [row["id"]]

    with pytest.raises(service.AdminError, match="Pick a failed job"):
        await service.retry_failed_job(admin=admin, job_id="not-a-number")
    assert "queued again" in await service.retry_failed_job(admin=admin, job_id=row["id"])
    with pytest.raises(service.AdminError, match="not failed any more"):
        await service.retry_failed_job(admin=admin, job_id=row["id"])

    # The engine runs it again: the cause is gone (the model answers), the analysis is done.
    await run_until(lambda: job_row(jobs_db, feedback_id).status == "done")
    assert await service.failed_jobs(admin=admin) == []
    assert len(fake.calls("/v1/responses")) == 2
