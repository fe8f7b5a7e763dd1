"""What a call consumed and what it costs: one home for each of these rules.

- `Usage`: the token counts summed over a call's `response.done` events;
- `cost_estimate_microusd`: OpenAI's price for those tokens, from the FLUENTIO_COST_*
  settings. It is computed once, when the call is finalised, and stored on the session,
  so a later price change never re-prices history; the admin dashboard sums the stored
  figures;
- `billable_seconds` and `usage_millicredits`: connected time and what it takes from the
  learner's balance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from fluentio.models import PracticeSession
from fluentio.models.billing import MILLICREDITS_PER_CREDIT
from fluentio.settings import Settings


@dataclass
class Usage:
    """Token counts summed over a call's `response.done` events."""

    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    cached_input_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0

    def add(self, usage: dict[str, Any] | None) -> None:
        if not usage:
            return
        inputs = usage.get("input_token_details") or {}
        outputs = usage.get("output_token_details") or {}
        self.input_text_tokens += positive_int(inputs.get("text_tokens"))
        self.input_audio_tokens += positive_int(inputs.get("audio_tokens"))
        self.cached_input_tokens += positive_int(inputs.get("cached_tokens"))
        self.output_text_tokens += positive_int(outputs.get("text_tokens"))
        self.output_audio_tokens += positive_int(outputs.get("audio_tokens"))

    def columns(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def positive_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def cost_estimate_microusd(row: PracticeSession, settings: Settings) -> int:
    """The call's estimated OpenAI cost in micro-dollars (prices are USD per 1M tokens,
    so a price is also micro-dollars per token). Cached input is part of input, billed
    at the cached rate instead; the split between text and audio of the cached part is
    not known, so it is taken off the audio first (where almost all input is)."""
    cached = row.cached_input_tokens
    cached_audio = min(cached, row.input_audio_tokens)
    cached_text = min(cached - cached_audio, row.input_text_tokens)
    total = (
        (row.input_text_tokens - cached_text) * settings.cost_text_input_per_m
        + (row.input_audio_tokens - cached_audio) * settings.cost_audio_input_per_m
        + (cached_text + cached_audio) * settings.cost_cached_input_per_m
        + row.output_text_tokens * settings.cost_text_output_per_m
        + row.output_audio_tokens * settings.cost_audio_output_per_m
    )
    return round(total)


def billable_seconds(started_at: datetime | None, until: datetime) -> int:
    """Connected time in whole seconds (rounded to the nearest second)."""
    if started_at is None:
        return 0
    return max(0, math.floor((until - started_at).total_seconds() + 0.5))


def usage_millicredits(seconds: int, settings: Settings) -> int:
    """Per-second proration: 1 credit buys FLUENTIO_SECONDS_PER_CREDIT seconds."""
    return seconds * MILLICREDITS_PER_CREDIT // settings.seconds_per_credit
