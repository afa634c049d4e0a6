"""The OpenAPI 3 description of every mounted dialect, built from its marshmallow schemas."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema

from app.core.bounds import MAX_INTEGER

OPENAPI_VERSION = "3.0.3"
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "blogRefreshCookie": {"type": "apiKey", "in": "cookie", "name": "refreshToken"},
    "cmgRefreshCookie": {"type": "apiKey", "in": "cookie", "name": "refresh_token"},
}

SchemaRef = type[Schema] | dict[str, Any] | None


@dataclass(frozen=True)
class Operation:
    """One documented route: what it takes, what it answers, and how it is authenticated."""

    method: str
    path: str
    summary: str
    tag: str
    responses: dict[int, tuple[str, SchemaRef]]
    request: SchemaRef = None
    query: type[Schema] | None = None
    security: tuple[str, ...] = ()
    path_parameters: tuple[str | tuple[str, dict[str, Any]], ...] = field(default=())
    # OpenAPI links by response status: where a response's values can be used next.
    links: dict[int, dict[str, Any]] = field(default_factory=dict)
    # What a success answers with (errors are JSON whatever this says).
    success_media_type: str = "application/json"
    # The blog's native transport (X-Client-Type: native): what a success answers a native
    # app with instead, documented as the second of an anyOf.
    native_success: SchemaRef = None
    request_required: bool = True


def operation_id(tag: str, method: str, path: str) -> str:
    return f"{tag}_{method}_{path}".replace("/", "_").replace("-", "_").replace(".", "_")


def build_spec(app: Flask, operations: Iterable[Operation]) -> dict[str, Any]:
    spec = APISpec(
        title="authsvc",
        version="1.0.0",
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "One JWT auth core behind five documented APIs."},
    )
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    for path, methods in _by_path(operations).items():
        spec.path(path=path, operations=methods)
    return spec.to_dict()


def _by_path(operations: Iterable[Operation]) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation)
    return paths


def _operation(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": operation_id(op.tag, op.method, op.path),
        "responses": {
            str(status): _response(*_answer(op, status, answer), media_type=_media_type(op, status))
            | _location(status)
            | _links(op.links.get(status))
            for status, answer in op.responses.items()
        },
        "security": [{scheme: []} for scheme in op.security] if op.security else [],
    }
    parameters = [
        {"in": "path", "name": name, "required": True, "schema": schema}
        for name, schema in map(_path_parameter, op.path_parameters)
    ]
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    if op.native_success is not None:
        parameters.append(CLIENT_TYPE_PARAMETER)
    if parameters:
        spec["parameters"] = parameters
    if op.request is not None:
        spec["requestBody"] = {"required": op.request_required, "content": _json(op.request)}
    return spec


CLIENT_TYPE_PARAMETER = {
    "in": "header",
    "name": "X-Client-Type",
    "required": False,
    "description": "native: the refresh token travels in JSON bodies (refreshToken), never in "
    "a cookie; absent or browser: the HttpOnly cookie",
    "schema": {"type": "string", "enum": ["native", "browser"]},
}


def _answer(op: Operation, status: int, answer: tuple[str, SchemaRef]) -> tuple[str, SchemaRef]:
    """A success of an operation with a native variant: either shape, by X-Client-Type."""
    description, schema = answer
    if op.native_success is None or not 200 <= status < 300 or schema is None:
        return answer
    if op.native_success is schema:
        return f"{description.rstrip('.')}. With X-Client-Type: native, no cookie.", schema
    native = "With X-Client-Type: native, refreshToken is in the body and no cookie is set."
    # anyOf: the native shape is the browser's with one more field, so both would match.
    return f"{description.rstrip('.')}. {native}", {"anyOf": [schema, op.native_success]}


def _path_parameter(parameter: str | tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A name alone is a database id; a (name, schema) pair says its own schema."""
    if isinstance(parameter, str):
        return parameter, {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER}
    return parameter


def _links(links: dict[str, Any] | None) -> dict[str, Any]:
    return {"links": links} if links else {}


def _media_type(op: Operation, status: int) -> str:
    return op.success_media_type if 200 <= status < 300 else "application/json"


def _response(
    description: str, schema: SchemaRef, *, media_type: str = "application/json"
) -> dict[str, Any]:
    content = {"content": {media_type: {"schema": schema}}} if schema else {}
    return {"description": description, **content}


def _location(status: int) -> dict[str, Any]:
    """A redirect's answer is its Location header; it has no body."""
    if not 300 <= status < 400:
        return {}
    return {"headers": {"Location": {"description": "Where to", "schema": {"type": "string"}}}}


def _json(schema: SchemaRef) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _schema_name(schema: Any) -> str:
    """Dialect-qualified names, so blog's and cmg's LoginSchema stay apart."""
    cls = schema if isinstance(schema, type) else type(schema)
    dialect = cls.__module__.split(".")[-2] if cls.__module__.startswith("app.api.") else ""
    words = "".join(part.title() for part in dialect.split("_"))
    return words + re.sub(r"Schema$", "", cls.__name__)
