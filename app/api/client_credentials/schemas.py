"""Load and dump schemas of the client-credentials API."""

from typing import Any

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate


class CredentialsSchema(Schema):
    client_id = fields.String(
        required=True, data_key="clientId", validate=validate.Length(min=1, max=64)
    )
    client_key = fields.String(
        required=True,
        data_key="clientKey",
        load_only=True,
        validate=validate.Length(min=1, max=128),
    )


class AuthenticatedSchema(Schema):
    message = fields.Constant("Authenticated successfully.")
    data = fields.Method("dump_data")

    def dump_data(self, token: Any) -> dict[str, str]:
        return {"accessToken": token.access_token, "expiresIn": duration(token.expires_in)}


class VerifiedSchema(Schema):
    message = fields.Constant("Authenticated.")
    data = fields.Method("dump_data")

    def dump_data(self, client: Any) -> dict[str, str]:
        return {"clientId": client.client_id, "name": client.name}


def duration(seconds: int) -> str:
    """A lifetime as the document writes it: ``1h``, ``15m``, ``7d``, ``90s``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class ErrorSchema(Schema):
    message = fields.String(required=True)
    errors = fields.Dict()
