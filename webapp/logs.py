"""Structured logs: every record carries `request_id`; lines are JSON or key=value text.

DATADOCK_LOG_FORMAT picks `json` (one object per line: time, level, logger, requestId,
message, exc) or `text`; the default is json in production and text in development.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from . import request_ids
from .config import ConfigError

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"
_MARK = "_datadock_handler"


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "requestId": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _install_record_factory() -> None:
    """Give every record a `request_id` attribute (also records that pytest's caplog sees)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_ids.current() or "-"
        return record

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)


def formatter(kind: str) -> logging.Formatter:
    """The formatter for `json` or `text`."""
    return JsonFormatter() if kind == "json" else logging.Formatter(TEXT_FORMAT)


def configure(level: str, kind: str) -> None:
    """Install the record factory and one stderr handler on the root logger (idempotent)."""
    _install_record_factory()
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = next((h for h in root.handlers if getattr(h, _MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    handler.setFormatter(formatter(kind))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick is noise


def configure_from_env() -> None:
    """`configure` with DATADOCK_LOG_LEVEL and DATADOCK_LOG_FORMAT."""
    production = os.environ.get("DATADOCK_ENV", "development").lower() == "production"
    kind = (os.environ.get("DATADOCK_LOG_FORMAT") or ("json" if production else "text")).lower()
    if kind not in ("json", "text"):
        raise ConfigError(f"DATADOCK_LOG_FORMAT must be json or text, got {kind!r}")
    configure(os.environ.get("DATADOCK_LOG_LEVEL", "INFO"), kind)
