"""Find a correction's `original` words inside the learner's transcript lines.

Speech recognition and the model disagree about punctuation, case and apostrophes, so
both sides are compared as lower-case words; the match is mapped back to the exact
characters of the stored line so the page can highlight them in place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fluentio.feedback.fluency import Line

# Letters and digits of any language (not "_"), and apostrophes.
_KEEP = re.compile(r"[^\W_]|'")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _normalise(text: str) -> tuple[str, list[int]]:
    """Lower-case words separated by single spaces, and each kept character's index in `text`."""
    chars: list[str] = []
    index: list[int] = []
    for i, raw in enumerate(text):
        char = raw.lower().replace("’", "'")
        if _KEEP.match(char):
            chars.append(char)
            index.append(i)
        elif chars and chars[-1] != " ":
            chars.append(" ")
            index.append(i)
    if chars and chars[-1] == " ":
        chars.pop()
        index.pop()
    return "".join(chars), index


def find_span(original: str, text: str) -> Span | None:
    """Where `original` occurs in `text` (whole words), or None."""
    needle, _ = _normalise(original)
    if not needle:
        return None
    haystack, index = _normalise(text)
    start = 0
    while (at := haystack.find(needle, start)) >= 0:
        end = at + len(needle)
        if (at == 0 or haystack[at - 1] == " ") and (end == len(haystack) or haystack[end] == " "):
            return Span(index[at], index[end - 1] + 1)
        start = at + 1
    return None


def locate(original: str, lines: Sequence[Line]) -> tuple[Line, Span] | None:
    """The first learner line containing `original`, and where in it."""
    for line in lines:
        if line.is_learner and (span := find_span(original, line.text)) is not None:
            return line, span
    return None


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool
    note: str = ""


def segments(text: str, marks: Sequence[tuple[Span, str]]) -> list[Segment]:
    """Split `text` into plain and marked pieces; overlapping marks keep the earlier one."""
    pieces: list[Segment] = []
    cursor = 0
    for span, note in sorted(marks, key=lambda m: (m[0].start, -m[0].end)):
        if span.start < cursor or span.end > len(text):
            continue
        if span.start > cursor:
            pieces.append(Segment(text[cursor : span.start], False))
        pieces.append(Segment(text[span.start : span.end], True, note))
        cursor = span.end
    if cursor < len(text) or not pieces:
        pieces.append(Segment(text[cursor:], False))
    return pieces
