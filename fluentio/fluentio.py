"""The Reflex app: theme, head tags, HTTP routes and every registered page."""

import reflex as rx

from fluentio import pages  # noqa: F401  (registers the pages)
from fluentio.api.routes import build_api
from fluentio.classroom.ownership import call_supervision
from fluentio.components.browsers import old_browser_check
from fluentio.components.connection import connection_overlay
from fluentio.components.layout import PAGES
from fluentio.components.pwa import pwa_head
from fluentio.db import database_threads
from fluentio.jobs import engine_lifespan, worker_lifespan
from fluentio.logs import configure_logging
from fluentio.settings import get_settings

configure_logging()

app = rx.App(
    head_components=[old_browser_check(), *pwa_head()],
    html_lang="en",
    api_transformer=build_api(),
)
# Our own "You're offline / Reconnecting…" banner instead of Reflex's developer toast.
app.app_wraps[(5, "Overlay")] = lambda stateful: connection_overlay() if stateful else None
app.register_lifespan_task(database_threads)
# Background jobs (feedback analysis, goal reminders, reconcile): the all-in-one process
# runs a job worker; a web process only opens the engine (to defer, and for the admin).
app.register_lifespan_task(worker_lifespan if get_settings().process_role == "all" else engine_lifespan)
if get_settings().process_role == "all":
    # Role "web" leaves call supervision to the worker processes (fluentio/worker_process.py).
    app.register_lifespan_task(call_supervision)

for spec in PAGES:
    app.add_page(
        spec.component,
        route=spec.route,
        title=spec.title,
        description=spec.description,
        image=spec.image,
        meta=spec.meta,
        on_load=spec.on_load,
        context={} if spec.public else {"sitemap": None},
    )
