"""Commands: `python -m fluentio.cli migrate | check-db | reconcile | worker | web | jobs`.

`web` runs the web process type (Reflex's production build, FLUENTIO_WEB_WORKERS workers;
see fluentio/web_process.py).

`worker` runs a worker process (call supervision and background work, no Reflex; see
fluentio/worker_process.py); it sets FLUENTIO_PROCESS_ROLE=worker unless already set.

`jobs <command>` is procrastinate's own command line on the job queue (PostgreSQL only):
`jobs shell` to list, retry or cancel jobs, `jobs healthchecks`; see fluentio/jobs/cli_app.py.

Failures print one line that says what to fix and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config as AlembicConfig
from pydantic import ValidationError

if TYPE_CHECKING:
    from fluentio.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str | None = None) -> AlembicConfig:
    config = AlembicConfig(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    if url:
        config.attributes["url"] = url
    return config


def migrate(url: str | None = None) -> None:
    """Bring the database to the newest schema (creating a SQLite file if needed)."""
    command.upgrade(alembic_config(url), "head")


def _say_invalid(exc: ValidationError) -> None:
    """What is wrong with the configuration, in one line."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
    print(f"error: invalid configuration: {problems}", file=sys.stderr)


def _settings_or_none() -> Settings | None:
    """The settings, or None once what is wrong with them has been said."""
    from fluentio.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        _say_invalid(exc)
        return None


def web_command(argv: list[str]) -> int:
    """`web [--port N] [--host H]`: the production web process, FLUENTIO_WEB_WORKERS workers."""
    parser = argparse.ArgumentParser(prog="fluentio web", description="Serve the production web process.")
    parser.add_argument("--port", type=int, default=None, help="port (default: PORT, else 3000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--backend-only", action="store_true", help="no pages: API, socket and routes only")
    args = parser.parse_args(argv)
    if args.port:
        # Before the settings are read: the default public URL follows PORT.
        os.environ["PORT"] = str(args.port)
    settings = _settings_or_none()
    if settings is None:
        return 2
    from fluentio.web_process import serve

    return serve(
        port=settings.port, host=args.host, workers=settings.web_workers, backend_only=args.backend_only
    )


def jobs_command(argv: list[str]) -> int:
    """`jobs <procrastinate command>`: the engine's own CLI on this deployment's queue."""
    settings = _settings_or_none()
    if settings is None:
        return 2
    if settings.jobs_backend != "postgres":
        print(
            "error: the job queue is in the memory of the one `make run` process (DATABASE_URL is not "
            "PostgreSQL), so there is no queue to open from here. Its failed jobs are on the admin "
            "page, under Background jobs.",
            file=sys.stderr,
        )
        return 2
    import asyncio

    from procrastinate import cli as engine_cli

    try:
        asyncio.run(engine_cli.cli(["--app=fluentio.jobs.cli_app.app", *argv]))
    except SystemExit as exc:  # the engine's CLI exits on --help and on its own errors
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["web"]:
        return web_command(argv[1:])
    if argv[:1] == ["jobs"]:
        return jobs_command(argv[1:])
    parser = argparse.ArgumentParser(prog="fluentio")
    parser.add_argument("command", choices=["migrate", "check-db", "reconcile", "worker"])
    parser.add_argument("--days", type=int, default=3, help="reconcile: how many days back to check")
    args = parser.parse_args(argv)
    if args.command == "worker":
        os.environ.setdefault("FLUENTIO_PROCESS_ROLE", "worker")
    try:
        from fluentio.db import DatabaseUnavailableError, check_database, redact_url
        from fluentio.settings import get_settings

        settings = get_settings()
        check_database()
        if args.command == "migrate":
            migrate()
            print(f"Database ready: {redact_url(settings.database_url)}")
        elif args.command == "reconcile":
            return reconcile_payments(args.days)
        elif args.command == "worker":
            if settings.process_role != "worker":
                print(
                    f"error: FLUENTIO_PROCESS_ROLE is {settings.process_role!r}; "
                    "the worker command runs role 'worker' (unset it or set it to worker).",
                    file=sys.stderr,
                )
                return 2
            from fluentio.worker_process import main as worker_main

            return worker_main()
        else:
            print("Database reachable.")
    except DatabaseUnavailableError as exc:
        print(f"error: {exc}. Check DATABASE_URL and that the server is running.", file=sys.stderr)
        return 1
    except ValidationError as exc:
        _say_invalid(exc)
        return 2
    return 0


def reconcile_payments(days: int) -> int:
    """Credit the succeeded Dodo payments of the last `days` days that webhooks missed."""
    import asyncio

    from fluentio.payments.client import PaymentProviderError, api_base_url
    from fluentio.payments.reconcile import reconcile

    try:
        report = asyncio.run(reconcile(days=days))
    except PaymentProviderError as exc:
        print(
            f"error: {exc}. Is Dodo reachable at {api_base_url()} (with `make run` for the local stand-in)?",
            file=sys.stderr,
        )
        return 1
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
