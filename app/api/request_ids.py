"""One id per request: taken from a well-formed ``X-Request-ID`` (a proxy's or a client's),
else made here; returned on every response, written on every log line of the request
(app/logs.py) and in every 5xx body (app/api/errors.py), so an operator finds a failure from
what the client saw."""

import random
import re

from flask import Flask
from flask import Response
from flask import g
from flask import has_request_context
from flask import request

HEADER = "X-Request-ID"
# What proxies and tracing libraries send (UUIDs, hex, base64url, dotted ids), bounded, and
# nothing that could forge a log field or a header.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{7,127}")


def install_request_ids(app: Flask) -> None:
    # First of the before-request hooks, so a request refused by another (a rate limit) has
    # its id too.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign)
    app.after_request(_answer_with_id)


def current_request_id() -> str | None:
    """The request's id, or None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        _assign()
    return str(g.request_id)


def _assign() -> None:
    offered = request.headers.get(HEADER, "")
    g.request_id = offered if _WELL_FORMED.fullmatch(offered) else _new_id()


def _new_id() -> str:
    """128 random bits in hex, as a UUID's: an id needs uniqueness, not secrecy, so from
    ``random`` (reseeded in each forked worker) without a system call per request."""
    return f"{random.getrandbits(128):032x}"


def _answer_with_id(response: Response) -> Response:
    response.headers[HEADER] = current_request_id() or ""
    return response
