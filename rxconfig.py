"""Reflex configuration, built from fluentio.settings so there is one source of truth."""

import reflex as rx

import fluentio.models  # noqa: F401  (Reflex's schema check must see every table)
from fluentio.components.browsers import BrowserTargetPlugin
from fluentio.components.theme import THEME
from fluentio.settings import get_settings

settings = get_settings()

config = rx.Config(
    app_name="fluentio",
    db_url=settings.database_url,
    deploy_url=settings.public_url,
    backend_host="127.0.0.1",
    # Only our own pages may read API answers with the visitor's cookie, and Socket.IO
    # refuses a websocket whose Origin is anything else: Reflex's default "*" let a page
    # on another port of the same host drive a signed-in learner's state.
    cors_allowed_origins=settings.allowed_origins,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    default_color_mode="light",
    plugins=[
        rx.plugins.SitemapPlugin(trailing_slash="preserve"),
        rx.plugins.RadixThemesPlugin(theme=THEME),
        BrowserTargetPlugin(),
    ],
)
