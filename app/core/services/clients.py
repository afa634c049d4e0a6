"""API clients of the machine-to-machine (client-credentials) flow."""

import re
import secrets
from dataclasses import dataclass

from app.core.errors import InvalidInputError
from app.core.models import ApiClient
from app.core.security import generate_client_key
from app.core.security import hash_client_key
from app.extensions import db

_CLIENT_NAME = re.compile(r"^\S.{0,149}$")


@dataclass(frozen=True)
class NewClient:
    """A client just created; ``client_key`` is shown this once and stored only hashed."""

    client_id: str
    client_key: str
    name: str


def create_client(*, name: str) -> NewClient:
    name = name.strip()
    if not _CLIENT_NAME.match(name):
        raise InvalidInputError("A client name is 1 to 150 characters.")
    key = generate_client_key()
    client = ApiClient(client_id=secrets.token_hex(16), name=name, key_hash=hash_client_key(key))
    db.session.add(client)
    db.session.commit()
    return NewClient(client_id=client.client_id, client_key=key, name=client.name)
