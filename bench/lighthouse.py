"""Lighthouse (mobile, the default emulation) on the public pages, against the targets.

Starts the production build on a fresh PostgreSQL database and runs Lighthouse
(scripts/ensure-lighthouse.sh installs the pinned version into .tools/) `BENCH_LIGHTHOUSE_RUNS`
times (default 3) on each public page, taking the median of each category score. The
reference, measured in the same run, is the same page as the Reflex build ships it
with the whole app (`/pricing.html`, the prerendered file with its JavaScript and full
stylesheet); the app's answer at `/pricing` is the lean page visitors get.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tests.support.app_server import ROOT, start_prod_app, stop_app
from tests.support.browser import chromium_path
from tests.support.databases import fresh_postgres

PAGES = {"/": "/index.html", "/pricing": "/pricing.html", "/faq": "/faq.html", "/about": "/about.html"}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 98, "accessibility": 100, "best-practices": 100, "seo": 100}
RUNS = int(os.environ.get("BENCH_LIGHTHOUSE_RUNS", "3"))
LIGHTHOUSE = ROOT / ".tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"


def scores(url: str, out: Path) -> dict[str, int]:
    """One Lighthouse run: each category's score out of 100."""
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            f"--only-categories={','.join(CATEGORIES)}",
            "--output=json",
            f"--output-path={out}",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": chromium_path() or "/usr/bin/chromium"},
        capture_output=True,
        timeout=240,
    )
    report = json.loads(out.read_text())
    return {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}


def median_scores(url: str, out: Path) -> dict[str, float]:
    runs = [scores(url, out) for _ in range(RUNS)]
    return {name: statistics.median(run[name] for run in runs) for name in CATEGORIES}


def run() -> dict[str, Any]:
    subprocess.run([str(ROOT / "scripts" / "ensure-lighthouse.sh")], check=True)
    with fresh_postgres(prefix="fluentio_bench_lighthouse") as url, tempfile.TemporaryDirectory() as tmp:
        app = start_prod_app(database_url=url, log_dir=Path(tmp), extra_env={"FLUENTIO_OUTBOX_DIR": tmp})
        try:
            pages: dict[str, Any] = {}
            for route, reference in PAGES.items():
                # The first answer builds the lean page; measure the steady state.
                httpx.get(app.url(route), timeout=120).raise_for_status()
                app_scores = median_scores(app.url(route), Path(tmp) / "app.json")
                ref_scores = median_scores(app.url(reference), Path(tmp) / "reference.json")
                pages[route] = {
                    "app": app_scores,
                    "reference": ref_scores,
                    "met": all(app_scores[name] >= TARGETS[name] for name in CATEGORIES),
                }
            return {"runs": RUNS, "targets": TARGETS, "pages": pages}
        finally:
            stop_app(app)


def table(result: dict[str, Any]) -> str:
    short = {"performance": "perf", "accessibility": "a11y", "best-practices": "best", "seo": "seo"}
    header = "".join(f"{short[name] + ' (≥' + str(TARGETS[name]) + ')':>13}" for name in CATEGORIES)
    lines = [
        f"Lighthouse, mobile (median of {result['runs']} runs; reference = the same page with the app's JS)",
        f"  {'page':<10}{header}{'ref perf':>10}{'targets':>9}",
    ]
    for route, row in result["pages"].items():
        cells = "".join(f"{row['app'][name]:>13g}" for name in CATEGORIES)
        lines.append(
            f"  {route:<10}{cells}{row['reference']['performance']:>10g}{'met' if row['met'] else 'MISSED':>9}"
        )
    return "\n".join(lines)
