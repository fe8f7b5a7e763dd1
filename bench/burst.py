"""A class presses Start together: the start burst, a hold, and the end burst.

N learners (BENCH_BURST_LEARNERS, default 100) each POST an SDP offer to the relay at
the same moment, hold their calls (BENCH_BURST_HOLD seconds, default 60), then press End
together. The provider is `bench/provider_standin.py` (no media), so what is measured is
the app: its relay, its sideband supervisors, its meter and its database work.

Measured:
- relay answer time for every start (p50, p99), and every end;
- event-loop lag seen from outside: a plain async route (`/robots.txt`) and `/healthz`,
  probed every 50 ms by a thread of their own, idle (the reference) and during each burst;
- the bill: per call, |seconds charged − the provider's connected seconds|, and the
  tokens the provider reported against the tokens (and cost) the app stored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import httpx
import psutil
import sqlalchemy as sa

from fluentio.auth.cookies import SESSION_COOKIE
from fluentio.classroom.usage import cost_estimate_microusd
from fluentio.models import PracticeSession
from fluentio.settings import get_settings
from tests.support.app_server import RunningApp, free_port, start_prod_app, stop_app
from tests.support.databases import fresh_postgres, session_on
from tests.support.sessions import SignedIn, signed_in_user

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = int(os.environ.get("BENCH_BURST_LEARNERS", "100"))
HOLD_SECONDS = float(os.environ.get("BENCH_BURST_HOLD", "60"))
PROBE_EVERY = 0.05
OFFER_SDP = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=sendrecv\r\n"
)
TARGETS = {
    "start_p99_ms": 1000.0,
    "lag_p99_ms": 50.0,
    "healthz_p99_ms": 100.0,
    "charge_error_max_s": 1.0,
}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def _probe_forever(base_url: str, samples: Any, stop: Any) -> None:
    """Probe the two cheap routes until `stop` is set; (monotonic time, route, ms) to `samples`.

    Runs in a process of its own: a probe thread beside the burst's own client would
    wait for that process's GIL and count the client's work as the app's lag.
    """
    with httpx.Client(base_url=base_url, timeout=30) as client:
        while not stop.is_set():
            for route in ("/robots.txt", "/healthz"):
                began = time.monotonic()
                try:
                    client.get(route)
                except httpx.HTTPError:
                    continue
                samples.put((began, route, (time.monotonic() - began) * 1000))
            stop.wait(PROBE_EVERY)


@dataclass
class Probe:
    """Latency of two cheap routes, tagged with the phase they were measured in."""

    base_url: str
    phases: list[tuple[float, str]] = field(default_factory=lambda: [(0.0, "idle")])
    samples: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    @property
    def phase(self) -> str:
        return self.phases[-1][1]

    @phase.setter
    def phase(self, name: str) -> None:
        self.phases.append((time.monotonic(), name))

    @contextmanager
    def running(self) -> Iterator[Probe]:
        context = multiprocessing.get_context("spawn")
        queue, stop = context.Queue(), context.Event()
        process = context.Process(target=_probe_forever, args=(self.base_url, queue, stop), daemon=True)
        process.start()
        try:
            yield self
        finally:
            stop.set()
            raw: list[tuple[float, str, float]] = []
            while process.is_alive() or not queue.empty():
                try:
                    raw.append(queue.get(timeout=0.5))
                except Empty:
                    continue
            process.join(timeout=30)
            for at, route, took in raw:
                self.samples.setdefault((self._phase_at(at), route), []).append(took)

    def _phase_at(self, at: float) -> str:
        return next(name for began, name in reversed(self.phases) if at >= began)

    def p99(self, phase: str, route: str) -> float | None:
        return _percentile(self.samples.get((phase, route), []), 0.99)


@dataclass
class CpuMeter:
    """CPU seconds spent by each process of the run (the app's worker, the provider
    stand-in, the database backends of this run, this client), per phase: what a start
    and an end cost, and where the machine's two cores went."""

    app: psutil.Process
    standin: psutil.Process
    database: str
    spent: dict[str, dict[str, float]] = field(default_factory=dict)
    # Per process, the CPU seconds last seen: a process that exits (a database backend
    # closed by the pool) keeps what it had spent instead of vanishing from the sum.
    _seen: dict[tuple[str, int], float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        database = [
            p
            for p in psutil.process_iter(["cmdline"])
            if self.database in " ".join(p.info.get("cmdline") or [])
        ]
        groups = {
            "app": [self.app, *self.app.children(recursive=True)],
            "provider_standin": [self.standin, *self.standin.children(recursive=True)],
            "postgres": database,
            "bench_client": [psutil.Process()],
        }
        for name, processes in groups.items():
            for process in processes:
                with suppress(psutil.Error):
                    times = process.cpu_times()
                    self._seen[(name, process.pid)] = times.user + times.system
        return {name: sum(v for (group, _), v in self._seen.items() if group == name) for name in groups}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        before, began = self._now(), time.monotonic()
        try:
            yield
        finally:
            after = self._now()
            self.spent[name] = {k: round(after[k] - before[k], 2) for k in after}
            self.spent[name]["wall"] = round(time.monotonic() - began, 2)


@contextmanager
def running_standin(log_dir: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    log = (log_dir / "standin.log").open("wb")
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "granian"),
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "bench.provider_standin:app",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/_bench/calls", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _burst(
    app: RunningApp, learners: list[SignedIn], send: Any
) -> tuple[list[float], list[httpx.Response]]:
    limits = httpx.Limits(max_connections=len(learners) + 10)
    async with httpx.AsyncClient(base_url=app.base_url, timeout=60, limits=limits) as client:
        gate = asyncio.Event()

        async def one(who: SignedIn) -> tuple[float, httpx.Response]:
            await gate.wait()
            began = time.perf_counter()
            response = await send(client, who)
            return (time.perf_counter() - began) * 1000, response

        tasks = [asyncio.create_task(one(who)) for who in learners]
        await asyncio.sleep(0.2)
        gate.set()
        done = await asyncio.gather(*tasks)
    return [took for took, _ in done], [response for _, response in done]


