"""The id of the request being served, carried by a context variable into every log line.

The server binds the HTTP request's id; the scheduler's tasks inherit it (asyncio copies the
context into tasks it creates), so engine log lines name the request they work for.
"""

from __future__ import annotations

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("auralis_request_id", default="-")


def bind_request_id(request_id: str) -> contextvars.Token[str]:
    """Make ``request_id`` the current request's id (for this task and the tasks it starts)."""
    return request_id_var.set(request_id)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request) so formats can show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True
