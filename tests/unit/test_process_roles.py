"""Process roles (FLUENTIO_PROCESS_ROLE) and the worker process's life: its parts are
entered in order, left in reverse when it is told to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from fluentio.classroom.ownership import call_supervision
from fluentio.db import database_threads
from fluentio.jobs import worker_lifespan
from fluentio.settings import Settings
from fluentio.worker_process import run_worker, worker_parts

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/fluentio"


def test_the_role_defaults_to_one_process_and_takes_only_known_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLUENTIO_PROCESS_ROLE", raising=False)
    assert Settings(_env_file=None).process_role == "all"  # type: ignore[call-arg]
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DATABASE_URL", PG)  # scaled out: jobs and leases need PostgreSQL
    for role in ("web", "worker"):
        monkeypatch.setenv("FLUENTIO_PROCESS_ROLE", role)
        assert Settings(_env_file=None).process_role == role  # type: ignore[call-arg]
    monkeypatch.setenv("FLUENTIO_PROCESS_ROLE", "jobs")
    with pytest.raises(ValidationError, match="FLUENTIO_PROCESS_ROLE"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_a_scaled_out_process_without_a_key_needs_the_simulator_s_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The simulator mounted in one web process cannot serve the others' calls: in roles
    web and worker it runs as its own process, and OPENAI_BASE_URL says where."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("FLUENTIO_PROCESS_ROLE", "worker")
    monkeypatch.setenv("DATABASE_URL", PG)
    with pytest.raises(ValidationError, match=r"python -m fluentio\.simulator"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_a_worker_supervises_calls_and_runs_background_jobs() -> None:
    assert worker_parts() == [database_threads, call_supervision, worker_lifespan]


async def test_parts_enter_in_order_and_leave_in_reverse_when_told_to_stop() -> None:
    log: list[str] = []
    entered = asyncio.Event()

    def part(name: str):  # type: ignore[no-untyped-def]
        @contextlib.asynccontextmanager
        async def running() -> AsyncIterator[None]:
            log.append(f"enter {name}")
            if len(log) == 2:
                entered.set()
            try:
                yield
            finally:
                log.append(f"leave {name}")

        return running

    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker([part("calls"), part("jobs")], stop=stop))
    await asyncio.wait_for(entered.wait(), 5)
    assert not worker.done()
    stop.set()
    await asyncio.wait_for(worker, 5)
    assert log == ["enter calls", "enter jobs", "leave jobs", "leave calls"]
