"""``flask webhooks add|list|remove``: webhook endpoints for operators, printing the JSON the
API answers with (app/api/blog/webhook_views.py)."""

import json

import click
from flask.cli import AppGroup

from app.api.blog.webhook_schemas import WebhookCreatedSchema
from app.api.blog.webhook_schemas import WebhookListSchema
from app.core.accounts import webhooks
from app.core.errors import AuthServiceError
from app.core.hooks.events import ALL
from app.core.hooks.events import EVENT_TYPES

webhooks_cli = AppGroup("webhooks", help="Manage webhook endpoints (events sent out).")


@webhooks_cli.command("add")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    type=click.Choice([ALL, *EVENT_TYPES]),
    help="Repeat for several; * for all.",
)
@click.option("--description")
def add_webhook(url: str, events: tuple[str, ...], description: str | None) -> None:
    """Send EVENTs to URL; prints the endpoint with its secret (shown once)."""
    try:
        created = webhooks.create_endpoint(
            caller=None, url=url, events=list(events), description=description
        )
    except AuthServiceError as error:
        raise click.ClickException(error.message) from error
    click.echo(json.dumps(WebhookCreatedSchema().dump(created)))


@webhooks_cli.command("list")
def list_webhooks() -> None:
    """Print every endpoint as JSON (never a secret)."""
    found = webhooks.list_endpoints(caller=None)
    click.echo(json.dumps(WebhookListSchema().dump({"webhooks": found})))


@webhooks_cli.command("remove")
@click.argument("endpoint_id", type=int)
def remove_webhook(endpoint_id: int) -> None:
    """Delete an endpoint and its deliveries."""
    try:
        webhooks.delete_endpoint(caller=None, endpoint_id=endpoint_id)
    except AuthServiceError as error:
        raise click.ClickException(error.message) from error
    click.echo(json.dumps({"message": "Webhook deleted"}))
