"""The level per language's fallback rule: a stored level as it is, the default otherwise."""

from __future__ import annotations

import pytest

from fluentio.auth.levels import effective_level
from fluentio.levels import DEFAULT_LEVEL, LEVELS


@pytest.mark.parametrize("stored", LEVELS)
def test_a_stored_level_is_the_level(stored: str) -> None:
    assert effective_level(stored) == stored


@pytest.mark.parametrize("stored", [None, "", "b1", "D1", "B1 "])
def test_a_language_never_set_or_not_a_level_reads_as_the_default(stored: str | None) -> None:
    assert effective_level(stored) == DEFAULT_LEVEL.value == "B1"
