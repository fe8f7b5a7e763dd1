"""Which platform a User-Agent header names, and that every platform has both texts."""

from __future__ import annotations

import pytest

from fluentio.components.platform_help import (
    INSTALL_HELP,
    MICROPHONE_HELP,
    Platform,
    install_help,
    microphone_help,
    platform_of,
)
from tests.support.user_agents import USER_AGENTS


@pytest.mark.parametrize("name", list(USER_AGENTS))
def test_platform_of(name: str) -> None:
    user_agent, platform = USER_AGENTS[name]
    assert platform_of(user_agent) is platform


def test_every_platform_has_its_own_microphone_and_install_text() -> None:
    assert set(MICROPHONE_HELP) == set(Platform) == set(INSTALL_HELP)
    assert len(set(MICROPHONE_HELP.values())) == len(Platform)
    assert len(set(INSTALL_HELP.values())) == len(Platform)
    for text in MICROPHONE_HELP.values():
        assert text.startswith("Fluentio can't use your microphone.")
        assert text.endswith("press Start session again.")


def test_ios_safari_points_to_aa_not_an_address_bar_icon() -> None:
    text = microphone_help(USER_AGENTS["iPhone Safari"][0])
    assert "“aA”" in text and "Website Settings" in text and "Settings app → Safari → Microphone" in text
    assert "Add to Home Screen" in install_help(USER_AGENTS["iPhone Safari"][0])
    assert "Install app" in install_help(USER_AGENTS["Android Chrome"][0])
