"""One id per request: taken from a well-formed ``X-Request-ID`` (a proxy's or a client's),
else made here; returned on every response, written on every log line of the request
(app/logs.py) and in every 5xx body (app/api/errors.py), so an operator finds a failure from
what the client saw."""

import random
import re
from typing import TYPE_CHECKING

from flask import has_request_context
from flask import request

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

HEADER = "X-Request-ID"
# What proxies and tracing libraries send (UUIDs, hex, base64url, dotted ids), bounded, and
# nothing that could forge a log field or a header.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{7,127}")
_OFFERED = "HTTP_X_REQUEST_ID"
_KEY = "authsvc.request_id"


def current_request_id() -> str | None:
    """The request's id, or None outside a request."""
    if not has_request_context():
        return None
    return request_id_of(request.environ)


def request_id_of(environ: "WSGIEnvironment") -> str:
    """The request's id, settled at its first use."""
    found = environ.get(_KEY)
    if found is None:
        offered = environ.get(_OFFERED, "")
        found = environ[_KEY] = offered if _WELL_FORMED.fullmatch(offered) else _new_id()
    return str(found)


def _new_id() -> str:
    """128 random bits in hex, as a UUID's: an id needs uniqueness, not secrecy, so from
    ``random`` (reseeded in each forked worker) without a system call per request."""
    return f"{random.getrandbits(128):032x}"
