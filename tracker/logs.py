"""Logging for the web, the scheduler and the CLI: one configuration, a request id on every line."""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request

#: An incoming X-Request-ID is kept only if it looks like one (no spaces, no control characters, bounded).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=\-]{1,128}$")
HEADER = "X-Request-ID"
access_log = logging.getLogger("tracker.access")
#: Libraries whose INFO lines say nothing an operator needs (Alembic lists its plugins at every import).
QUIET_LOGGERS = ("fontTools", "alembic.runtime.plugins",)


def current_request_id() -> str:
    """The id of the request being served, or "-" outside a request."""
    if has_request_context():
        return g.get("request_id", "-")
    return "-"


class RequestIdFilter(logging.Filter):
    """Stamps every record with the request id (and the process: web, scheduler, cli)."""

    def __init__(self, process: str):
        super().__init__()
        self.process = process

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.process_kind = self.process
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, process, request id, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": getattr(record, "process_kind", "-"),
            "pid": record.process,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process_kind)s %(request_id)s] %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (test runners and daemons replace it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):  # noqa: D401 - a property standing for the attribute StreamHandler reads
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(level: str = "info", fmt: str = "text", process: str = "web") -> logging.Handler:
    """Send every logger's records (ours, APScheduler's, the WSGI server's) to stderr in one format; idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tracker", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler._tracker = True
    handler.addFilter(RequestIdFilter(process))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    return handler


def init_app(app: Flask) -> None:
    """Give each request an id (honouring X-Request-ID), echo it, and write one access line per request."""

    @app.before_request
    def _request_id():
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _echo(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[HEADER] = request_id
        if access_log.isEnabledFor(logging.INFO) and request.endpoint != "static":
            elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
            user = g.get("user")
            access_log.info("%s %s %s %.1fms user=%s addr=%s", request.method, request.path, response.status_code,
                            elapsed_ms, user.name if user is not None else "-", request.remote_addr or "-")
        return response
