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


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    from bench import burst, history, lighthouse, realtime

    results: dict[str, Any] = {}
    results["classroom"] = realtime.run()
    sys.stdout.write(
        _table("Classroom latency (loopback, simulator)", results["classroom"]["metrics"]) + "\n\n"
    )
    results["history"] = history.run()
    sys.stdout.write(_table("History with 500 sessions", results["history"].get("metrics", {})) + "\n\n")
    results["lighthouse"] = lighthouse.run()
    sys.stdout.write(lighthouse.table(results["lighthouse"]) + "\n")
    results["burst"] = burst.run()
    sys.stdout.write("\n" + burst.table(results["burst"]) + "\n")
    RESULTS.write_text(json.dumps(results, indent=2))
    sys.stdout.write(f"\nwritten to {RESULTS}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
