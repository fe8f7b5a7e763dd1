"""The local cluster (`make cluster`, fluentio/cluster.py) on free ports, for the cluster
tests and the benchmark: the machine's PostgreSQL (a fresh database) and Redis (a spare
database number), two web workers behind one port, two workers and the simulator.

If Redis is not installed or not running, `spare_redis_url()` raises with one line saying
so (the tests turn it into a failure, never a skip); `make test` starts an installed Redis
(scripts/ensure-redis.sh), as it starts PostgreSQL.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.support.app_server import RunningApp, free_port

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379"
# Reflex keeps which web worker (its instance id) holds each page's socket under this key.
SOCKET_RECORD_PREFIX = "token_manager_socket_record_"


class RedisUnavailableError(RuntimeError):
    pass


def spare_redis_url() -> str:
    """An empty database number (15 down to 1) on the test Redis, for one cluster."""
    import redis

    base = os.environ.get("TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL).rstrip("/")
    try:
        client = redis.Redis.from_url(base + "/0", socket_connect_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RedisUnavailableError(
            f"Redis is required for the cluster tests but TEST_REDIS_URL={base} cannot be reached: {first} "
            "(install redis-server; `make test` starts it)"
        ) from exc
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{base}/{number}")
        try:
            if client.dbsize() == 0:
                return f"{base}/{number}"
        finally:
            client.close()
    raise RedisUnavailableError(f"every database number of the Redis at {base} holds keys; flush a spare one")


@dataclass
class RunningCluster(RunningApp):
    state_file: Path = Path()
    log_dir: Path = Path()
    redis_url: str = ""

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_file.read_text()))

    @property
    def sim_port(self) -> int:
        return int(self.state()["sim_port"])

    def pid(self, name: str) -> int:
        return int(self.state()["processes"][name])

    def worker_pids(self) -> dict[str, int]:
        return {n: int(p) for n, p in self.state()["processes"].items() if n.startswith("worker-")}

    def web_worker_pids(self) -> list[int]:
        """The granian worker processes of the web process (children of its supervisor)."""
        return sorted(child.pid for child in psutil.Process(self.pid("web")).children(recursive=False))

    def process_log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis_url)

    def socket_owner(self, token: str) -> str | None:
        """The instance id of the web worker that holds the page's socket (Reflex's record)."""
        client = self.redis()
        try:
            raw = client.get(SOCKET_RECORD_PREFIX + token)
        finally:
            client.close()
        if raw is None:
            return None
        return str(pickle.loads(raw).instance_id)

    def supervising_worker(self) -> str | None:
        """The worker holding a sideband connection to the simulator, by name, or None."""
        sim_port = self.sim_port
        for name, pid in self.worker_pids().items():
            try:
                connections = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            if any(
                c.status == psutil.CONN_ESTABLISHED and c.raddr and c.raddr.port == sim_port
                for c in connections
            ):
                return name
        return None


def start_cluster(
    *,
    database_url: str,
    redis_url: str,
    log_dir: Path,
    web_workers: int = 2,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    timeout: float = 900.0,
) -> RunningCluster:
    """Start `python -m fluentio.cluster` on free ports; returns once it reports ready."""
    port = free_port()
    run_dir = log_dir / f"cluster-{port}"
    run_dir.mkdir(parents=True, exist_ok=True)
    state_file = run_dir / "state.json"
    env = {
        **os.environ,
        "FLUENTIO_ENV": "test",
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{ROOT / '.tools' / 'bin'}:{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        **(extra_env or {}),
    }
    launcher_log = run_dir / "launcher.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fluentio.cluster",
            "--port",
            str(port),
            "--web-workers",
            str(web_workers),
            "--workers",
            str(workers),
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
            "--workdir",
            str(run_dir / "work"),
            "--log-dir",
            str(run_dir / "logs"),
            "--state-file",
            str(state_file),
            *(extra_args or []),
        ],
        cwd=ROOT,
        env=env,
        stdout=launcher_log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    cluster = RunningCluster(
        base_url=f"http://127.0.0.1:{port}",
        database_url=database_url,
        process=process,
        log_path=launcher_log,
        workdir=run_dir / "work",
        state_file=state_file,
        log_dir=run_dir / "logs",
        redis_url=redis_url,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the cluster exited with {process.returncode} while starting:\n{cluster.log()[-4000:]}"
            )
        if state_file.exists() and cluster.state().get("ready"):
            return cluster
        time.sleep(1.0)
    stop_cluster(cluster)
    raise RuntimeError(f"the cluster did not start within {timeout:.0f} s:\n{cluster.log()[-4000:]}")


def stop_cluster(cluster: RunningCluster) -> None:
    """Ctrl-C for the launcher (it stops its children), then make sure nothing is left."""
    if cluster.process.poll() is None:
        cluster.process.send_signal(signal.SIGINT)
        try:
            cluster.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.process.pid, signal.SIGKILL)
            cluster.process.wait(timeout=10)
    client = cluster.redis()
    try:
        client.flushdb()
    finally:
        client.close()


def wait_for_health(cluster: RunningCluster, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(cluster.url("/healthz"), timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{cluster.base_url}/healthz did not answer within {timeout:.0f} s")
