"""`make bench`: every benchmark, each beside a reference measured in the same run.

Prints a table of medians and ratios and writes bench/results.json.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results.json"


def _table(title: str, rows: dict[str, dict[str, Any]], unit: str = "ms") -> str:
    lines = [title, f"  {'metric':<16}{'app median':>14}{'reference':>14}{'ratio':>9}"]
    for name, row in rows.items():
        app, ref, ratio = row.get("app_median"), row.get("reference_median"), row.get("ratio")
        lines.append(
            f"  {name:<16}{(f'{app} {unit}' if app is not None else '-'):>14}"
            f"{(f'{ref} {unit}' if ref is not None else '-'):>14}{(f'{ratio}x' if ratio else '-'):>9}"
        )
    return "\n".join(lines)


def _noise_table(rows: dict[str, dict[str, Any]]) -> str:
    def mark(value: object) -> str:
        return "yes" if value else "no"

    lines = [
        "Noise over the tutor (target: the app cuts 0, fewer than the reference)",
        f"  {'clip':<10}{'app cut':>10}{'ref cut':>10}{'app answered':>15}{'ref answered':>15}",
    ]
    for clip, row in rows.items():
        if clip == "total":
            lines.append(
                f"  {'total':<10}{row['app_cut']:>10}{row['reference_cut']:>10}"
                f"{row['app_answered']:>15}{row['reference_answered']:>15}"
            )
        else:
            lines.append(
                f"  {clip:<10}{mark(row['app_cut']):>10}{mark(row['reference_cut']):>10}"
                f"{mark(row['app_answered']):>15}{mark(row['reference_answered']):>15}"
            )
    return "\n".join(lines)


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    from bench import burst, cluster, history, lighthouse, realtime, takeover

    results: dict[str, Any] = {}
    results["classroom"] = realtime.run()
    sys.stdout.write(
        _table(
            "Classroom latency (loopback, simulator; targets: duck <= 50 ms, silent <= 100 ms, start ratio <= 1.25)",
            results["classroom"]["metrics"],
        )
        + "\n\n"
    )
    sys.stdout.write(_noise_table(results["classroom"]["noise"]) + "\n\n")
    results["history"] = history.run()
    sys.stdout.write(_table("History with 500 sessions", results["history"].get("metrics", {})) + "\n\n")
    results["lighthouse"] = lighthouse.run()
    sys.stdout.write(lighthouse.table(results["lighthouse"]) + "\n")
    results["burst"] = burst.run()
    sys.stdout.write("\n" + burst.table(results["burst"]) + "\n")
    results["takeover"] = takeover.run()
    sys.stdout.write("\n" + takeover.table(results["takeover"]) + "\n")
    results["cluster"] = cluster.run()
    sys.stdout.write("\n" + cluster.table(results["cluster"]) + "\n")
    RESULTS.write_text(json.dumps(results, indent=2))
    sys.stdout.write(f"\nwritten to {RESULTS}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
