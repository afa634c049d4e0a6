"""API clients of the machine-to-machine (client-credentials) flow."""

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy import update

from app.core import attempts
from app.core import roles
from app.core.audit import audit
from app.core.errors import ConflictError
from app.core.errors import InvalidClientCredentialsError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.errors import TokenRevokedError
from app.core.factors import step_up
from app.core.models import ApiClient
from app.core.models import RevokedToken
from app.core.passwords.security import client_key_matches
from app.core.passwords.security import generate_client_key
from app.core.passwords.security import hash_client_key
from app.core.sessions.callers import Caller
from app.core.tokens.tokens import decode_client_token
from app.core.tokens.tokens import mint_client_token
from app.core.tokens.tokens import policy_for
from app.database import db

_CLIENT_NAME = re.compile(r"^\S.{0,149}$")
# Compared against when the client id is unknown, so both failures do the same work.
_UNKNOWN_CLIENT_HASH = hash_client_key(secrets.token_hex(32))


@dataclass(frozen=True)
class NewClient:
    """A client just created; ``client_key`` is shown this once and stored only hashed."""

    client_id: str
    client_key: str
    name: str


@dataclass(frozen=True)
class CallingClient:
    """The active client behind a client token, as read for a request (never its key hash)."""

    id: int
    client_id: str
    name: str


@dataclass(frozen=True)
class ClientToken:
    access_token: str
    expires_in: int


def create_client(*, caller: Caller | None, name: str) -> NewClient:
    """A new client (an admin's, after a step-up, or the CLI's with no caller)."""
    step_up.require_admin(caller=caller)
    name = name.strip()
    if not _CLIENT_NAME.match(name):
        raise InvalidInputError("A client name is 1 to 150 characters.")
    key = generate_client_key()
    client = ApiClient(client_id=secrets.token_hex(16), name=name, key_hash=hash_client_key(key))
    db.session.add(client)
    db.session.commit()
    step_up.record_admin_change(caller=caller, event="client_created", client_id=client.client_id)
    return NewClient(client_id=client.client_id, client_key=key, name=client.name)


def list_clients(*, actor: roles.Actor | None) -> list[ApiClient]:
    """Every client, newest first (never a key)."""
    if actor is not None:
        roles.require_role(actor, roles.ADMIN)
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.id.desc())))


def rotate_client_key(*, caller: Caller | None, client_id: str) -> NewClient:
    """A new key for an active client, shown this once; the old key and every token minted
    with it stop working at once."""
    step_up.require_admin(caller=caller)
    client = _client(client_id, lock=True)
    key = generate_client_key()
    # The version is counted up by the database, in the statement that replaces the key:
    # two rotations at once each get a version of their own (SQLite takes no row lock, and
    # an ORM write of a version read earlier would give both the same one, so a token of
    # the first new key would outlive the second rotation).
    rotated = db.session.execute(
        update(ApiClient)
        .where(ApiClient.id == client.id, ApiClient.is_active.is_(True))
        .values(key_hash=hash_client_key(key), key_version=ApiClient.key_version + 1)
        .returning(ApiClient.key_version)
        .execution_options(synchronize_session=False)
    ).scalar()
    if rotated is None:
        db.session.rollback()
        raise ConflictError("A revoked client gets no new key.")
    db.session.commit()
    step_up.record_admin_change(
        caller=caller, event="client_key_rotated", client_id=client.client_id
    )
    return NewClient(client_id=client.client_id, client_key=key, name=client.name)


def revoke_client(*, caller: Caller | None, client_id: str) -> None:
    """End a client for good: its key and every token of it stop working at once."""
    step_up.require_admin(caller=caller)
    client = _client(client_id, lock=True)
    client.is_active = False
    db.session.commit()
    step_up.record_admin_change(caller=caller, event="client_revoked", client_id=client.client_id)


def _client(client_id: str, *, lock: bool = False) -> ApiClient:
    query = select(ApiClient).where(ApiClient.client_id == client_id[:64])
    client = db.session.scalar(query.with_for_update() if lock else query)
    if client is None:
        raise NotFoundError("Client not found.")
    return client


def authenticate_client(*, client_id: str, client_key: str) -> ClientToken:
    """A client token for valid credentials; an unknown id and a wrong key fail alike."""
    attempt = attempts.reserve_credential_check(account=f"client:{client_id[:64]}")
    client = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    key_matches = client_key_matches(
        client_key, client.key_hash if client else _UNKNOWN_CLIENT_HASH
    )
    if client is None or not key_matches or not client.is_active:
        audit.record(
            event="client_auth", outcome="failure", client_id=client.client_id if client else None
        )
        raise InvalidClientCredentialsError()
    attempt.succeeded()
    audit.record(event="client_auth", outcome="success", client_id=client.client_id)
    ttl = policy_for("CLIENT").access_ttl
    return ClientToken(
        access_token=mint_client_token(client=client, ttl=ttl),
        expires_in=int(ttl.total_seconds()),
    )


def verify_client_token(*, token: str) -> CallingClient:
    """The active client a client token names, unless the token was revoked."""
    claims = decode_client_token(token)
    token_revoked = select(RevokedToken.jti).where(RevokedToken.jti == claims.jti).exists()
    client = db.session.execute(
        select(ApiClient.id, ApiClient.client_id, ApiClient.name).where(
            ApiClient.client_id == claims.client_id,
            ApiClient.is_active.is_(True),
            ApiClient.key_version == claims.key_version,
            ~token_revoked,
        )
    ).one_or_none()
    if client is None:
        raise TokenRevokedError()
    return CallingClient(*client)
