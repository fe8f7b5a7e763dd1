"""Turn the prerendered HTML of a public page into the lean page visitors get.

Pure string work on the markup Reflex's production build writes (React Router's
prerender): drop every script and module preload, replace the app-wide stylesheet by
the rules this page uses, add the service-worker registration back, and reveal the
signed-in or signed-out branches of `auth_switch`.
"""

from __future__ import annotations

import re

from fluentio.components.auth_switch import SIGNED_IN, SIGNED_OUT
from fluentio.components.pwa import REGISTER_SERVICE_WORKER

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_MODULE_PRELOAD = re.compile(r"<link\b[^>]*\brel=\"modulepreload\"[^>]*/?>", re.I)
_STYLE_PRELOAD = re.compile(r"<link\b[^>]*\bas=\"style\"[^>]*/?>", re.I)
_STYLESHEET = re.compile(
    r"<link\b[^>]*\bhref=\"(/assets/[^\"]+\.css)\"[^>]*\brel=\"stylesheet\"[^>]*/?>", re.I
)
# A signed-in visitor's page shows the "in" branches and hides the "out" ones.
SIGNED_IN_CSS = f'[data-auth="{SIGNED_IN}"]{{display:contents!important}}[data-auth="{SIGNED_OUT}"]{{display:none!important}}'


class NotPrerenderedError(ValueError):
    """The HTML is not a page of the production build (no app stylesheet found)."""


def stylesheet_path(html: str) -> str:
    """The build's app-wide stylesheet that `html` links (e.g. /assets/__reflex_global_styles-….css)."""
    found = _STYLESHEET.search(html)
    if found is None:
        raise NotPrerenderedError("no stylesheet link in the prerendered page")
    return found.group(1)


def without_app(html: str, *, css: str | None) -> str:
    """`html` with no scripts or preloads; the stylesheet inlined as `css`, or kept as a
    link when `css` is None (PurgeCSS unavailable)."""
    lean = _MODULE_PRELOAD.sub("", _SCRIPT.sub("", html))
    if css is not None:
        lean = _STYLE_PRELOAD.sub("", lean)
        lean = _STYLESHEET.sub(lambda _m: f"<style>{_escape_style(css)}</style>", lean, count=1)
    return lean.replace("</body>", f"<script>{REGISTER_SERVICE_WORKER.strip()}</script></body>", 1)


def for_visitor(lean_html: str, *, signed_in: bool) -> str:
    """The page for this request: signed in, the "in" branches replace the "out" ones."""
    if not signed_in:
        return lean_html
    return lean_html.replace("</head>", f"<style>{SIGNED_IN_CSS}</style></head>", 1)


def _escape_style(css: str) -> str:
    # A stylesheet can't end the <style> element early, whatever its strings hold.
    return css.replace("</", "<\\/")
