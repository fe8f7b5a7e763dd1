"""The job queue for procrastinate's own command line: `python -m fluentio.cli jobs …`.

procrastinate's CLI wants an app with an async connector of its own; the engine's app
(`jobs/app.py`) gets its connector only while a process has it open. This module is the
same app, every task registered, on DATABASE_URL, for the CLI to open:

    python -m fluentio.cli jobs shell          # list_jobs status=failed, retry 42, cancel 42
    python -m fluentio.cli jobs healthchecks

Only on PostgreSQL: `make run`'s in-memory queue lives inside that process.
"""

from __future__ import annotations

import importlib

from procrastinate import App, PsycopgConnector

from fluentio.jobs.app import TASK_MODULES, jobs_app
from fluentio.jobs.runner import libpq_url
from fluentio.settings import get_settings


def queue_app() -> App:
    """The engine's app, with its tasks, on this deployment's PostgreSQL."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return jobs_app.with_connector(PsycopgConnector(conninfo=libpq_url(get_settings().database_url)))


app = queue_app()
