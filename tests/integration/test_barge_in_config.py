"""The session config the provider receives, in both signalling modes, is the one the
README's barge-in section documents, and it is valid for the openai SDK's types."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from fluentio.classroom.realtime_config import AudioSetup, build_session_config, validate_session_config
from fluentio.settings import get_settings
from tests.integration.test_classroom_calls import (  # noqa: F401 (fixtures)
    classroom,
    make_learner,
    new_learner,
    simulator,
)
from tests.support.classroom import ROOT
from tests.support.sim_server import RunningSimulator


def documented() -> dict[str, Any]:
    """The JSON block under `<!-- session-config -->` in the README."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- session-config -->\s*```json\n(.*?)```", readme, re.S)
    assert found, "the README documents the session config"
    return dict(json.loads(found.group(1)))


def test_every_audio_setup_builds_a_valid_config() -> None:
    doc = documented()
    for setup in AudioSetup:
        config = build_session_config(settings=get_settings(), instructions="Hi.", audio_setup=setup)
        assert validate_session_config(dict(config)) == config
        assert config["audio"]["input"]["noise_reduction"] == doc["noise_reduction"][setup.value]
    assert AudioSetup.parse("HEADPHONES") is AudioSetup.HEADPHONES
    assert AudioSetup.parse("bogus") is AudioSetup.SPEAKERS
    assert AudioSetup.parse(None) is AudioSetup.SPEAKERS


def applied(session: dict[str, Any]) -> dict[str, Any]:
    audio_in = session["audio"]["input"]
    turn = audio_in["turn_detection"]
    return {
        "turn_detection": {key: turn[key] for key in documented()["turn_detection"]},
        "noise_reduction": audio_in["noise_reduction"],
    }


@pytest.mark.parametrize("signaling", ["relay", "ephemeral"])
@pytest.mark.parametrize("setup", ["speakers", "headphones"])
async def test_the_provider_gets_the_documented_config(
    classroom: RunningSimulator,  # noqa: F811
    signaling: str,
    setup: str,
) -> None:
    user_id = make_learner(30_000)
    learner = new_learner()
    if signaling == "relay":
        await learner.start_relay(user_id=user_id, audio_setup=setup)
    else:
        await learner.start_ephemeral(user_id=user_id, audio_setup=setup)
    created = await learner.wait_for("session.created")
    doc = documented()
    assert applied(created["session"]) == {
        "turn_detection": doc["turn_detection"],
        "noise_reduction": doc["noise_reduction"][setup],
    }
