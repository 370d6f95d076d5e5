"""One place that configures stdlib logging for the ``auralis`` logger tree."""

from __future__ import annotations

import logging
import os
import sys

from .log_context import RequestIdFilter

_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def setup_logging(level: int | str | None = None, stream=None) -> logging.Logger:
    """Configure the ``auralis`` logger once (idempotent). ``AURALIS_LOG_LEVEL`` sets the default."""
    logger = logging.getLogger("auralis")
    level = level or os.environ.get("AURALIS_LOG_LEVEL", "WARNING")
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    if not any(getattr(h, "_auralis", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(RequestIdFilter())  # every line names the request it belongs to
        handler._auralis = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    return logger
