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
