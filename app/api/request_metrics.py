"""Every request timed into ``authsvc_http_request_duration_seconds`` (app/core/metrics.py),
labelled by method, route template and status class, never by the raw path: a client
cannot grow the number of series by inventing paths or methods. Timed from the first hook
to the last (app/api/every_request.py)."""

import time
from typing import TYPE_CHECKING

from flask import Response
from flask import request
from prometheus_client import Histogram

from app.core.metrics import REQUEST_DURATION

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

_STARTED = "authsvc.started"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def start_timer(environ: "WSGIEnvironment") -> None:
    environ[_STARTED] = time.perf_counter()


def observe_duration(environ: "WSGIEnvironment", response: Response) -> None:
    started = environ.get(_STARTED)
    if started is not None:
        rule = request.url_rule
        labels = (
            request.method if request.method in _METHODS else "OTHER",
            rule.rule if rule is not None else UNMATCHED,
            response.status_code // 100,
        )
        series = _series.get(labels) or _new_series(labels)
        series.observe(time.perf_counter() - started)


# One child per label set, looked up once (``labels()`` checks and locks on every call); the
# label sets are bounded by the routes, methods and status classes.
_series: dict[tuple[str, str, int], Histogram] = {}


def _new_series(labels: tuple[str, str, int]) -> Histogram:
    method, route, status_class = labels
    series = _series[labels] = REQUEST_DURATION.labels(method, route, f"{status_class}xx")
    return series
