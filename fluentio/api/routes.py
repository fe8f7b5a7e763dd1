"""The Starlette app that Reflex mounts its own app under (see `api_transformer`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from fluentio.api.health import healthz


def build_api() -> Starlette:
    return Starlette(routes=[Route("/healthz", healthz, methods=["GET", "HEAD"])])
