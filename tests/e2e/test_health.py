"""The production build answers health checks and serves a real 404."""

import httpx
import pytest

from tests.support.app_server import RunningApp

pytestmark = pytest.mark.e2e


def test_healthz_reports_database_ok(app_server: RunningApp) -> None:
    response = httpx.get(app_server.url("/healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_unknown_route_answers_404(app_server: RunningApp) -> None:
    # The page's text is rendered in the browser (tests/e2e/test_public_pages.py).
    response = httpx.get(app_server.url("/no-such-page"))
    assert response.status_code == 404


def test_an_absurdly_long_path_is_a_small_404_not_a_500(app_server: RunningApp) -> None:
    logged = len(app_server.log())
    response = httpx.get(app_server.url("/" + "a" * 300))
    assert response.status_code == 404 and len(response.content) < 1000
    assert "Traceback" not in app_server.log()[logged:]
    assert httpx.get(app_server.url("/pricing")).status_code == 200
