"""How a blog client holds its refresh token.

A browser keeps it in the HttpOnly ``refreshToken`` cookie. A native app says so with the
header ``X-Client-Type: native`` and carries it in JSON bodies: every endpoint that opens or
rotates a session answers with ``refreshToken`` next to ``accessToken`` and sets no cookie,
and refresh and logout read ``{"refreshToken": "..."}``. A request that brings the token
both ways is refused: a client is one or the other, and a token in a body that also carries
a cookie means the client is confused about which session it holds.
"""

from dataclasses import replace
from typing import Any

from flask import Response
from flask import jsonify
from flask import request
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from app.api.cookies import attach_refresh_cookie
from app.api.cookies import clear_refresh_cookie
from app.api.cookies import read_cookie
from app.api.requests import load_body
from app.core.audit.origin import BROWSER
from app.core.audit.origin import NATIVE
from app.core.audit.origin import ClientInfo
from app.core.audit.origin import current_client
from app.core.errors import InvalidInputError
from app.core.tokens.tokens import IssuedTokens

CLIENT_TYPE_HEADER = "X-Client-Type"
REFRESH_COOKIE = "refreshToken"
COOKIE = {"name": REFRESH_COOKIE, "path": "/api/v1/auth"}
REFRESH_TOKEN_MAX_LENGTH = 4096


class RefreshTokenBodySchema(Schema):
    refresh_token = fields.String(
        required=True,
        data_key="refreshToken",
        validate=validate.Length(min=1, max=REFRESH_TOKEN_MAX_LENGTH),
    )


REFRESH_TOKEN_BODY_SCHEMA = RefreshTokenBodySchema()


def is_native() -> bool:
    """Whether the request says it comes from a native app; any value but ``native`` or
    ``browser`` is refused, so a typo never silently sets a cookie the app cannot read."""
    value = request.headers.get(CLIENT_TYPE_HEADER)
    if value is None:
        return False
    kind = value.strip().lower()
    if kind not in (NATIVE, BROWSER):
        raise InvalidInputError(
            "X-Client-Type must be native or browser.",
            details={CLIENT_TYPE_HEADER: ["Must be one of: native, browser."]},
        )
    return kind == NATIVE


def session_client(device_name: str | None = None, *, app_only: bool = False) -> ClientInfo:
    """The client a new session is kept for: where it comes from, which transport it uses,
    and the device name it gave. ``app_only``: an endpoint made for native apps (the
    ID-token and one-time-code exchanges), which always answers in the body."""
    kind = NATIVE if app_only or is_native() else BROWSER
    return replace(current_client(), client_type=kind, device_name=device_name)


def tokens_response(body: dict[str, Any], tokens: IssuedTokens, status: int = 200) -> Response:
    """``body`` with the session's refresh token: in the body for a native app, in the
    cookie for a browser."""
    if is_native():
        response = jsonify({**body, "refreshToken": tokens.refresh_token})
    else:
        response = attach_refresh_cookie(jsonify(body), tokens, **COOKIE)
    response.status_code = status
    return response


def presented_refresh_token() -> str | None:
    """The refresh token the client holds (the body's for a native app, else the cookie's);
    None when it brought none. Both at once, or a body token without the native header, is
    a 400."""
    cookie = read_cookie(REFRESH_COOKIE)
    if is_native():
        body = _body_token()
        if body is not None and cookie is not None:
            raise _both_ways()
        return body
    if _peeked_body_token() is not None:
        if cookie is not None:
            raise _both_ways()
        raise InvalidInputError(
            "A refresh token in the body needs the header X-Client-Type: native.",
            details={CLIENT_TYPE_HEADER: ["Send native with a refreshToken in the body."]},
        )
    return cookie


def required_refresh_token(token: str | None) -> str:
    if token is not None:
        return token
    if is_native():
        raise InvalidInputError(
            "Validation failed.", details={"refreshToken": ["Missing data for required field."]}
        )
    raise InvalidInputError(
        "Refresh token cookie is missing",
        details={REFRESH_COOKIE: ["Missing refresh token cookie."]},
    )


def forget_session(response: Response) -> Response:
    """Tell a browser to drop the cookie of a session that ended; a native app drops its
    own token."""
    if not is_native():
        clear_refresh_cookie(response, **COOKIE)
    return response


def _body_token() -> str | None:
    """A native request's ``{"refreshToken": ...}``; None when it has no body at all."""
    if not request.content_length and not request.is_json:
        return None
    token: str = load_body(REFRESH_TOKEN_BODY_SCHEMA)["refresh_token"]
    return token


def _peeked_body_token() -> str | None:
    """The body's refreshToken on a browser request, whose body is otherwise ignored."""
    data = request.get_json(silent=True) if request.is_json else None
    if isinstance(data, dict) and isinstance(data.get("refreshToken"), str):
        return str(data["refreshToken"])
    return None


def _both_ways() -> InvalidInputError:
    return InvalidInputError(
        "Send the refresh token in the cookie or in the body, not both.",
        details={"refreshToken": ["Sent both in a cookie and in the body."]},
    )
