"""Reading requests: JSON bodies and query strings through marshmallow schemas."""

from typing import Any

from flask import request
from marshmallow import Schema
from marshmallow import ValidationError

from app.api.errors import MalformedRequestError
from app.core.errors import InvalidInputError
from app.core.errors import TokenInvalidError
from app.core.errors import TokenMissingError
from app.core.identities import is_storable


def load_body(schema: Schema, *, message: str = "Validation failed.") -> dict[str, Any]:
    """The request's JSON object, loaded by ``schema``; unknown fields are an error.

    A non-JSON content type is a 415 and broken JSON a 400 (raised by Flask itself).
    """
    try:
        data = request.get_json()
    except RecursionError as error:
        raise MalformedRequestError("The request body is nested too deeply.") from error
    if not isinstance(data, dict):
        raise InvalidInputError("The request body must be a JSON object.")
    _refuse_unstorable_text(data)
    return _load(schema, data, message)


def load_optional_body(schema: Schema) -> dict[str, Any]:
    """``load_body``, or the schema's defaults when the request has no body at all (a
    DELETE whose fields are all optional)."""
    if not request.content_length and not request.is_json:
        return _load(schema, {}, "Validation failed.")
    return load_body(schema)


def load_query(schema: Schema, *, message: str = "Validation failed.") -> dict[str, Any]:
    query = request.args.to_dict()
    _refuse_unstorable_text(query)
    return _load(schema, query, message)


def preferred_language() -> str | None:
    """The language the client asks for first (Accept-Language), as it wrote it."""
    return request.accept_languages.best


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


def required_bearer_token() -> str:
    """The bearer token of the request; TokenMissingError without an Authorization header."""
    token = bearer_token()
    if token is None:
        raise TokenMissingError()
    return token


def _refuse_unstorable_text(data: Any) -> None:
    """NUL bytes and lone surrogates cannot be stored (PostgreSQL refuses both) and are
    never part of a real name, email or password: refuse them anywhere in the input."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not is_storable(item):
            raise InvalidInputError("The request contains characters that are not allowed.")


def _load(schema: Schema, data: dict[str, Any], message: str) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as error:
        details = (
            error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        )
        raise InvalidInputError(message, details=details) from error
