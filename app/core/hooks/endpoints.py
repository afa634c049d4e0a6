"""Webhook endpoints: where events go, which ones, and the secret that signs them.

A secret is made here (``whsec_`` and 24 random bytes in base64, as Standard Webhooks
writes it), shown once, and stored sealed (app/core/secret_box.py, its own derived key). A
rotation makes a new one; the old one also signs for AUTH_WEBHOOK_SECRET_GRACE_SECONDS, so
a receiver can switch without losing a message.

Functions here never commit: the use cases that call them do (app/core/accounts/webhooks.py
for admins, the CLI).
"""

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import MultiFernet
from flask import current_app
from sqlalchemy import select

from app.core import clock
from app.core.bounds import can_be_row_id
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.hooks import transport
from app.core.hooks.events import ALL
from app.core.hooks.events import EVENT_TYPES
from app.core.models import WebhookEndpoint
from app.core.secret_box import purpose_fernet
from app.database import db

SECRET_PREFIX = "whsec_"  # noqa: S105 (Standard Webhooks' prefix)
SECRET_BYTES = 24
_SEAL_PURPOSE = "webhook secret"


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def add_endpoint(*, url: str, events: Sequence[str], description: str | None = None) -> NewEndpoint:
    """Caller commits. A new enabled endpoint with a new secret."""
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=checked_url(url),
        events=checked_events(events),
        description=description,
        enabled=True,
        sealed_secret=_seal(secret),
    )
    db.session.add(endpoint)
    return NewEndpoint(endpoint=endpoint, secret=secret)


def list_endpoints() -> Sequence[WebhookEndpoint]:
    return db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()


def find_endpoint(endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    endpoint = None
    if can_be_row_id(endpoint_id):
        query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
        endpoint = db.session.scalar(query.with_for_update() if for_update else query)
    if endpoint is None:
        raise NotFoundError("Webhook endpoint not found.")
    return endpoint


def change_endpoint(
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    events: Sequence[str] | None = None,
    enabled: bool | None = None,
    description: str | None = None,
) -> None:
    """Caller commits. Turning an endpoint on again forgets its failures."""
    if url is not None:
        endpoint.url = checked_url(url)
    if events is not None:
        endpoint.events = checked_events(events)
    if description is not None:
        endpoint.description = description
    if enabled is not None:
        endpoint.enabled = enabled
        if enabled:
            endpoint.failing_since = None
            endpoint.disabled_reason = None


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """Caller commits. A new secret; the old one signs too until the grace period ends."""
    secret = new_secret()
    grace = timedelta(seconds=current_app.config["AUTH_WEBHOOK_SECRET_GRACE_SECONDS"])
    endpoint.sealed_previous_secret = endpoint.sealed_secret
    endpoint.previous_secret_until = clock.utcnow() + grace
    endpoint.sealed_secret = _seal(secret)
    return secret


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign a message to ``endpoint`` now: its own, and the previous one
    during a rotation's grace period."""
    found = [_fernet().decrypt(endpoint.sealed_secret.encode()).decode()]
    until = endpoint.previous_secret_until
    if endpoint.sealed_previous_secret and until is not None and until > clock.utcnow():
        found.append(_fernet().decrypt(endpoint.sealed_previous_secret.encode()).decode())
    return found


def reseal_all() -> int:
    """Seal every stored secret again with the first key (``flask mfa reencrypt``)."""
    fernet = _fernet()
    found = list_endpoints()
    for endpoint in found:
        endpoint.sealed_secret = fernet.rotate(endpoint.sealed_secret.encode()).decode()
        if endpoint.sealed_previous_secret:
            previous = endpoint.sealed_previous_secret.encode()
            endpoint.sealed_previous_secret = fernet.rotate(previous).decode()
    db.session.commit()
    return len(found)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def checked_url(url: str) -> str:
    """The URL, if the service may send requests to it (app/core/hooks/transport.py)."""
    try:
        target = transport.parse_url(url)
        transport.checked_address(target, allow_private=allow_private())
    except transport.UnsafeUrlError as error:
        raise InvalidInputError(str(error), details={"url": [str(error)]}) from error
    return url


def checked_events(events: Sequence[str]) -> list[str]:
    unknown = sorted(set(events) - {*EVENT_TYPES, ALL})
    if unknown or not events:
        message = "Name at least one event: " + ", ".join((ALL, *EVENT_TYPES)) + "."
        raise InvalidInputError(message, details={"events": [message]})
    return sorted(set(events))


def allow_private() -> bool:
    return bool(current_app.config["AUTH_WEBHOOK_ALLOW_PRIVATE"])


def _seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode("ascii")


def _fernet() -> MultiFernet:
    return purpose_fernet(current_app.config["AUTH_MFA_ENCRYPTION_KEY"], _SEAL_PURPOSE)
