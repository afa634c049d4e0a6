"""Load and dump schemas of the blog API's webhook endpoints (admins)."""

from types import SimpleNamespace
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import pre_dump
from marshmallow import validate
from marshmallow import validates_schema

from app.api.blog.schemas import PageQuerySchema
from app.api.blog.schemas import UserPageSchema
from app.api.fields import JsonBoolean
from app.api.fields import Timestamp


def _events(**options: Any) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        validate=validate.Length(min=1, max=50),
        metadata={"description": 'Event types (user.created, ...), or ["*"] for all'},
        **options,
    )


def _url(**options: Any) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "http(s); its host must resolve to public addresses only"},
        **options,
    )


def _description() -> fields.String:
    return fields.String(validate=validate.Length(max=255))


class WebhookCreateSchema(Schema):
    url = _url(required=True)
    events = _events(required=True)
    description = _description()


class WebhookUpdateSchema(Schema):
    url = _url()
    events = _events()
    enabled = JsonBoolean()
    description = _description()

    @validates_schema
    def require_a_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Provide at least one of: url, events, enabled, description.")


class WebhookSchema(Schema):
    id = fields.Function(lambda endpoint: str(endpoint.id))
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String(allow_none=True)
    enabled = JsonBoolean()
    disabled_reason = fields.String(
        data_key="disabledReason",
        allow_none=True,
        metadata={"description": "failing: every delivery failed for too long"},
    )
    failing_since = Timestamp(data_key="failingSince", allow_none=True)
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")


class WebhookCreatedSchema(WebhookSchema):
    """A new endpoint, or one with a new secret: the endpoint's fields and the secret."""

    secret = fields.String(
        metadata={"description": "whsec_...: shown once; verify signatures with it"}
    )

    @pre_dump
    def flatten(self, created: Any, **_kwargs: Any) -> SimpleNamespace:
        names = [field.attribute or name for name, field in WebhookSchema().fields.items()]
        shown = {name: getattr(created.endpoint, name) for name in names}
        return SimpleNamespace(**shown, secret=created.secret)


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookSchema))


class DeliverySchema(Schema):
    id = fields.Function(lambda delivery: str(delivery.id))
    webhook_id = fields.String(
        attribute="message_id",
        data_key="webhookId",
        metadata={"description": "The webhook-id header, the same on every attempt"},
    )
    event_type = fields.String(data_key="eventType")
    status = fields.String(attribute="state", metadata={"description": "pending, sent or failed"})
    attempts = fields.Integer()
    last_status = fields.Integer(
        data_key="lastResponseCode",
        allow_none=True,
        metadata={"description": "The receiver's last HTTP status; null when none came"},
    )
    last_error = fields.String(data_key="lastError", allow_none=True)
    last_attempt_at = Timestamp(data_key="lastAttemptAt", allow_none=True)
    next_attempt_at = Timestamp(data_key="nextAttemptAt")
    created_at = Timestamp(data_key="createdAt")
    delivered_at = Timestamp(data_key="deliveredAt", allow_none=True)


class DeliveryPageSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema))
    pagination = fields.Method("dump_pagination")

    def dump_pagination(self, page: Any) -> dict[str, int]:
        return UserPageSchema().dump_pagination(page)


DeliveryQuerySchema = PageQuerySchema
