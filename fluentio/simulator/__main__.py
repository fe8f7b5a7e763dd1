"""Run the simulator alone: `python -m fluentio.simulator --port 8765` (binds 127.0.0.1).

Used by tests (tests/support/sim_server.py). The OpenAI base URL is then
`http://127.0.0.1:{port}/v1`; the server key is OPENAI_API_KEY if set, else a random
key printed at start (only whoever started it can call it).
"""

from __future__ import annotations

import argparse
import copy
import os
import secrets
import sys
from typing import Any

from granian import Granian
from granian.constants import Interfaces
from granian.log import LOGGING_CONFIG, LogLevels


def _log_config(level: str) -> dict[str, Any]:
    # Applied in granian's worker process, where the app runs.
    config: dict[str, Any] = copy.deepcopy(dict(LOGGING_CONFIG))
    config["formatters"]["app"] = {
        "()": "logging.Formatter",
        "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s",
    }
    config["handlers"]["app"] = {
        "formatter": "app",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["fluentio"] = {"handlers": ["app"], "level": level.upper(), "propagate": False}
    for noisy in ("aioice", "aiortc"):
        config["loggers"][noisy] = {"handlers": ["app"], "level": "WARNING", "propagate": False}
    return config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fluentio.simulator", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    if not os.environ.get("OPENAI_API_KEY", "").strip():
        # Set before the worker process starts, so it reads the same key.
        os.environ["OPENAI_API_KEY"] = "sk-fluentio-sim-" + secrets.token_urlsafe(24)
        sys.stderr.write(f"Simulator server key: {os.environ['OPENAI_API_KEY']}\n")
    Granian(
        "fluentio.simulator.openai_app:build_openai_simulator",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=1,
        log_level=LogLevels(args.log_level),
        log_dictconfig=_log_config(args.log_level),
        websockets=True,
    ).serve()


if __name__ == "__main__":
    main()
