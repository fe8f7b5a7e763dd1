"""PurgeCSS (npm, installed by scripts/ensure-purgecss.sh) behind one function.

The app's stylesheet is ~700 KB (all of Radix Themes); a public page uses ~25 KB of it.
PurgeCSS is the maintained tool for exactly this cut, so we call it rather than guess
which selectors a page needs ourselves.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
PURGECSS = ROOT / ".tools" / "purgecss" / "node_modules" / ".bin" / "purgecss"
CONFIG = Path(__file__).with_name("purgecss.config.cjs")
TIMEOUT_S = 60
# PurgeCSS (6 to 8) judges the arguments of `:where()` as selectors of their own and
# drops pseudo-class ones (`:where(:any-link, button)`, `:where(:not(.rt-variant-ghost))`),
# which Radix uses to size every button and underline every link. For the purge each
# such `:where(…)` stands in as a safelisted placeholder class and is put back after.
_PSEUDO_WHERE = re.compile(r":where\((:(?:[^()]|\([^()]*\))*)\)")
_PLACEHOLDER = re.compile(r"\.fl-w(\d+)\b")


def _disguise(css: str) -> tuple[str, list[str]]:
    originals: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        originals.append(match.group(0))
        return f".fl-w{len(originals) - 1}"

    return _PSEUDO_WHERE.sub(placeholder, css), originals


def _restore(css: str, originals: list[str]) -> str:
    return _PLACEHOLDER.sub(lambda match: originals[int(match.group(1))], css)


def used_css(stylesheet: Path, html: str) -> str | None:
    """The rules, variables, keyframes and font faces of `stylesheet` that `html` uses,
    or None when PurgeCSS is missing or fails (the caller keeps the full stylesheet)."""
    if not PURGECSS.exists():
        logger.warning(
            "purgecss is not installed (run scripts/ensure-purgecss.sh); public pages link the full CSS"
        )
        return None
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html)
        disguised = Path(tmp) / "app.css"
        css, originals = _disguise(stylesheet.read_text())
        disguised.write_text(css)
        try:
            done = subprocess.run(
                [
                    str(PURGECSS),
                    "--config",
                    str(CONFIG),
                    "--css",
                    str(disguised),
                    "--content",
                    str(page),
                ],
                capture_output=True,
                check=True,
                timeout=TIMEOUT_S,
            )
            return _restore(str(json.loads(done.stdout)[0]["css"]), originals)
        except (OSError, subprocess.SubprocessError, ValueError, LookupError) as exc:
            logger.warning("purgecss failed (%s); public pages link the full CSS", exc)
            return None
