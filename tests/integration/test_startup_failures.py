"""An unreachable database gives one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fluentio.api.routes import build_api
from fluentio.settings import get_settings
from tests.support.app_server import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unreachable_database_url() -> str:
    # A free port on loopback: nothing listens there, so connections are refused.
    return f"postgresql://fluentio:s3cret-pw@127.0.0.1:{free_port()}/fluentio"


def test_migrate_with_unreachable_database_prints_one_line(unreachable_database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fluentio.cli", "migrate"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": unreachable_database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr  # the password is never printed


def test_invalid_configuration_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fluentio.cli", "check-db"],
        cwd=ROOT,
        env={**os.environ, "FLUENTIO_ENV": "production", "FLUENTIO_SECRET_KEY": "changeme"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "FLUENTIO_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_healthz_is_503_with_a_reason_when_the_database_is_down(
    monkeypatch: pytest.MonkeyPatch, unreachable_database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", unreachable_database_url)
    get_settings.cache_clear()
    response = TestClient(build_api()).get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "DATABASE_URL" in body["reason"]
    assert "s3cret-pw" not in response.text


def test_healthz_is_200_on_a_reachable_database(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    response = TestClient(build_api()).get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
