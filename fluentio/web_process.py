"""The `web` process type: `python -m fluentio.cli web [--port N] [--host H]`.

It serves what `make run` serves (Reflex's production build on one port: pages, the
socket, the relay and the webhooks) with FLUENTIO_PROCESS_ROLE=web, so call supervision
and background work are left to `python -m fluentio.cli worker` processes.

The number of web workers is ours (FLUENTIO_WEB_WORKERS, default 1), never Reflex's
default: with REFLEX_REDIS_URL set, Reflex 0.10 starts cpu×2+1 granian workers unless
GRANIAN_WORKERS says otherwise, and it reads exactly that variable
(`reflex.utils.exec.run_granian_backend_prod`). Several workers share one listening
socket (granian's own multi-process mode, the socket bound by granian's supervisor);
each learner's page state lives in Redis, so any worker can serve any event.

Granian's supervisor shuts every worker down when one dies, unless it was asked to
respawn failed workers, and Reflex does not ask. We ask: a web worker killed with
`kill -9` is replaced, and its learners' sockets reconnect to the workers still running,
keeping their page state (fluentio/web_sockets.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The one line printed when several workers are asked for without Redis.
NEEDS_REDIS = (
    "error: FLUENTIO_WEB_WORKERS={workers} needs REFLEX_REDIS_URL (e.g. redis://127.0.0.1:6379/0): "
    "with more than one web worker each learner's page state must live in Redis. "
    "Set it, or use FLUENTIO_WEB_WORKERS=1."
)


def redis_url() -> str:
    """Reflex's state-manager Redis, as Reflex reads it (the environment)."""
    return os.environ.get("REFLEX_REDIS_URL", "").strip()


def refusal(workers: int) -> str | None:
    """Why this worker count cannot run here, in one line, or None."""
    if workers > 1 and not redis_url():
        return NEEDS_REDIS.format(workers=workers)
    return None


def web_environment(workers: int) -> dict[str, str]:
    """The variables the web process sets for Reflex and granian (and its own workers)."""
    return {
        "FLUENTIO_PROCESS_ROLE": "web",
        "GRANIAN_WORKERS": str(workers),
        "REFLEX_TELEMETRY_ENABLED": os.environ.get("REFLEX_TELEMETRY_ENABLED", "false"),
        "REFLEX_CHECK_LATEST_VERSION": os.environ.get("REFLEX_CHECK_LATEST_VERSION", "false"),
    }


def respawn_failed_granian_workers() -> None:
    """Have granian's supervisor replace a worker that died instead of stopping them all.

    Reflex builds granian's `Server` inside `run_granian_backend_prod` (imported there, at
    call time) without `respawn_failed_workers`; this makes that its default.
    """
    import granian.server

    base = granian.server.Server
    if getattr(base, "_fluentio_respawns", False):
        return

    class RespawningServer(base):  # type: ignore[valid-type,misc]
        _fluentio_respawns = True

        def __init__(self, *args: object, **kwargs: object) -> None:
            kwargs.setdefault("respawn_failed_workers", True)
            super().__init__(*args, **kwargs)

    granian.server.Server = RespawningServer  # type: ignore[misc]


def serve(*, port: int, host: str, workers: int, backend_only: bool = False) -> int:
    """Build (if needed) and serve the production app; returns the exit status.

    `backend_only` serves the API, the socket and the HTTP routes without building the
    pages (the benchmarks, which only post to the relay)."""
    problem = refusal(workers)
    if problem:
        sys.stderr.write(problem + "\n")
        return 2
    os.environ.update(web_environment(workers))
    os.environ["PORT"] = str(port)
    respawn_failed_granian_workers()
    if redis_url():
        from fluentio.web_sockets import install

        install()  # a page on a web worker that died keeps its state (see web_sockets.py)
    os.chdir(ROOT)
    from reflex.reflex import cli as reflex_cli

    mode = ["--backend-only"] if backend_only else ["--single-port"]
    args = ["run", "--env", "prod", *mode, "--backend-port", str(port), "--backend-host", host]
    try:
        reflex_cli.main(args=args, prog_name="reflex", standalone_mode=False)
    except KeyboardInterrupt:
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
