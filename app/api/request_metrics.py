"""Every request timed into ``authsvc_http_request_duration_seconds`` (app/core/metrics.py),
labelled by method, route template and status class, never by the raw path: a client
cannot grow the number of series by inventing paths or methods."""

import time

from flask import Flask
from flask import Response
from flask import request
from prometheus_client import Histogram

from app.core.metrics import REQUEST_DURATION

_STARTED = "authsvc.started"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def install_request_metrics(app: Flask) -> None:
    # First of the before-request hooks and last of the after-request ones (Flask runs
    # those in reverse), so the time covers every hook of the service.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _observe)


def _start() -> None:
    request.environ[_STARTED] = time.perf_counter()


def _observe(response: Response) -> Response:
    started = request.environ.get(_STARTED)
    if started is not None:
        rule = request.url_rule
        labels = (
            request.method if request.method in _METHODS else "OTHER",
            rule.rule if rule is not None else UNMATCHED,
            response.status_code // 100,
        )
        series = _series.get(labels) or _new_series(labels)
        series.observe(time.perf_counter() - started)
    return response


# One child per label set, looked up once (``labels()`` checks and locks on every call); the
# label sets are bounded by the routes, methods and status classes.
_series: dict[tuple[str, str, int], Histogram] = {}


def _new_series(labels: tuple[str, str, int]) -> Histogram:
    method, route, status_class = labels
    series = _series[labels] = REQUEST_DURATION.labels(method, route, f"{status_class}xx")
    return series
