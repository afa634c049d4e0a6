"""The refresh-token cookie: HttpOnly, SameSite=Strict, scoped to one dialect's path."""

from datetime import datetime
from typing import TypeVar

from flask import current_app
from flask import request
from werkzeug.wrappers import Response

from app.core import clock
from app.core.tokens.tokens import IssuedTokens


def set_refresh_cookie(
    response: Response, *, name: str, path: str, token: str, expires_at: datetime
) -> None:
    response.set_cookie(
        name,
        token,
        max_age=max(0, int((expires_at - clock.utcnow()).total_seconds())),
        path=path,
        secure=current_app.config["AUTH_COOKIE_SECURE"],
        httponly=True,
        samesite="Strict",
    )


AnyResponse = TypeVar("AnyResponse", bound=Response)


def attach_refresh_cookie(
    response: AnyResponse, tokens: IssuedTokens, *, name: str, path: str
) -> AnyResponse:
    """Set the cookie that carries ``tokens``' refresh token; return the response."""
    assert tokens.refresh_token and tokens.refresh_expires_at
    set_refresh_cookie(
        response,
        name=name,
        path=path,
        token=tokens.refresh_token,
        expires_at=tokens.refresh_expires_at,
    )
    return response


def clear_refresh_cookie(response: Response, *, name: str, path: str) -> None:
    response.delete_cookie(
        name,
        path=path,
        secure=current_app.config["AUTH_COOKIE_SECURE"],
        httponly=True,
        samesite="Strict",
    )


def read_cookie(name: str) -> str | None:
    value = request.cookies.get(name, "").strip()
    return value or None
