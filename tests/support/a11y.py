"""Shared by the accessibility tests: the axe-core rules every page must pass, and a
readable summary of what failed."""

from __future__ import annotations

from typing import Any

# The WCAG 2.0-2.2 A and AA rule sets, plus the best-practice rules a reader notices.
AXE_OPTIONS: dict[str, Any] = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "rules": {
        "heading-order": {"enabled": True},
        "page-has-heading-one": {"enabled": True},
        "landmark-one-main": {"enabled": True},
        "region": {"enabled": True},
    },
    "resultTypes": ["violations"],
}


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '')}")
    return "\n".join(lines)
