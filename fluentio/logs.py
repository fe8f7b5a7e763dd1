"""The app's log lines (fluentio.*) on stderr, beside Reflex's own output.

Without this, Python drops INFO lines, and with no SMTP server the outbox's "open this
link" line is how a local user verifies their email. FLUENTIO_LOG_LEVEL changes the level.
"""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    logger = logging.getLogger("fluentio")
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("FLUENTIO_LOG_LEVEL", "INFO").upper())
    logger.propagate = False
