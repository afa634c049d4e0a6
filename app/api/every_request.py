"""What every request gets, /healthz included, in one hook each way (each hook Flask calls
costs its own microseconds): an id (app/api/request_ids.py), its duration in the metrics
(app/api/request_metrics.py), and headers that keep the response out of caches, sniffing and
frames."""

from flask import Flask
from flask import Response
from flask import request
from werkzeug.datastructures import Headers

from app.api.request_ids import HEADER
from app.api.request_ids import request_id_of
from app.api.request_metrics import observe_duration
from app.api.request_metrics import start_timer


def install_every_request(app: Flask) -> None:
    """First of the before-request hooks and last of the after-request ones (Flask runs those
    in reverse), so the time covers every hook. Call it after the extensions have added
    theirs."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request_funcs.setdefault(None, []).insert(0, _end)


def _begin() -> None:
    start_timer(request.environ)


def _end(response: Response) -> Response:
    environ = request.environ
    protect(response)
    response.headers[HEADER] = request_id_of(environ)
    observe_duration(environ, response)
    return response


def protect(response: Response) -> None:
    """Tokens and account data must not sit in shared or browser caches (RFC 6749 5.1), no
    response may be sniffed into another content type (OWASP ASVS 5 V3.4.4), and none may be
    framed by another page (V3.4.6; CSP frame-ancestors on the pages, this for old browsers)."""
    headers = response.headers
    # Looked up once: a missing name costs Headers an exception per lookup.
    present = {name.lower() for name, _ in headers}
    if "cache-control" not in present:
        _put(headers, present, "Cache-Control", "no-store")
        _put(headers, present, "Pragma", "no-cache")
    _put(headers, present, "X-Content-Type-Options", "nosniff")
    _put(headers, present, "X-Frame-Options", "DENY")


def _put(headers: Headers, present: set[str], name: str, value: str) -> None:
    """``headers[name] = value``, at half the cost where the header is not there yet."""
    if name.lower() in present:
        headers[name] = value
    else:
        headers.add(name, value)
