"""Reading requests: JSON bodies and query strings through marshmallow schemas."""

from typing import Any

from flask import request
from marshmallow import Schema
from marshmallow import ValidationError

from app.core.errors import InvalidInputError
from app.core.errors import TokenInvalidError
from app.core.services.authentication import ClientInfo


def load_body(schema: Schema, *, message: str = "Validation failed.") -> dict[str, Any]:
    """The request's JSON object, loaded by ``schema``; unknown fields are an error.

    A non-JSON content type is a 415 and broken JSON a 400 (raised by Flask itself).
    """
    data = request.get_json()
    if not isinstance(data, dict):
        raise InvalidInputError("The request body must be a JSON object.")
    return _load(schema, data, message)


def load_query(schema: Schema, *, message: str = "Validation failed.") -> dict[str, Any]:
    return _load(schema, request.args.to_dict(), message)


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is no header.

    A header of another shape is an invalid token, not a missing one.
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenInvalidError()
    return token.strip()


def client_info() -> ClientInfo:
    return ClientInfo(user_agent=request.user_agent.string or None, ip=request.remote_addr)


def _load(schema: Schema, data: dict[str, Any], message: str) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        details = (
            error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        )
        raise InvalidInputError(message, details=details) from error
