"""The supported browsers (fluentio/components/browsers.py): the production bundle parses
in the oldest of them, and an older browser gets a plain "please update" message instead
of a page that never comes alive.

The bundle is parsed with acorn (from the npm registry; scripts/ensure-js-checks.sh
installs it into .tools/js-checks) by scripts/js-checks/check-bundle.mjs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from fluentio.components.browsers import OLD_BROWSER_MESSAGE, POLYFILLED_METHODS
from tests.support.app_server import ROOT, RunningApp

pytestmark = pytest.mark.e2e

CHECKER = ROOT / ".tools" / "js-checks" / "check-bundle.mjs"


def check_bundle(directory: Path) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not CHECKER.exists():
        pytest.skip("node or the bundle checker is missing: run scripts/ensure-js-checks.sh (make test does)")
    done = subprocess.run([node, str(CHECKER), str(directory)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_the_production_bundle_parses_in_the_oldest_supported_browsers(app_server: RunningApp) -> None:
    report = check_bundle(app_server.workdir / ".web" / "build" / "client")
    assert report["files"] > 10
    assert report["syntaxErrors"] == []
    assert report["staticBlocks"] == [], "class static blocks need Safari 16.4"
    assert set(report["newerMethods"]) <= set(POLYFILLED_METHODS), report["newerMethods"]


def test_the_checker_catches_what_old_safari_cannot_run(tmp_path: Path) -> None:
    (tmp_path / "static-block.js").write_text("export class A { static { A.ready = true; } }\n")
    (tmp_path / "regex-v.js").write_text("export const letters = /[\\p{L}--\\p{N}]/v;\n")
    (tmp_path / "to-sorted.js").write_text("export const f = (xs) => xs.toSorted();\n")
    (tmp_path / "fine.js").write_text("export class B { #x = 1; get x() { return this.#x ?? 0; } }\n")
    report = check_bundle(tmp_path)
    assert report["files"] == 4
    assert [Path(e["file"]).name for e in report["syntaxErrors"]] == ["regex-v.js"]
    assert [Path(f).name for f in report["staticBlocks"]] == ["static-block.js"]
    assert {name: [Path(f).name for f in files] for name, files in report["newerMethods"].items()} == {
        "toSorted": ["to-sorted.js"]
    }


def test_an_older_browser_is_asked_to_update(app_server: RunningApp, browser: Browser) -> None:
    # Safari before 15.4: no Array.prototype.at (nor the rest of the build target), and
    # the app's modules never run (there they fail to parse; here they fail to load).
    context = browser.new_context()
    context.add_init_script("delete Array.prototype.at;")
    context.route(re.compile(r"/assets/.*\.js$"), lambda route: route.abort())
    page = context.new_page()
    # The public pages are plain HTML that any browser shows; the app's pages need the bundle.
    page.goto(app_server.url("/pricing"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("#old-browser")).to_have_count(0)
    page.goto(app_server.url("/login"))
    message = page.locator("#old-browser")
    expect(message).to_be_visible()
    expect(message).to_have_text(OLD_BROWSER_MESSAGE)
    expect(message).to_have_attribute("role", "alert")
    context.close()


def test_a_supported_browser_without_to_sorted_still_works(app_server: RunningApp, browser: Browser) -> None:
    # Safari 15.4–15.8 and Chrome 109 lack Array.prototype.toSorted, which the bundle uses.
    context = browser.new_context()
    context.add_init_script("delete Array.prototype.toSorted;")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(app_server.url("/login"))
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("wrong-password-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is incorrect.")
    assert page.locator("#old-browser").count() == 0
    assert page.evaluate("() => [3, 1, 2].toSorted()") == [1, 2, 3]
    assert errors == []
    context.close()
