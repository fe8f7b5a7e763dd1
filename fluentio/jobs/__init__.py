"""Background jobs on procrastinate (see app.py for the engine, runner.py for the worker).

`worker_lifespan()` is the one async context manager a process enters to run jobs.
"""

from fluentio.jobs.app import GiveUp, RetryLater, RetryPolicy, defer, jobs_app
from fluentio.jobs.runner import engine_lifespan, worker_lifespan

__all__ = ["GiveUp", "RetryLater", "RetryPolicy", "defer", "engine_lifespan", "jobs_app", "worker_lifespan"]
