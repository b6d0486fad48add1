"""Logging set-up for the process (level from LOG_LEVEL)."""

from __future__ import annotations

import logging
import sys


def configure(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # httpx logs every request at INFO; keep that for DEBUG runs only.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
