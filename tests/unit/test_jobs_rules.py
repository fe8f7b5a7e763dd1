"""The job engine's two rules: which engine a configuration gets, and when a failed job
runs again (and after how long)."""

from __future__ import annotations

import asyncio

import pytest
from procrastinate.jobs import Job
from pydantic import ValidationError

from fluentio.jobs.app import EngineRetry, GiveUp, RetryLater, RetryPolicy
from fluentio.settings import Settings

PG = "postgresql://fluentio@127.0.0.1/fluentio"


def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: object, **env: str) -> Settings:
    monkeypatch.setenv("FLUENTIO_DATA_DIR", str(tmp_path))
    for key in ("DATABASE_URL", "FLUENTIO_JOBS", "FLUENTIO_PROCESS_ROLE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_engine_follows_the_database_unless_told(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    assert settings(monkeypatch, tmp_path).jobs_backend == "memory"  # make run: SQLite
    assert settings(monkeypatch, tmp_path, DATABASE_URL=PG).jobs_backend == "postgres"
    assert settings(monkeypatch, tmp_path, DATABASE_URL=PG, FLUENTIO_JOBS="memory").jobs_backend == "memory"
    worker = settings(
        monkeypatch,
        tmp_path,
        DATABASE_URL=PG,
        FLUENTIO_PROCESS_ROLE="worker",
        OPENAI_BASE_URL="http://127.0.0.1:8090/v1",  # the simulator as its own process
    )
    assert (worker.process_role, worker.jobs_backend) == ("worker", "postgres")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"FLUENTIO_PROCESS_ROLE": "web"}, "FLUENTIO_PROCESS_ROLE=web needs the shared job engine"),
        (
            {
                "FLUENTIO_PROCESS_ROLE": "worker",
                "DATABASE_URL": PG,
                "FLUENTIO_JOBS": "memory",
                "OPENAI_BASE_URL": "http://127.0.0.1:8090/v1",
            },
            "Only the all-in-one",
        ),
        ({"FLUENTIO_JOBS": "postgres"}, "FLUENTIO_JOBS=postgres needs DATABASE_URL to be PostgreSQL"),
        ({"FLUENTIO_PROCESS_ROLE": "everything"}, "FLUENTIO_PROCESS_ROLE"),
    ],
)
def test_configurations_that_cannot_share_jobs_are_refused_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, env: dict[str, str], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        settings(monkeypatch, tmp_path, **env)


def job(attempts: int) -> Job:
    return Job(id=1, queue="default", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


def seconds(decision: object) -> float:
    from procrastinate.utils import utcnow

    assert decision is not None
    return (decision.retry_at - utcnow()).total_seconds()  # type: ignore[attr-defined]


def test_the_retry_rule() -> None:
    rule = EngineRetry(RetryPolicy(max_attempts=3, base_delay=5, max_delay=300))
    # Any error: 5 s then 10 s (±20 %), and the third run is the last.
    assert 3.5 < seconds(rule.get_retry_decision(exception=ValueError("x"), job=job(0))) <= 6
    assert 7.5 < seconds(rule.get_retry_decision(exception=ValueError("x"), job=job(1))) <= 12
    assert rule.get_retry_decision(exception=ValueError("x"), job=job(2)) is None
    assert [rule.retries_left(job(n)) for n in range(3)] == [True, True, False]
    # The task may choose its delay, or give up at once.
    assert 59 < seconds(rule.get_retry_decision(exception=RetryLater("429", 60), job=job(0))) <= 60
    assert rule.get_retry_decision(exception=GiveUp("refused"), job=job(0)) is None
    # A worker's shutdown is not the job's fault: at once, even after the last attempt.
    assert seconds(rule.get_retry_decision(exception=asyncio.CancelledError(), job=job(5))) <= 0.5
