"""The service's log lines: one JSON object each, on stderr.

JSON escaping means a value with a newline in it (a username, a path) cannot forge a second
line. An exception is named by its type only: its message may hold SQL or input, and outside
development no traceback is written (OWASP ASVS 5 V16.2, V16.4.1).
"""

import json
import logging
from datetime import UTC
from datetime import datetime

from flask import Flask

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
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
            if self._with_traceback:
                entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(with_traceback=app.config["APP_ENV"] == "development"))
    for logger in (app.logger, *(logging.getLogger(name) for name in SERVICE_LOGGERS)):
        logger.handlers = [handler]
        logger.propagate = False
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
