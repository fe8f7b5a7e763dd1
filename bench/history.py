"""History with 500 sessions: how fast the first page of /history is.

Seeds one learner with 500 analysed sessions (transcripts, feedback, corrections) in a
fresh PostgreSQL database, then measures, each beside a reference run in the same
process on the same data:

- `list_ms`: the service that builds the first page of the list, against a bare
  `SELECT` of the same 21 rows;
- `page_data_ms`: everything the page loads (list, totals and the four charts), against
  bare `SELECT`s of the same rows with no processing;
- `browser_ms` (unless BENCH_HISTORY_BROWSER=0): the production build in Chromium, from
  navigation to the first page's rows on screen, against the same page for a learner
  with a single session.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from fluentio.db import engine_for
from fluentio.feedback import history
from fluentio.models.base import utcnow
from tests.support.databases import fresh_postgres
from tests.support.factories import make_user
from tests.support.feedback_data import add_feedback, add_practice_session

SESSIONS = 500
RUNS = int(os.environ.get("BENCH_HISTORY_RUNS", "30"))
BROWSER_RUNS = int(os.environ.get("BENCH_HISTORY_BROWSER_RUNS", "7"))
LEVELS = ("A2", "B1", "B1", "B2")
PATTERNS = (
    "Past simple: present tense used for past events",
    "Articles: a/an before a job",
    "Third person: add -s",
    "Prepositions: afraid of, interested in",
)


def seed(url: str, sessions: int = SESSIONS) -> uuid.UUID:
    """One learner with `sessions` analysed sessions, one every ~17 hours back in time."""
    now = utcnow()
    with Session(engine_for(url)) as session:
        user = make_user(session)
        for i in range(sessions):
            practice = add_practice_session(
                session, user_id=user.id, created_at=now - timedelta(hours=17 * i)
            )
            add_feedback(
                session,
                practice,
                level=LEVELS[i % len(LEVELS)],
                patterns=PATTERNS[: 1 + i % len(PATTERNS)],
                corrections=i % 6,
                learner_words=80 + i % 40,
            )
        session.commit()
        return user.id


def _time(function: Callable[[], object], runs: int) -> list[float]:
    function()  # warm caches and connections
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _row(app: list[float], reference: list[float]) -> dict[str, Any]:
    app_median, ref_median = statistics.median(app), statistics.median(reference)
    return {
        "app_median": round(app_median, 2),
        "reference_median": round(ref_median, 2),
        "ratio": round(app_median / ref_median, 2) if ref_median else None,
        "app_samples": [round(v, 2) for v in app],
        "reference_samples": [round(v, 2) for v in reference],
    }


def measure_server(url: str, user_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    engine = engine_for(url)
    params = {"user": user_id, "since": utcnow() - timedelta(weeks=history.CHART_WEEKS)}

    def app_list() -> object:
        with Session(engine) as session:
            return history.list_sessions(session=session, user_id=user_id)

    def app_page() -> object:
        with Session(engine) as session:
            return (
                history.list_sessions(session=session, user_id=user_id),
                history.progress(session=session, user_id=user_id),
            )

    list_sql = sa.text(
        "SELECT p.id, p.created_at, p.topic, p.status, p.billable_seconds, p.charged_millicredits, f.status "
        "FROM practice_sessions p LEFT JOIN feedback f ON f.session_id = p.id "
        "WHERE p.user_id = :user AND p.status IN ('live', 'ended', 'failed') "
        "ORDER BY p.created_at DESC, p.id DESC LIMIT 21"
    )
    page_sql = [
        list_sql,
        sa.text(
            "SELECT count(*), sum(billable_seconds) FROM practice_sessions "
            "WHERE user_id = :user AND status IN ('live', 'ended', 'failed')"
        ),
        sa.text(
            "SELECT created_at, billable_seconds FROM practice_sessions "
            "WHERE user_id = :user AND status IN ('live', 'ended', 'failed') AND created_at >= :since"
        ),
        sa.text(
            "SELECT f.id, p.created_at, f.learner_words, f.cefr_level, f.bad_patterns FROM feedback f "
            "JOIN practice_sessions p ON p.id = f.session_id WHERE p.user_id = :user AND f.status = 'done' "
            "ORDER BY p.created_at DESC LIMIT 50"
        ),
        sa.text(
            "SELECT c.feedback_id, count(*) FROM corrections c WHERE c.feedback_id IN ("
            "SELECT f.id FROM feedback f JOIN practice_sessions p ON p.id = f.session_id "
            "WHERE p.user_id = :user ORDER BY p.created_at DESC LIMIT 50) GROUP BY c.feedback_id"
        ),
    ]

    def bare(statements: list[sa.TextClause]) -> Callable[[], object]:
        def run() -> object:
            with engine.connect() as connection:
                return [connection.execute(s, params).all() for s in statements]

        return run

    return {
        "list_ms": _row(_time(app_list, RUNS), _time(bare([list_sql]), RUNS)),
        "page_data_ms": _row(_time(app_page, RUNS), _time(bare(page_sql), RUNS)),
    }


def measure_browser(url: str, user_id: uuid.UUID) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.support.app_server import start_prod_app, stop_app
    from tests.support.browser import CHROMIUM_ARGS, chromium_path
    from tests.support.sessions import SignedIn, add_session_cookie, signed_in_user

    with tempfile.TemporaryDirectory() as tmp:
        app = start_prod_app(database_url=url, log_dir=Path(tmp), extra_env={"FLUENTIO_OUTBOX_DIR": tmp})
        try:
            from fluentio.auth.sessions import create_login_session
            from tests.support.databases import session_on

            with session_on(url) as session:
                token = create_login_session(
                    session=session, user_id=user_id, user_agent="bench", ip="127.0.0.1"
                )
                session.commit()
            heavy = SignedIn(user_id, "", token)
            light = signed_in_user(app)
            with session_on(url) as session:
                add_feedback(session, add_practice_session(session, user_id=light.user_id))
                session.commit()

            def load(page: Any, rows: int) -> float:
                started = time.perf_counter()
                page.goto(app.url("/history"))
                page.locator("#sessions tbody tr").nth(rows - 1).wait_for()
                return (time.perf_counter() - started) * 1000

            samples: dict[str, list[float]] = {"heavy": [], "light": []}
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
                )
                pages = {}
                for name, who in (("heavy", heavy), ("light", light)):
                    context = browser.new_context()
                    add_session_cookie(context, app, who)
                    pages[name] = context.new_page()
                    load(pages[name], 1)  # warm up
                for _ in range(BROWSER_RUNS):
                    samples["heavy"].append(load(pages["heavy"], history.PAGE_SIZE))
                    samples["light"].append(load(pages["light"], 1))
                browser.close()
        finally:
            stop_app(app)
    return _row(samples["heavy"], samples["light"])


def run() -> dict[str, Any]:
    with fresh_postgres(prefix="fluentio_bench_history") as url:
        started = time.perf_counter()
        user_id = seed(url)
        seed_seconds = round(time.perf_counter() - started, 1)
        metrics = measure_server(url, user_id)
        if os.environ.get("BENCH_HISTORY_BROWSER", "1") != "0":
            metrics["browser_ms"] = measure_browser(url, user_id)
    return {"sessions": SESSIONS, "runs": RUNS, "seed_seconds": seed_seconds, "metrics": metrics}


if __name__ == "__main__":
    for name, row in run()["metrics"].items():
        print(
            f"history {name}: median {row['app_median']} ms vs reference {row['reference_median']} ms "
            f"(ratio {row['ratio']}x)"
        )
