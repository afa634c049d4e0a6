"""Admins' use cases for webhook endpoints (app/core/hooks/): each change after a recent
proof of who the admin is, as for a change to another account (an endpoint receives every
user's public fields). No caller is the CLI: the operator of the host."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.core import roles
from app.core.audit import audit
from app.core.bounds import can_be_row_id
from app.core.errors import NotFoundError
from app.core.factors import step_up
from app.core.hooks import delivery
from app.core.hooks import endpoints
from app.core.hooks.endpoints import NewEndpoint
from app.core.models import WebhookDelivery
from app.core.models import WebhookEndpoint
from app.core.sessions.callers import Caller
from app.database import db
from app.database import one_page


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: Sequence[WebhookDelivery]
    page: int
    per_page: int
    total: int


def create_endpoint(
    *, caller: Caller | None, url: str, events: Sequence[str], description: str | None = None
) -> NewEndpoint:
    step_up.require_admin(caller=caller)
    created = endpoints.add_endpoint(url=url, events=events, description=description)
    db.session.commit()
    _record(caller, "webhook_created", created.endpoint)
    return created


def list_endpoints(*, caller: Caller | None) -> Sequence[WebhookEndpoint]:
    _require_admin_role(caller)
    return endpoints.list_endpoints()


def get_endpoint(*, caller: Caller | None, endpoint_id: int) -> WebhookEndpoint:
    _require_admin_role(caller)
    return endpoints.find_endpoint(endpoint_id)


def update_endpoint(*, caller: Caller | None, endpoint_id: int, **changes: Any) -> WebhookEndpoint:
    """Change the URL, the events, the description or the enabled flag."""
    step_up.require_admin(caller=caller)
    endpoint = endpoints.find_endpoint(endpoint_id, for_update=True)
    endpoints.change_endpoint(endpoint, **changes)
    db.session.commit()
    _record(caller, "webhook_updated", endpoint, fields=sorted(changes))
    return endpoint


def delete_endpoint(*, caller: Caller | None, endpoint_id: int) -> None:
    """Delete the endpoint and its deliveries, sent or not."""
    step_up.require_admin(caller=caller)
    endpoint = endpoints.find_endpoint(endpoint_id, for_update=True)
    db.session.delete(endpoint)
    db.session.commit()
    _record(caller, "webhook_deleted", endpoint)


def rotate_secret(*, caller: Caller | None, endpoint_id: int) -> NewEndpoint:
    step_up.require_admin(caller=caller)
    endpoint = endpoints.find_endpoint(endpoint_id, for_update=True)
    secret = endpoints.rotate_secret(endpoint)
    db.session.commit()
    _record(caller, "webhook_secret_rotated", endpoint)
    return NewEndpoint(endpoint=endpoint, secret=secret)


def list_deliveries(
    *, caller: Caller | None, endpoint_id: int, page: int, per_page: int
) -> DeliveryPage:
    """One page of the endpoint's deliveries, newest first."""
    _require_admin_role(caller)
    endpoint = endpoints.find_endpoint(endpoint_id)
    found, total = one_page(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc()),
        page=page,
        per_page=per_page,
    )
    return DeliveryPage(deliveries=found, page=page, per_page=per_page, total=total)


def retry_delivery(*, caller: Caller | None, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now (a failed one, or one waiting for its next try)."""
    step_up.require_admin(caller=caller)
    found = None
    # Both ids are checked: one past the database's integer range is an error there (a 500
    # on PostgreSQL), not a row that is missing.
    if can_be_row_id(delivery_id) and can_be_row_id(endpoint_id):
        found = db.session.scalar(
            select(WebhookDelivery).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
            )
        )
    if found is None:
        raise NotFoundError("Delivery not found.")
    delivery.retry_delivery(found)
    db.session.commit()
    return found


def _require_admin_role(caller: Caller | None) -> None:
    if caller is not None:
        roles.require_role(caller.user, roles.ADMIN)


def _record(caller: Caller | None, event: str, endpoint: WebhookEndpoint, **details: Any) -> None:
    audit.record(
        event=event,
        outcome="success",
        user_id=None if caller is None else caller.user.id,
        details={"endpoint": endpoint.id, **details},
    )
