"""The CEFR levels, defined once: their codes, names and order.

Everything that knows about levels — the learner's profile, the pickers, the tutor's
instructions, the analysis schema, the progress chart and the simulator — reads them here.
"""

from __future__ import annotations

from enum import StrEnum


class CefrLevel(StrEnum):
    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


LEVELS: tuple[str, ...] = tuple(level.value for level in CefrLevel)
DEFAULT_LEVEL = CefrLevel.B1

LEVEL_NAMES: dict[str, str] = {
    CefrLevel.A1: "Beginner",
    CefrLevel.A2: "Elementary",
    CefrLevel.B1: "Intermediate",
    CefrLevel.B2: "Upper intermediate",
    CefrLevel.C1: "Advanced",
    CefrLevel.C2: "Proficient",
}


def rank(level: str) -> int | None:
    """1 for A1 … 6 for C2 (the progress chart's axis); None for anything else."""
    return LEVELS.index(level) + 1 if level in LEVELS else None


def label(level: str) -> str:
    """`B1 · Intermediate`, as the pickers show it."""
    return f"{level} · {LEVEL_NAMES[level]}"