def _start(client: httpx.AsyncClient, who: SignedIn) -> Any:
    return client.post(
        "/api/realtime/calls?level=B1&topic=small_talk",
        content=OFFER_SDP,
        headers={"Content-Type": "application/sdp", "Origin": str(client.base_url).rstrip("/")},
        cookies={SESSION_COOKIE: who.token},
    )


def _ender(sessions: dict[uuid.UUID, str]) -> Any:
    def end(client: httpx.AsyncClient, who: SignedIn) -> Any:
        return client.post(
            f"/api/realtime/calls/{sessions[who.user_id]}/end",
            headers={"Origin": str(client.base_url).rstrip("/")},
            cookies={SESSION_COOKIE: who.token},
        )

    return end


def _settled(app: RunningApp, ids: list[str], timeout: float = 30) -> list[PracticeSession]:
    deadline = time.monotonic() + timeout
    while True:
        with session_on(app.database_url) as session:
            rows = list(
                session.scalars(
                    sa.select(PracticeSession).where(
                        PracticeSession.id.in_([uuid.UUID(i) for i in ids])  # type: ignore[attr-defined]
                    )
                )
            )
            for row in rows:
                session.expunge(row)
        if all(row.status not in ("starting", "live") for row in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def run(learners: int = LEARNERS, hold_seconds: float = HOLD_SECONDS) -> dict[str, Any]:
    key = "sk-bench-" + secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="fluentio-burst-") as tmp, fresh_postgres() as db_url:
        log_dir = Path(tmp)
        with running_standin(log_dir) as (provider_url, standin_pid):
            app = start_prod_app(
                database_url=db_url,
                log_dir=log_dir,
                extra_env={
                    "OPENAI_API_KEY": key,
                    "OPENAI_BASE_URL": provider_url,
                    "FLUENTIO_SECRET_KEY": secrets.token_urlsafe(48),
                },
            )
            try:
                cpu = CpuMeter(
                    app=psutil.Process(app.process.pid),
                    standin=psutil.Process(standin_pid),
                    database=sa.engine.make_url(db_url).database or "",
                )
                return _measure(app, provider_url, cpu, learners, hold_seconds)
            finally:
                stop_app(app)


def _measure(
    app: RunningApp, provider_url: str, cpu: CpuMeter, learner_count: int, hold_seconds: float
) -> dict[str, Any]:
    learners = [signed_in_user(app, credits=10) for _ in range(learner_count)]
    probe = Probe(app.base_url)
    with probe.running():
        time.sleep(3)  # the idle reference
        probe.phase = "start"
        with cpu.phase("start"):
            start_ms, started = asyncio.run(_burst(app, learners, _start))
            time.sleep(1)
        probe.phase = "hold"
        sessions = {
            who.user_id: response.headers.get("x-fluentio-session", "")
            for who, response in zip(learners, started, strict=True)
            if response.status_code == 201
        }
        with cpu.phase("hold"):
            time.sleep(hold_seconds)
        probe.phase = "end"
        holding = [who for who in learners if who.user_id in sessions]
        with cpu.phase("end"):
            end_ms, ended = asyncio.run(_burst(app, holding, _ender(sessions)))
            rows = _settled(app, list(sessions.values()))
        probe.phase = "after"
    provider = {call["id"]: call for call in httpx.get(provider_url + "/_bench/calls", timeout=30).json()}

    settings = get_settings()
    errors: list[float] = []
    tokens_missing = 0
    cost_missing = 0
    unbilled = 0
    for row in rows:
        call = provider.get(row.provider_call_id or "")
        if call is None:
            continue
        if call["connected_seconds"] is None:
            unbilled += 1  # never hung up: the provider is still billing it
            continue
        errors.append(abs(row.billable_seconds - call["connected_seconds"]))
        reported = call["tokens"]
        stored = {name: getattr(row, name) for name in reported}
        tokens_missing += sum(max(0, reported[name] - stored[name]) for name in reported)
        expected_cost = cost_estimate_microusd(PracticeSession(**reported, user_id=row.user_id), settings)
        cost_missing += max(0, expected_cost - row.cost_estimate_microusd)

    refused = {r.status_code for r in started if r.status_code != 201}
    metrics = {
        "start_ms": {
            "app_median": _percentile(start_ms, 0.5),
            "p99": _percentile(start_ms, 0.99),
            "target_p99": TARGETS["start_p99_ms"],
        },
        "end_ms": {"app_median": _percentile(end_ms, 0.5), "p99": _percentile(end_ms, 0.99)},
    }
    for phase in ("start", "hold", "end"):
        for route, name, target in (
            ("/robots.txt", "lag", TARGETS["lag_p99_ms"]),
            ("/healthz", "healthz", TARGETS["healthz_p99_ms"]),
        ):
            idle = _percentile(probe.samples.get(("idle", route), []), 0.5)
            p99 = probe.p99(phase, route)
            metrics[f"{name}_{phase}_ms"] = {
                "app_median": p99,
                "reference_median": idle,
                "ratio": round(p99 / idle, 2) if p99 and idle else None,
                "target_p99": target,
            }
    return {
        "learners": learner_count,
        "hold_seconds": hold_seconds,
        "started": len(sessions),
        "refused_statuses": sorted(refused),
        "ended_ok": sum(1 for r in ended if r.status_code == 204),
        "charge_error_max_s": round(max(errors), 2) if errors else None,
        "charge_error_p50_s": _percentile(errors, 0.5),
        "calls_never_hung_up": unbilled,
        "tokens_missing": tokens_missing,
        "cost_missing_microusd": cost_missing,
        "targets": TARGETS,
        "cpu_seconds": cpu.spent,
        "metrics": metrics,
    }


