"""The Starlette app that Reflex mounts its own app under (see `api_transformer`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from fluentio.api.auth_routes import complete_sign_in, signed_out
from fluentio.api.cache_control import CacheControl
from fluentio.api.checkout_routes import CHECKOUT_PATH, start_checkout_route
from fluentio.api.clean_urls import CleanPageUrls
from fluentio.api.export_routes import EXPORT_PATH, download_my_data
from fluentio.api.health import healthz
from fluentio.api.oauth_routes import oauth_callback, oauth_start
from fluentio.api.payment_routes import payment_routes
from fluentio.api.realtime_routes import realtime_routes
from fluentio.api.robots import robots_txt
from fluentio.api.speech_routes import correction_speech, deck_item_speech
from fluentio.classroom import sideband
from fluentio.goals.routes import goal_routes
from fluentio.public_pages.serve import PublicPages
from fluentio.settings import get_settings
from fluentio.simulator.dodo import build_fake_dodo
from fluentio.simulator.openai_app import build_openai_simulator


def build_api() -> Starlette:
    simulator = build_openai_simulator() if get_settings().openai_simulated else None
    if simulator is not None:
        sideband.on_shutdown(simulator.state.realtime.end_all_calls)
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/robots.txt", robots_txt, methods=["GET", "HEAD"]),
            Route("/auth/complete", complete_sign_in, methods=["GET"]),
            Route("/auth/signed-out", signed_out, methods=["GET"]),
            Route("/api/speech/{correction_id}", correction_speech, methods=["GET"]),
            Route(EXPORT_PATH, download_my_data, methods=["GET"]),
            Route(CHECKOUT_PATH, start_checkout_route, methods=["POST"]),
            Route("/api/speech/words/{item_id}", deck_item_speech, methods=["GET"]),
            Route("/auth/{provider}/start", oauth_start, methods=["GET"]),
            Route("/auth/{provider}/callback", oauth_callback, methods=["GET", "POST"]),
            *payment_routes(),
            *goal_routes(),
            *realtime_routes(),
            *([Mount("/sim/dodo", app=build_fake_dodo())] if get_settings().dodo_simulated else []),
            *([Mount("/sim/openai", app=simulator)] if simulator is not None else []),
        ],
        middleware=[Middleware(CacheControl), Middleware(PublicPages), Middleware(CleanPageUrls)],
    )
