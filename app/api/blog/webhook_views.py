"""The blog API's webhook endpoints, for admins: manage where events go, and see and retry
their deliveries."""

from flask import Response
from flask import jsonify

from app.api.auth import admin_endpoint
from app.api.auth import current_caller
from app.api.blog import bp
from app.api.blog.webhook_schemas import DeliveryPageSchema
from app.api.blog.webhook_schemas import DeliveryQuerySchema
from app.api.blog.webhook_schemas import DeliverySchema
from app.api.blog.webhook_schemas import WebhookCreatedSchema
from app.api.blog.webhook_schemas import WebhookCreateSchema
from app.api.blog.webhook_schemas import WebhookListSchema
from app.api.blog.webhook_schemas import WebhookSchema
from app.api.blog.webhook_schemas import WebhookUpdateSchema
from app.api.requests import load_body
from app.api.requests import load_query
from app.core.accounts import webhooks

DELIVERY_PAGE_SCHEMA = DeliveryPageSchema()
DELIVERY_QUERY_SCHEMA = DeliveryQuerySchema()
DELIVERY_SCHEMA = DeliverySchema()
WEBHOOK_CREATE_SCHEMA = WebhookCreateSchema()
WEBHOOK_CREATED_SCHEMA = WebhookCreatedSchema()
WEBHOOK_LIST_SCHEMA = WebhookListSchema()
WEBHOOK_SCHEMA = WebhookSchema()
WEBHOOK_UPDATE_SCHEMA = WebhookUpdateSchema()


@bp.post("/webhooks")
@admin_endpoint
def create_webhook() -> tuple[Response, int]:
    """Admin only: a new endpoint for the named events; its secret is shown this once."""
    created = webhooks.create_endpoint(caller=current_caller, **load_body(WEBHOOK_CREATE_SCHEMA))
    return jsonify(WEBHOOK_CREATED_SCHEMA.dump(created)), 201


@bp.get("/webhooks")
@admin_endpoint
def list_webhooks() -> Response:
    """Admin only: every endpoint (never a secret)."""
    found = webhooks.list_endpoints(caller=current_caller)
    return jsonify(WEBHOOK_LIST_SCHEMA.dump({"webhooks": found}))


@bp.get("/webhooks/<int:endpoint_id>")
@admin_endpoint
def get_webhook(endpoint_id: int) -> Response:
    """Admin only: one endpoint."""
    endpoint = webhooks.get_endpoint(caller=current_caller, endpoint_id=endpoint_id)
    return jsonify(WEBHOOK_SCHEMA.dump(endpoint))


@bp.patch("/webhooks/<int:endpoint_id>")
@admin_endpoint
def update_webhook(endpoint_id: int) -> Response:
    """Admin only: change the URL, the events, the description or whether it is enabled."""
    changes = load_body(WEBHOOK_UPDATE_SCHEMA)
    endpoint = webhooks.update_endpoint(caller=current_caller, endpoint_id=endpoint_id, **changes)
    return jsonify(WEBHOOK_SCHEMA.dump(endpoint))


@bp.delete("/webhooks/<int:endpoint_id>")
@admin_endpoint
def delete_webhook(endpoint_id: int) -> Response:
    """Admin only: delete the endpoint with its deliveries."""
    webhooks.delete_endpoint(caller=current_caller, endpoint_id=endpoint_id)
    return jsonify({"message": "Webhook deleted"})


@bp.post("/webhooks/<int:endpoint_id>/rotate-secret")
@admin_endpoint
def rotate_webhook_secret(endpoint_id: int) -> Response:
    """Admin only: a new secret, shown this once; the old one also signs for a grace period."""
    rotated = webhooks.rotate_secret(caller=current_caller, endpoint_id=endpoint_id)
    return jsonify(WEBHOOK_CREATED_SCHEMA.dump(rotated))


@bp.get("/webhooks/<int:endpoint_id>/deliveries")
@admin_endpoint
def list_deliveries(endpoint_id: int) -> Response:
    """Admin only: the endpoint's deliveries, newest first (``page``, ``limit``)."""
    page = webhooks.list_deliveries(
        caller=current_caller, endpoint_id=endpoint_id, **load_query(DELIVERY_QUERY_SCHEMA)
    )
    return jsonify(DELIVERY_PAGE_SCHEMA.dump(page))


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/retry")
@admin_endpoint
def retry_delivery(endpoint_id: int, delivery_id: int) -> tuple[Response, int]:
    """Admin only: send a delivery again now."""
    found = webhooks.retry_delivery(
        caller=current_caller, endpoint_id=endpoint_id, delivery_id=delivery_id
    )
    return jsonify(DELIVERY_SCHEMA.dump(found)), 202