def table(result: dict[str, Any]) -> str:
    """The burst's figures beside their targets."""
    m = result["metrics"]
    lines = [
        f"Start burst: {result['learners']} learners, hold {result['hold_seconds']:.0f} s "
        f"({result['started']} started, {result['ended_ok']} ended; refused: {result['refused_statuses']})",
        f"  {'metric':<26}{'p50/p99 or value':>22}{'idle ref':>10}{'target':>10}{'met':>5}",
    ]

    def row(name: str, value: str, ref: Any, target: Any, met: bool | None) -> None:
        mark = "-" if met is None else ("yes" if met else "NO")
        lines.append(
            f"  {name:<26}{value:>22}{(ref if ref is not None else '-')!s:>10}{target!s:>10}{mark:>5}"
        )

    start = m["start_ms"]
    row(
        "relay answer (ms)",
        f"{start['app_median']}/{start['p99']}",
        None,
        "p99≤1000",
        _le(start["p99"], 1000),
    )
    row("end (ms)", f"{m['end_ms']['app_median']}/{m['end_ms']['p99']}", None, "-", None)
    for phase in ("start", "hold", "end"):
        for name, label, limit in (("lag", "plain route", 50), ("healthz", "/healthz", 100)):
            probed = m[f"{name}_{phase}_ms"]
            p99 = probed["app_median"]
            row(
                f"{label} p99, {phase} (ms)",
                str(p99),
                probed["reference_median"],
                f"≤{limit}",
                _le(p99, limit),
            )
    error = result["charge_error_max_s"]
    row("charge error max (s)", str(error), None, "≤1", _le(error, 1.0))
    row(
        "calls never hung up",
        str(result["calls_never_hung_up"]),
        None,
        "0",
        result["calls_never_hung_up"] == 0,
    )
    row("tokens missing from cost", str(result["tokens_missing"]), None, "0", result["tokens_missing"] == 0)
    spent = result.get("cpu_seconds") or {}
    if spent:
        names = [name for name in next(iter(spent.values())) if name != "wall"]
        lines.append(
            f"  CPU seconds per phase (2 cores): {'phase':<7}{'wall':>7}" + "".join(f"{n:>18}" for n in names)
        )
        for phase, figures in spent.items():
            lines.append(
                f"  {'':<32}{phase:<7}{figures['wall']:>7}" + "".join(f"{figures[n]:>18}" for n in names)
            )
        for phase in ("start", "end"):
            if phase in spent and result["started"]:
                per = spent[phase]["app"] * 1000 / result["started"]
                lines.append(f"  app CPU per {phase}: {per:.1f} ms")
    return "\n".join(lines)


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.burst",
        description="The start burst alone: N learners press Start together, hold, press End together.",
    )
    parser.add_argument("--learners", type=int, default=LEARNERS, help="default BENCH_BURST_LEARNERS or 100")
    parser.add_argument(
        "--hold", type=float, default=HOLD_SECONDS, help="seconds to hold, default BENCH_BURST_HOLD or 60"
    )
    parser.add_argument("--json", action="store_true", help="also print the whole result as JSON")
    args = parser.parse_args()
    outcome = run(args.learners, args.hold)
    sys.stdout.write(table(outcome) + "\n")
    if args.json:
        sys.stdout.write(json.dumps(outcome, indent=2) + "\n")


if __name__ == "__main__":
    main()
