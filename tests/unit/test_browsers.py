"""The build target reaches Reflex's generated vite.config.js."""

from __future__ import annotations

import json

import pytest
from reflex_base.compiler.templates import vite_config_template

from fluentio.components.browsers import BUILD_TARGET, with_build_target


def test_the_target_goes_into_reflex_s_own_vite_config() -> None:
    generated = vite_config_template(
        base="/", hmr=False, force_full_reload=False, experimental_hmr=False, sourcemap=False
    )
    updated = with_build_target(generated)
    build_block = updated[updated.index("build: {") :]
    assert build_block.splitlines()[1].strip() == f"target: {json.dumps(list(BUILD_TARGET))},"
    assert updated.count("target:") == generated.count("target:") + 1


def test_a_changed_template_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(RuntimeError, match="Reflex's template changed"):
        with_build_target("export default defineConfig({});")
