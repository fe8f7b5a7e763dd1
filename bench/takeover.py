"""A worker dies mid-lesson: how long until its calls are supervised again, and the bill.

Two worker processes (`python -m fluentio.cli worker`) supervise BENCH_TAKEOVER_CALLS
calls (default 40) that this process starts as the web role would (the relay use case,
FLUENTIO_PROCESS_ROLE=web), against `bench/provider_standin.py` (no media, one process;
a sideband re-attaches by call id). After a short hold, the worker owning the most calls
is killed with SIGKILL. Measured, from the lease rows:

- take-over time per call: from the kill to another worker holding the call's lease
  (target: ≤ 10 s for every call);
- the bill once every call has been ended: one ledger entry per call, and
  |seconds charged − the provider's connected seconds| (target ≤ 1 s).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from bench.burst import OFFER_SDP, ROOT, _percentile, running_standin
from tests.support.databases import fresh_postgres

CALLS = int(os.environ.get("BENCH_TAKEOVER_CALLS", "40"))
HOLD_SECONDS = float(os.environ.get("BENCH_TAKEOVER_HOLD", "5"))
TARGETS = {"takeover_max_s": 10.0, "charge_error_max_s": 1.0}


@contextmanager
def running_workers(
    count: int, env: dict[str, str], log_dir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = []
    try:
        for index in range(count):
            log = (log_dir / f"worker-{index}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "fluentio.cli", "worker"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        deadline = time.monotonic() + 60
        while not all("worker ready" in (log_dir / f"worker-{i}.log").read_text() for i in range(count)):
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start within 60 s")
            time.sleep(0.2)
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fluentio-takeover-") as tmp, fresh_postgres() as db_url:
        log_dir = Path(tmp)
        with running_standin(log_dir) as (provider_url, _standin_pid):
            env = {
                **os.environ,
                "PYTHONUNBUFFERED": "1",
                "DATABASE_URL": db_url,
                "OPENAI_BASE_URL": provider_url,
                "FLUENTIO_SIMULATOR_KEY": "sk-bench-standin",
                "FLUENTIO_PROCESS_ROLE": "worker",
            }
            env.pop("OPENAI_API_KEY", None)
            from fluentio.settings import get_settings

            # This process plays the web role (its environment is restored afterwards).
            names = (
                "DATABASE_URL",
                "OPENAI_BASE_URL",
                "FLUENTIO_SIMULATOR_KEY",
                "FLUENTIO_PROCESS_ROLE",
                "OPENAI_API_KEY",
            )
            saved = {name: os.environ.get(name) for name in names}
            os.environ.update({name: env[name] for name in names[:3]}, FLUENTIO_PROCESS_ROLE="web")
            os.environ.pop("OPENAI_API_KEY", None)
            get_settings.cache_clear()
            try:
                with running_workers(2, env, log_dir) as workers:
                    return asyncio.run(_measure(workers, provider_url))
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
                get_settings.cache_clear()


async def _measure(workers: list[subprocess.Popen[bytes]], provider_url: str) -> dict[str, Any]:
    from fluentio.classroom import calls

    users = await asyncio.to_thread(_learners, CALLS)
    started = await asyncio.gather(
        *(
            calls.start_relay_call(user_id=u, offer_sdp=OFFER_SDP, level="B1", topic=None, vocabulary=None)
            for u in users
        )
    )
    ids = [uuid.UUID(s.session_id) for s in started]
    await _until(
        lambda: all(r.status == "live" and r.owner_id for r in _rows(ids)), 60, "every call live and owned"
    )
    await asyncio.sleep(HOLD_SECONDS)

    owners: dict[str, list[uuid.UUID]] = {}
    for row in await asyncio.to_thread(_rows, ids):
        owners.setdefault(str(row.owner_id), []).append(row.id)
    victim_owner, victim_calls = max(owners.items(), key=lambda item: len(item[1]))
    victim_pid = int(victim_owner.split(":")[-2])
    victim = next(p for p in workers if p.pid == victim_pid)
    os.killpg(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    taken: dict[uuid.UUID, float] = {}
    while len(taken) < len(victim_calls) and time.monotonic() - killed < 60:
        now = time.monotonic()
        for row in await asyncio.to_thread(_rows, victim_calls):
            if row.id not in taken and row.owner_id not in (None, victim_owner):
                taken[row.id] = now - killed
        await asyncio.sleep(0.1)

    user_of = {uuid.UUID(s.session_id): u for s, u in zip(started, users, strict=True)}
    await asyncio.gather(*(calls.end_call(user_id=user_of[sid], session_id=sid) for sid in ids))
    await _until(
        lambda: all(r.status not in ("starting", "live") for r in _rows(ids)), 60, "every call finalised"
    )
    report = await asyncio.to_thread(httpx.get, provider_url + "/_bench/calls", timeout=30)
    provider = {c["id"]: c for c in report.json()}
    errors = []
    charged_once = 0
    for row in await asyncio.to_thread(_rows, ids):
        seconds = (provider.get(row.provider_call_id or "") or {}).get("connected_seconds")
        if seconds is not None:
            errors.append(abs(row.billable_seconds - seconds))
        charged_once += _entries(row.id) == 1
    takeovers = list(taken.values())
    return {
        "calls": CALLS,
        "killed_worker_calls": len(victim_calls),
        "taken_over": len(taken),
        "takeover_p50_s": _percentile(takeovers, 0.5),
        "takeover_max_s": _percentile(takeovers, 1.0),
        "charged_once": charged_once,
        "charge_error_max_s": round(max(errors), 2) if errors else None,
        "targets": TARGETS,
    }


def table(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            "Worker killed mid-lesson (kill -9; targets: every call taken over <= 10 s, charge error <= 1 s)",
            f"  calls {result['calls']}, on the killed worker {result['killed_worker_calls']}, "
            f"taken over {result['taken_over']}",
            f"  take-over p50 {result['takeover_p50_s']} s, max {result['takeover_max_s']} s",
            f"  charged once {result['charged_once']}/{result['calls']}, "
            f"charge error max {result['charge_error_max_s']} s",
        ]
    )


async def _until(predicate: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {within} s")
        await asyncio.sleep(0.2)


def _learners(count: int) -> list[uuid.UUID]:
    from fluentio.billing import ledger
    from fluentio.db import session_scope
    from fluentio.models import User
    from fluentio.models.billing import Actor, LedgerReason

    ids = []
    with session_scope() as session:
        for _ in range(count):
            user = User(email=f"takeover-{uuid.uuid4().hex[:12]}@bench.test", display_name="Bench")
            session.add(user)
            session.flush()
            ledger.grant(
                session=session,
                user_id=user.id,
                millicredits=60_000,
                reason=LedgerReason.ADMIN_GRANT,
                idempotency_key=f"bench-grant:{user.id}",
                actor=Actor.SYSTEM,
            )
            ids.append(user.id)
    return ids


def _rows(ids: list[uuid.UUID]) -> list[Any]:
    from fluentio.db import session_scope
    from fluentio.models import PracticeSession

    with session_scope() as session:
        return list(session.exec(select(PracticeSession).where(col(PracticeSession.id).in_(ids))))


def _entries(session_id: uuid.UUID) -> int:
    from fluentio.db import session_scope
    from fluentio.models.billing import LedgerEntry

    with session_scope() as session:
        return len(
            list(session.exec(select(LedgerEntry.id).where(LedgerEntry.practice_session_id == session_id)))
        )


if __name__ == "__main__":
    outcome = run()
    sys.stdout.write(table(outcome) + "\n")
