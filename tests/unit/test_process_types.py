"""The web process type's worker count and the cluster launcher's one-line refusals."""

from __future__ import annotations

import os

import pytest

from fluentio import cluster, web_process
from fluentio.cli import main
from fluentio.settings import get_settings
from tests.support.app_server import free_port


def test_several_web_workers_without_redis_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    monkeypatch.setenv("FLUENTIO_WEB_WORKERS", "3")
    # `web --port` sets PORT for the settings it reads: restored (and re-read) afterwards,
    # so later tests keep their own public origin.
    monkeypatch.setenv("PORT", os.environ.get("PORT", "3000"))
    get_settings.cache_clear()
    try:
        assert main(["web", "--port", str(free_port())]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "FLUENTIO_WEB_WORKERS=3 needs REFLEX_REDIS_URL" in err


def test_one_web_worker_needs_no_redis_and_several_need_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    assert web_process.refusal(1) is None
    assert web_process.refusal(2) is not None
    monkeypatch.setenv("REFLEX_REDIS_URL", "redis://127.0.0.1:6379/0")
    assert web_process.refusal(2) is None


def test_the_worker_count_is_ours_not_reflexs() -> None:
    env = web_process.web_environment(2)
    # Reflex's granian launcher reads exactly this variable (else cpu×2+1 with Redis).
    assert env["GRANIAN_WORKERS"] == "2"
    assert env["FLUENTIO_PROCESS_ROLE"] == "web"


def test_granian_respawns_a_failed_worker() -> None:
    import granian.server

    original = granian.server.Server
    try:
        web_process.respawn_failed_granian_workers()
        web_process.respawn_failed_granian_workers()  # once is enough; twice changes nothing
        server = granian.server.Server("fluentio.fluentio:app", workers=2)
        assert server.respawn_failed_workers is True
        assert granian.server.Server.__mro__[1] is original
    finally:
        granian.server.Server = original  # type: ignore[misc]


def test_the_cluster_says_in_one_line_that_redis_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster.shutil, "which", lambda _name: None)
    problem = cluster.ensure_redis(f"redis://127.0.0.1:{free_port()}/0")
    assert problem == "Redis is not installed (apt-get install redis-server)"


def test_a_remote_service_is_never_started_only_reported() -> None:
    assert cluster.ensure_redis("redis://192.0.2.1:6379/0") == "Redis at 192.0.2.1 cannot be reached"


def test_missing_services_are_named_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        cluster, "ensure_postgres", lambda _url: "PostgreSQL is not installed (apt-get install postgresql)"
    )
    monkeypatch.setattr(
        cluster, "ensure_redis", lambda _url: "Redis is not installed (apt-get install redis-server)"
    )
    with pytest.raises(cluster.ClusterError) as caught:
        cluster.check_services(cluster.DEFAULT_DATABASE_URL, cluster.DEFAULT_REDIS_URL)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("the cluster needs PostgreSQL and Redis: PostgreSQL is not installed")
    assert "Redis is not installed" in message


def test_the_job_cli_says_in_one_line_that_an_embedded_queue_cannot_be_opened(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/fluentio.db")
    monkeypatch.setenv("FLUENTIO_JOBS", "auto")
    get_settings.cache_clear()
    try:
        assert main(["jobs", "shell"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no queue to open" in err and "Background jobs" in err
