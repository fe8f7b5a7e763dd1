"""`make cluster`: the scaled-out configuration on one machine, in one command.

    python -m fluentio.cluster [--port 3000] [--web-workers 2] [--workers 2]

It starts what is installed locally: PostgreSQL (an installed but stopped cluster is
started, as scripts/ensure-postgres.sh does) and Redis (`redis-server --daemonize yes`),
creates and migrates its own database (`fluentio_cluster`), then runs and supervises

- the simulator as its own process (`python -m fluentio.simulator`), playing OpenAI;
- one web process (`python -m fluentio.cli web`) with FLUENTIO_WEB_WORKERS granian
  workers behind the one port, page state in Redis;
- the workers (`python -m fluentio.cli worker`): call supervision and background work.

It prints where the app is once it answers. A child that dies is started again (a web
worker is replaced by granian itself); Ctrl-C (or SIGTERM) stops them all. If PostgreSQL
or Redis is missing it says so in one line and starts nothing.

The tests start the same cluster on free ports (tests/cluster/), with `--state-file` to
learn the processes' ids and `--log-dir` to keep each process's log in its own file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/fluentio_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# How Redis is started when it is installed but not running: in-memory only, local only.
REDIS_START = ["--daemonize", "yes", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
# A child that dies this soon after starting, this many times in a row, stops the cluster.
CRASH_WINDOW_S = 10.0
CRASH_LIMIT = 3
STOP_TIMEOUT_S = 20.0


class ClusterError(RuntimeError):
    """Something the cluster needs is missing; the message is one line saying what."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _is_local(host: str | None) -> bool:
    return host in (None, "", "127.0.0.1", "localhost", "::1")


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# --- PostgreSQL -------------------------------------------------------------------------


def _pg_server_url(database_url: str) -> tuple[str, str]:
    """(URL of the server's `postgres` database, the cluster database's name)."""
    import sqlalchemy as sa

    from fluentio.settings import normalise_database_url

    url = sa.engine.make_url(normalise_database_url(database_url))
    name = url.database or "fluentio_cluster"
    return url.set(database="postgres").render_as_string(hide_password=False), name


