"""The service's log lines: one JSON object each, on stderr.

JSON escaping means a value with a newline in it (a username, a path) cannot forge a second
line. A line written during a request carries the request's id (app/api/request_ids.py). An
exception is named by its type and located by its traceback's frames, each as
``module:function:line``; its message, which may hold SQL or input, and the source lines and
file paths of a full traceback are written in development only (OWASP ASVS 5 V16.2, V16.4.1).
"""

import json
import logging
import traceback
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask import has_request_context
from gunicorn import glogging

from app.api.request_ids import current_request_id

_SITE_PACKAGES = "/site-packages/"
_PROJECT_ROOT = f"{Path(__file__).resolve().parent.parent}/"
# Loggers whose records may carry request data or exceptions.
SERVICE_LOGGERS = ("flask_limiter",)


class JsonFormatter(logging.Formatter):
    def __init__(self, *, with_traceback: bool) -> None:
        super().__init__()
        self._with_traceback = with_traceback

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if has_request_context():
            entry["requestId"] = current_request_id()
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = (
                self.formatException(record.exc_info)
                if self._with_traceback
                else [_frame(frame) for frame in traceback.extract_tb(record.exc_info[2])]
            )
        return json.dumps(entry, default=str)


def _frame(frame: traceback.FrameSummary) -> str:
    """``package.module:function:line``: where, without the file's path or source line."""
    path = frame.filename.removesuffix(".py")
    for root in (_SITE_PACKAGES, _PROJECT_ROOT):
        if root in path:
            path = path.rsplit(root, 1)[1]
            break
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{path.replace('/', '.')}:{frame.name}:{frame.lineno}"


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(with_traceback=app.config["APP_ENV"] == "development"))
    for logger in (app.logger, *(logging.getLogger(name) for name in SERVICE_LOGGERS)):
        logger.handlers = [handler]
        logger.propagate = False
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)


class GunicornJsonLogger(glogging.Logger):
    """gunicorn's own lines as the service's: its error log through ``JsonFormatter``, and one
    JSON access line per request (method and path, never the query string or Referer, so a
    token wrongly put in a URL is never written; status, bytes, duration, user agent and the
    request id the service answered with). gunicorn.conf.py names it as ``logger_class``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = JsonFormatter(with_traceback=False)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.cfg.accesslog:
            return
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        status = int(str(resp.status).split(None, 1)[0])
        fields = {
            "remote": environ.get("REMOTE_ADDR"),
            "method": method,
            "path": path,
            "protocol": environ.get("SERVER_PROTOCOL"),
            "status": status,
            "bytes": getattr(resp, "sent", None),
            "durationMs": round(request_time.total_seconds() * 1000, 2),
            "userAgent": environ.get("HTTP_USER_AGENT"),
            "requestId": _header(resp.headers, "x-request-id"),
        }
        self.access_log.info("%s %s %s", method, path, status, extra={"fields": fields})


def _header(headers: list[tuple[str, str]], lowercase_name: str) -> str | None:
    return next((value for name, value in headers if name.lower() == lowercase_name), None)
