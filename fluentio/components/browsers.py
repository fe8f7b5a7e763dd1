"""The browsers Fluentio supports, in one place: the build target for the production
bundle, and the tiny inline check that tells a learner on an older browser to update
instead of leaving them on a page that never becomes interactive.

Supported: Safari and iOS 15.4+ (every iPhone that stays on iOS 15 can reach 15.8),
Chrome and Edge 109+ (the last release for Windows 7/8, early 2023), Firefox 115+ (the
oldest ESR still in use). The README's "Supported browsers" section states the same.
"""

from __future__ import annotations

import json
import re

import reflex as rx
from reflex_base import constants
from reflex_base.plugins.base import Plugin, PreCompileContext
from typing_extensions import Unpack

# Vite's `build.target` (esbuild-style names): code is lowered to what each of these parses.
BUILD_TARGET = ("es2022", "safari15.4", "ios15.4", "chrome109", "edge109", "firefox115")

# Array methods that ship in the bundle but are newer than the target (Safari 16, Chrome
# 110): each is a plain copy-then-mutate, so the inline script fills them in rather than
# pulling a polyfill library into every page.
POLYFILLED_METHODS = ("toSorted", "toReversed", "toSpliced", "with")

OLD_BROWSER_MESSAGE = (
    "Your browser is too old for Fluentio. Please update it, or open Fluentio in a recent "
    "Safari (iOS 15.4 or later), Chrome, Edge or Firefox."
)

# Runs before the app's bundle (a classic inline script in <head>; modules are deferred).
# Array.prototype.at, Object.hasOwn and structuredClone arrived together with the rest of
# the target (Safari 15.4, Chrome 98, Firefox 94): without them the bundle cannot run, so
# the page shows a plain message instead of staying dead.
OLD_BROWSER_CHECK = f"""
(function () {{
  var ok = typeof globalThis !== 'undefined' && !!Array.prototype.at && !!Object.hasOwn &&
    typeof structuredClone === 'function' && 'noModule' in document.createElement('script');
  if (!ok) {{
    var show = function () {{
      var box = document.createElement('div');
      box.id = 'old-browser';
      box.setAttribute('role', 'alert');
      box.style.cssText = 'position:fixed;inset:0;z-index:2147483647;background:#fff;color:#111;' +
        'font:18px/1.5 system-ui,sans-serif;padding:2rem;display:flex;align-items:center;justify-content:center;text-align:center';
      box.textContent = {json.dumps(OLD_BROWSER_MESSAGE)};
      document.body.appendChild(box);
    }};
    if (document.body) show(); else document.addEventListener('DOMContentLoaded', show);
    return;
  }}
  var arr = Array.prototype;
  var define = function (name, fn) {{
    if (!arr[name]) Object.defineProperty(arr, name, {{ value: fn, writable: true, configurable: true }});
  }};
  define('toSorted', function (compare) {{ return this.slice().sort(compare); }});
  define('toReversed', function () {{ return this.slice().reverse(); }});
  define('toSpliced', function () {{ var copy = this.slice(); copy.splice.apply(copy, arguments); return copy; }});
  define('with', function (index, value) {{
    var copy = this.slice(), i = index < 0 ? copy.length + index : index;
    if (i < 0 || i >= copy.length) throw new RangeError('Invalid index');
    copy[i] = value;
    return copy;
  }});
}})();
"""


def old_browser_check() -> rx.Component:
    # A plain <script> in the prerendered HTML: rx.script would be added by react-helmet
    # after the app has loaded, which is exactly what an old browser never gets to.
    return rx.el.script(OLD_BROWSER_CHECK)


_BUILD_BLOCK = re.compile(r"\bbuild: \{\n")


def with_build_target(vite_config: str) -> str:
    """Reflex's generated vite.config.js with our `build.target` added."""
    target = f"build: {{\n    target: {json.dumps(list(BUILD_TARGET))},\n"
    updated, count = _BUILD_BLOCK.subn(target, vite_config, count=1)
    if count != 1:
        raise RuntimeError("vite.config.js has no `build: {` block; Reflex's template changed")
    return updated


class BrowserTargetPlugin(Plugin):
    """Builds the production bundle for BUILD_TARGET (Reflex's template has no option)."""

    def pre_compile(self, **context: Unpack[PreCompileContext]) -> None:
        context["add_modify_task"](constants.ReactRouter.VITE_CONFIG_FILE, with_build_target)