def _pg_reachable(server_url: str) -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(server_url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except Exception:
        return False


def ensure_postgres(database_url: str) -> str | None:
    """Start the local PostgreSQL if installed but stopped; the problem in words, or None."""
    import sqlalchemy as sa

    server_url, _ = _pg_server_url(database_url)
    if _pg_reachable(server_url):
        return None
    host = sa.engine.make_url(server_url).host
    if not _is_local(host):
        return f"PostgreSQL at {host} cannot be reached"
    pg_ctl = shutil.which("pg_ctlcluster")
    if pg_ctl and Path("/etc/postgresql").is_dir():
        versions = sorted(
            os.listdir("/etc/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()]
        )
        if versions:
            subprocess.run(
                [pg_ctl, "--skip-systemctl-redirect", versions[-1], "main", "start"],
                capture_output=True,
                check=False,
            )
            for _ in range(40):
                if _pg_reachable(server_url):
                    return None
                time.sleep(0.5)
        return "PostgreSQL is installed but did not start (see `pg_lsclusters`)"
    return "PostgreSQL is not installed (apt-get install postgresql)"


def ensure_database(database_url: str) -> str:
    """Create the cluster's database if absent and migrate it; returns its SQLAlchemy URL."""
    import sqlalchemy as sa

    from fluentio.cli import migrate
    from fluentio.settings import normalise_database_url

    server_url, name = _pg_server_url(database_url)
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = normalise_database_url(database_url)
    migrate(url)
    return url


# --- Redis ------------------------------------------------------------------------------


def _redis_ping(redis_url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def ensure_redis(redis_url: str) -> str | None:
    """Start the local Redis if installed but not running; the problem in words, or None."""
    if _redis_ping(redis_url):
        return None
    parts = urlsplit(redis_url)
    if not _is_local(parts.hostname):
        return f"Redis at {parts.hostname} cannot be reached"
    server = shutil.which("redis-server")
    if not server:
        return "Redis is not installed (apt-get install redis-server)"
    port = str(parts.port or 6379)
    subprocess.run(
        [server, *REDIS_START[:4], "--port", port, *REDIS_START[4:]], capture_output=True, check=False
    )
    for _ in range(20):
        if _redis_ping(redis_url):
            return None
        time.sleep(0.25)
    return "Redis is installed but did not start (try `redis-server` by hand)"


def check_services(database_url: str, redis_url: str) -> None:
    """Start PostgreSQL and Redis when installed; raise ClusterError naming what is missing."""
    problems = [p for p in (ensure_postgres(database_url), ensure_redis(redis_url)) if p]
    if problems:
        raise ClusterError("the cluster needs PostgreSQL and Redis: " + "; ".join(problems) + ".")


# --- Children ---------------------------------------------------------------------------


@dataclass
class Child:
    """One supervised process; started in its own process group so it stops as a whole."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path | None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    tail: list[str] = field(default_factory=list)

    def start(self, echo: Callable[[str], None]) -> None:
        out: IO[bytes] | int
        out = (self.log_dir / f"{self.name}.log").open("ab") if self.log_dir is not None else subprocess.PIPE
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started_at = time.monotonic()
        if self.log_dir is not None:
            assert not isinstance(out, int)
            out.close()
        else:
            threading.Thread(target=self._relay, args=(self.process, echo), daemon=True).start()

    def _relay(self, process: subprocess.Popen[bytes], echo: Callable[[str], None]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.tail = [*self.tail[-19:], line]
            echo(f"[{self.name}] {line}")

    def last_lines(self) -> str:
        if self.log_dir is not None:
            with contextlib.suppress(OSError):
                lines = (self.log_dir / f"{self.name}.log").read_text(errors="replace").splitlines()
                return " | ".join(line.strip() for line in lines[-3:] if line.strip())
        return " | ".join(line.strip() for line in self.tail[-3:] if line.strip())

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)


@dataclass
class ClusterConfig:
    port: int = 3000
    sim_port: int = 0
    web_workers: int = 2
    workers: int = 2
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    workdir: Path = ROOT / ".cluster"
    log_dir: Path | None = None
    state_file: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # A real (or stand-in) provider instead of the simulator: its base URL; the key is
    # OPENAI_API_KEY from the environment (the benchmarks' provider stand-in).
    provider_url: str = ""
    # The web process without the pages (API, socket and routes only): no frontend build.
    backend_only: bool = False

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    """Starts, watches and stops the cluster's processes."""

    def __init__(self, config: ClusterConfig, echo: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.echo = echo or (lambda line: print(line, flush=True))  # noqa: T201
        self.sim_key = "sk-fluentio-sim-" + secrets.token_urlsafe(24)
        self.children: list[Child] = []
        self.stopping = threading.Event()
        self.database_url = config.database_url
        self.ready = False

    def _env(self, **extra: str) -> dict[str, str]:
        c = self.config
        tools = f"{ROOT / '.tools' / 'bin'}:{ROOT / '.venv' / 'bin'}"
        env = {
            **os.environ,
            "PATH": f"{tools}:{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "PORT": str(c.port),
            "FLUENTIO_PUBLIC_URL": c.public_url,
            "DATABASE_URL": self.database_url,
            "REFLEX_REDIS_URL": c.redis_url,
            # One install: every process reads the same per-install secrets from here.
            "FLUENTIO_DATA_DIR": str(c.workdir / "data"),
            # The simulator is its own process; no key is set, so the app still says it is
            # the simulator, and reaches it with the key this launcher gave it.
            "OPENAI_BASE_URL": c.provider_url or f"http://127.0.0.1:{c.sim_port}/v1",
            "FLUENTIO_SIMULATOR_KEY": self.sim_key,
            "REFLEX_TELEMETRY_ENABLED": "false",
            "REFLEX_CHECK_LATEST_VERSION": "false",
            "REFLEX_DIR": os.environ.get("REFLEX_DIR", str(ROOT / ".tools" / "reflex")),
            # Its own build: the frontend is built for this port, beside `make run`'s.
            "REFLEX_WEB_WORKDIR": str(c.workdir / ".web"),
            "REFLEX_STATES_WORKDIR": str(c.workdir / ".states"),
            **c.extra_env,
        }
        if not c.provider_url:
            # No provider key anywhere but in the simulator's own environment.
            env.pop("OPENAI_API_KEY", None)
        return {**env, **extra}

    def _children(self) -> list[Child]:
        c, py = self.config, sys.executable
        sim_env = self._env(OPENAI_API_KEY=self.sim_key)
        web = [py, "-m", "fluentio.cli", "web", "--port", str(c.port)]
        children = [
            Child(
                "simulator", [py, "-m", "fluentio.simulator", "--port", str(c.sim_port)], sim_env, c.log_dir
            ),
            Child(
                "web",
                [*web, "--backend-only"] if c.backend_only else web,
                self._env(FLUENTIO_WEB_WORKERS=str(c.web_workers), FLUENTIO_PROCESS_ROLE="web"),
                c.log_dir,
            ),
        ]
        if c.provider_url:
            children = children[1:]
        for index in range(1, c.workers + 1):
            children.append(
                Child(
                    f"worker-{index}",
                    [py, "-m", "fluentio.cli", "worker"],
                    self._env(FLUENTIO_PROCESS_ROLE="worker", FLUENTIO_WORKER_NAME=f"worker-{index}"),
                    c.log_dir,
                )
            )
        return children

    def prepare(self) -> None:
        """Services up, database created and migrated, ports chosen."""
        c = self.config
        check_services(c.database_url, c.redis_url)
        self.database_url = ensure_database(c.database_url)
        if not c.sim_port:
            c.sim_port = free_port()
        c.workdir.mkdir(parents=True, exist_ok=True)
        if c.log_dir is not None:
            c.log_dir.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self.children = self._children()
        for child in self.children:
            child.start(self.echo)
        self.write_state()

    def wait_ready(self, timeout: float = 900.0) -> None:
        """Until the simulator listens and the app's /healthz and home page answer."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stopping.is_set():
                raise ClusterError("stopped while starting")
            self.check_children()
            try:
                c = self.config
                if (
                    (c.provider_url or _port_open("127.0.0.1", c.sim_port))
                    and httpx.get(c.public_url + "/healthz", timeout=3).status_code == 200
                    and (c.backend_only or httpx.get(c.public_url + "/", timeout=10).status_code == 200)
                ):
                    self.ready = True
                    self.write_state()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
        raise ClusterError(f"the app did not answer at {self.config.public_url} within {timeout:.0f} s")

    def check_children(self) -> None:
        """Start again any child that died; give up on one that keeps dying at start."""
        for child in self.children:
            if child.alive() or self.stopping.is_set():
                continue
            code = child.process.returncode if child.process else None
            quick = time.monotonic() - child.started_at < CRASH_WINDOW_S
            child.quick_deaths = child.quick_deaths + 1 if quick else 0
            if child.quick_deaths >= CRASH_LIMIT:
                raise ClusterError(
                    f"{child.name} keeps exiting at start (status {code}): {child.last_lines() or 'no output'}"
                )
            self.echo(f"[cluster] {child.name} exited (status {code}); starting it again")
            child.start(self.echo)
            self.write_state()

    def write_state(self) -> None:
        if self.config.state_file is None:
            return
        state: dict[str, Any] = {
            "ready": self.ready,
            "url": self.config.public_url,
            "sim_url": f"http://127.0.0.1:{self.config.sim_port}/v1",
            "sim_port": self.config.sim_port,
            "sim_key": self.sim_key,
            "database_url": self.database_url,
            "redis_url": self.config.redis_url,
            "launcher_pid": os.getpid(),
            "processes": {child.name: child.pid for child in self.children},
        }
        temporary = self.config.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(self.config.state_file)

    def stop(self) -> None:
        """Stop in three steps, each SIGTERM then SIGKILL after STOP_TIMEOUT_S: the web
        process (no new lessons), the workers (they end their calls at the provider), then
        the simulator (still there to answer those hang-ups)."""
        self.stopping.set()
        rank = {"web": 0, "simulator": 2}
        for step in (0, 1, 2):
            group = [ch for ch in self.children if rank.get(ch.name, 1) == step and ch.process is not None]
            for child in group:
                child.signal_group(signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for child in group:
                assert child.process is not None
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.echo(f"[cluster] {child.name} did not stop in time; killing it")
                child.signal_group(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=5)

    def supervise(self) -> None:
        while not self.stopping.wait(0.5):
            self.check_children()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fluentio.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    parser.add_argument("--sim-port", type=int, default=0, help="the simulator's port (default: a free one)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-url", default=os.environ.get("CLUSTER_DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    parser.add_argument("--redis-url", default=os.environ.get("CLUSTER_REDIS_URL") or DEFAULT_REDIS_URL)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".cluster")
    parser.add_argument(
        "--log-dir", type=Path, default=None, help="one log file per process instead of stdout"
    )
    parser.add_argument("--state-file", type=Path, default=None, help="JSON with the URL and process ids")
    parser.add_argument(
        "--provider-url",
        default="",
        help="benchmarks: this provider (key: OPENAI_API_KEY) instead of the simulator",
    )
    parser.add_argument("--backend-only", action="store_true", help="benchmarks: no pages, no frontend build")
    args = parser.parse_args(argv)
    config = ClusterConfig(
        port=args.port,
        sim_port=args.sim_port,
        web_workers=args.web_workers,
        workers=args.workers,
        database_url=args.database_url,
        redis_url=args.redis_url,
        workdir=args.workdir.resolve(),
        log_dir=args.log_dir.resolve() if args.log_dir else None,
        state_file=args.state_file.resolve() if args.state_file else None,
        provider_url=args.provider_url,
        backend_only=args.backend_only,
    )
    cluster = Cluster(config)

    def on_signal(signum: int, _frame: object) -> None:
        cluster.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.prepare()
        cluster.start()
        cluster.echo(f"[cluster] building and starting; the app will be at {config.public_url}")
        cluster.wait_ready()
        cluster.echo(
            f"[cluster] Fluentio is at {config.public_url} — {config.web_workers} web workers on one port, "
            f"{config.workers} workers, simulator on :{config.sim_port}, PostgreSQL "
            f"{urlsplit(config.database_url).path.lstrip('/')}, Redis {config.redis_url}. Ctrl-C stops all."
        )
        cluster.supervise()
    except ClusterError as exc:
        sys.stderr.write(f"error: {exc}\n")
        cluster.stop()
        return 1
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        sys.stderr.write(f"error: the cluster could not start: {first}\n")
        cluster.stop()
        return 1
    cluster.echo("[cluster] stopping…")
    cluster.stop()
    cluster.echo("[cluster] stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
