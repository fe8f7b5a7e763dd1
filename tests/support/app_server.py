"""Start the real production build (`reflex run --env prod`) on a free port for tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from fluentio.settings import SIMULATOR_OPENAI_KEY

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningApp:
    base_url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: Path
    outbox: Path | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def url(self, path: str) -> str:
        return self.base_url + path


def start_prod_app(
    *, database_url: str, log_dir: Path, extra_env: dict[str, str] | None = None, timeout: float = 420.0
) -> RunningApp:
    """Build and serve the production app; returns once /healthz answers 200.

    Each app builds into its own web directory (REFLEX_WEB_WORKDIR), so several test
    runs, or a test run beside `make run`, never overwrite each other's build.
    """
    port = free_port()
    workdir = log_dir / f"web-{port}"
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FLUENTIO_PUBLIC_URL": base_url,
        "FLUENTIO_ENV": "test",
        # Its own install: a fresh random secret and Dodo stand-in key, as on first run.
        "FLUENTIO_DATA_DIR": str(workdir / "data"),
        # Its built-in simulator answers this test process (tests read its call records).
        "FLUENTIO_SIMULATOR_KEY": SIMULATOR_OPENAI_KEY,
        "PORT": str(port),
        "PATH": f"{ROOT / '.tools' / 'bin'}:{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_DIR": os.environ.get("REFLEX_DIR", str(ROOT / ".tools" / "reflex")),
        "REFLEX_WEB_WORKDIR": str(workdir / ".web"),
        "REFLEX_STATES_WORKDIR": str(workdir / ".states"),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    log_path = log_dir / f"app-{port}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "reflex"),
            "run",
            "--env",
            "prod",
            "--single-port",
            "--backend-port",
            str(port),
            "--backend-host",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    app = RunningApp(base_url, database_url, process, log_path, workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the app exited with {process.returncode} while starting:\n{app.log()[-4000:]}"
            )
        try:
            if (
                httpx.get(base_url + "/healthz", timeout=2).status_code == 200
                and httpx.get(base_url + "/", timeout=5).status_code == 200
            ):
                return app
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_app(app)
    raise RuntimeError(f"the app did not answer within {timeout:.0f} s:\n{app.log()[-4000:]}")


def stop_app(app: RunningApp) -> None:
    if app.process.poll() is None:
        os.killpg(app.process.pid, signal.SIGTERM)
        try:
            app.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(app.process.pid, signal.SIGKILL)
            app.process.wait(timeout=10)
    shutil.rmtree(app.workdir, ignore_errors=True)
