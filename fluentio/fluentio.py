"""The Reflex app: theme, head tags, HTTP routes and every registered page."""

import reflex as rx

from fluentio import pages  # noqa: F401  (registers the pages)
from fluentio.api.routes import build_api
from fluentio.classroom.recovery import classroom_lifespan
from fluentio.components.browsers import old_browser_check
from fluentio.components.connection import connection_overlay
from fluentio.components.layout import PAGES
from fluentio.components.pwa import pwa_head
from fluentio.db import database_threads
from fluentio.feedback.worker import run_analysis_worker
from fluentio.goals.reminders import run_goal_reminders
from fluentio.logs import configure_logging

configure_logging()

app = rx.App(
    head_components=[old_browser_check(), *pwa_head()],
    html_lang="en",
    api_transformer=build_api(),
)
# Our own "You're offline / Reconnecting…" banner instead of Reflex's developer toast.
app.app_wraps[(5, "Overlay")] = lambda stateful: connection_overlay() if stateful else None
app.register_lifespan_task(database_threads)
app.register_lifespan_task(run_analysis_worker)
app.register_lifespan_task(classroom_lifespan)
app.register_lifespan_task(run_goal_reminders)

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
