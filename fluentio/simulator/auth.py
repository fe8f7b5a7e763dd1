"""API keys as the simulator checks them, with OpenAI's 401 bodies.

The simulator accepts one server key, `Settings.openai_key`: the random per-process
`SIMULATOR_OPENAI_KEY` (or FLUENTIO_SIMULATOR_KEY, set by whoever started the app) when no
OPENAI_API_KEY is set, or that key when the standalone simulator is started with one (so
tests can run the app in a production-like set-up, with a real-looking secret key and
OPENAI_BASE_URL pointing here) — and the ephemeral `ek_…` keys it minted itself, once each.
Modules adding routes to the simulator (responses.py, speech.py) use `server_key_error`.
"""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from fluentio.settings import get_settings
from fluentio.simulator.session import openai_error


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_server_key(token: str | None) -> bool:
    return token is not None and hmac.compare_digest(token.encode(), get_settings().openai_key.encode())


def _masked(token: str) -> str:
    return token[:3] + "*" * 8 + token[-4:] if len(token) > 8 else "*" * len(token)


def unauthorized(token: str | None, message: str | None = None) -> JSONResponse:
    if token is None:
        body = openai_error(
            "You didn't provide an API key. You need to provide your API key in an Authorization "
            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
    else:
        body = openai_error(
            message
            or f"Incorrect API key provided: {_masked(token)}. This is Fluentio's local simulator: "
            "use the server key it was started with (OPENAI_API_KEY or FLUENTIO_SIMULATOR_KEY; "
            "without either, a random key printed when it started).",
            code="invalid_api_key",
        )
    return JSONResponse(body, status_code=401)


def server_key_error(connection: HTTPConnection) -> JSONResponse | None:
    """A 401 response unless the request carries the simulator's server key."""
    token = bearer_token(connection)
    return None if is_server_key(token) else unauthorized(token)
