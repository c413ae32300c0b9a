"""JSON log lines carrying the correlation id of the request or event being handled."""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import datetime

from shared.events import SHANGHAI

_context = threading.local()  # green-thread local once eventlet has monkey-patched threading

# Last line of defence: an 18-character resident ID number never reaches a log in clear.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def set_correlation_id(value: str | None) -> None:
    _context.correlation_id = value


def get_correlation_id() -> str | None:
    return getattr(_context, "correlation_id", None)


def redact(text: str) -> str:
    return _ID_NUMBER.sub(r"\1********\2", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, SHANGHAI).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": get_correlation_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def _not_an_expected_error(record: logging.LogRecord) -> bool:
    # nameko logs every exception a worker raises, tracebacks included; one declared expected
    # (an ApiError: the caller's bad input, a 404, a 409) is an answer, not a fault.
    return not str(record.msg).startswith("(expected) error handling worker")


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(_not_an_expected_error)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kombu", "amqp", "pymongo", "nameko"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
