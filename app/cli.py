"""The operators' commands: ``flask --app wsgi
users|roles|clients|whitelist|tokens|mfa|keys|webhooks``."""

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import ParamSpec
from typing import TypeVar

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from app.api.reference import openapi_document
from app.core import roles
from app.core.accounts import accounts
from app.core.accounts import administration
from app.core.accounts import clients
from app.core.accounts import role_administration
from app.core.accounts import whitelist
from app.core.audit import audit
from app.core.bounds import MAX_INTEGER
from app.core.errors import AuthServiceError
from app.core.factors import mfa_lock
from app.core.factors import second_factor
from app.core.factors import totp
from app.core.federation import oidc
from app.core.hooks import delivery
from app.core.hooks import endpoints
from app.core.mail import outbox
from app.core.mailbox import account_tokens
from app.core.sessions import sessions
from app.keys_cli import keys_cli
from app.user_import_cli import export_users
from app.user_import_cli import import_users
from app.webhooks_cli import webhooks_cli

P = ParamSpec("P")
R = TypeVar("R")

users_cli = AppGroup("users", help="Manage user accounts.")
roles_cli = AppGroup("roles", help="Manage roles and their permissions.")
clients_cli = AppGroup("clients", help="Manage machine-to-machine API clients.")
whitelist_cli = AppGroup("whitelist", help="Manage the admin registration whitelist.")
tokens_cli = AppGroup("tokens", help="Maintain sessions and token revocations.")
openapi_cli = AppGroup("openapi", help="The OpenAPI description of the mounted APIs.")
mfa_cli = AppGroup("mfa", help="Maintain the stored second factors.")


users_cli.add_command(import_users)
users_cli.add_command(export_users)


def register_cli(app: Flask) -> None:
    groups = (
        users_cli,
        roles_cli,
        clients_cli,
        whitelist_cli,
        tokens_cli,
        mfa_cli,
        openapi_cli,
        keys_cli,
        webhooks_cli,
    )
    for group in groups:
        app.cli.add_command(group)


def _one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A service error becomes ``Error: <message>`` and exit status 1."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AuthServiceError as error:
            raise click.ClickException(error.message) from error

    return run


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True, prompt=True, hide_input=True)
@click.option("--role", "role_names", multiple=True, help="Repeat for several; default: user.")
@click.option("--display-name")
@click.option(
    "--client-id", type=click.IntRange(0, MAX_INTEGER), help="The associated client/account id."
)
@_one_line_errors
def create_user(
    username: str,
    email: str,
    password: str,
    role_names: tuple[str, ...],
    display_name: str | None,
    client_id: int | None,
) -> None:
    """Create a user."""
    user = accounts.create_user(
        username=username,
        email=email,
        password=password,
        role_names=role_names or (roles.USER,),
        display_name=display_name,
        client_id=client_id,
        # The operator vouches for the address: an account made here can log in at once.
        email_verified=True,
    )
    click.echo(f"Created user {user.username} (id {user.id}) with roles {roles.role_names(user)}.")


def _user_id_of(identifier: str) -> int:
    user_id = accounts.find_user_id(identifier=identifier)
    if user_id is None:
        raise click.ClickException(f"No user {identifier!r}.")
    return user_id


@users_cli.command("reset-mfa")
@click.argument("identifier")
@_one_line_errors
def reset_mfa(identifier: str) -> None:
    """Remove every second factor of the user with this email or username (audited); the
    user then signs in with the password alone, and every session of theirs ends."""
    user_id = _user_id_of(identifier)
    second_factor.reset_factors(caller=None, user_id=user_id)
    click.echo(f"Removed the second factors of user {user_id}; their sessions are ended.")


@users_cli.command("unlock-mfa")
@click.argument("identifier")
@_one_line_errors
def unlock_mfa(identifier: str) -> None:
    """Unlock the second step of the user with this email or username, locked after too many
    wrong codes in a row (audited); their factors stay."""
    user_id = _user_id_of(identifier)
    mfa_lock.unlock(caller=None, user_id=user_id)
    click.echo(f"Unlocked the second step of user {user_id}.")


@users_cli.command("deactivate")
@click.argument("identifier")
@_one_line_errors
def deactivate_user(identifier: str) -> None:
    """Deactivate the user with this email or username: no sign-in, every session ends
    (never the last active admin)."""
    user_id = _user_id_of(identifier)
    administration.update_user(caller=None, user_id=user_id, is_active=False)
    click.echo(f"Deactivated user {user_id}; their sessions are ended.")


@users_cli.command("reactivate")
@click.argument("identifier")
@_one_line_errors
def reactivate_user(identifier: str) -> None:
    """Let a deactivated user sign in again."""
    user_id = _user_id_of(identifier)
    administration.update_user(caller=None, user_id=user_id, is_active=True)
    click.echo(f"Reactivated user {user_id}.")


@users_cli.command("set-roles")
@click.argument("identifier")
@click.argument("role_names", nargs=-1, required=True)
@_one_line_errors
def set_user_roles(identifier: str, role_names: tuple[str, ...]) -> None:
    """Give the user exactly these roles (e.g. ``user editor``); never leaves no active admin."""
    user_id = _user_id_of(identifier)
    user = administration.update_user(caller=None, user_id=user_id, role_names=role_names)
    click.echo(f"User {user_id} now has roles {roles.role_names(user)}.")


@users_cli.command("delete")
@click.argument("identifier")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_one_line_errors
def delete_user(identifier: str, yes: bool) -> None:
    """Delete the user with this email or username and everything of theirs (their audit
    events stay)."""
    user_id = _user_id_of(identifier)
    if not yes:
        click.confirm(f"Delete user {user_id} ({identifier})?", abort=True)
    administration.delete_user(caller=None, user_id=user_id)
    click.echo(f"Deleted user {user_id}.")


@users_cli.command("unlock")
@click.argument("identifier")
@_one_line_errors
def unlock_user(identifier: str) -> None:
    """Clear the user's failure budgets (in the shared rate-limit storage) and the lock on
    their second step; their factors stay."""
    user_id = _user_id_of(identifier)
    administration.unlock_user(caller=None, user_id=user_id)
    click.echo(f"Unlocked user {user_id}.")


@users_cli.command("end-sessions")
@click.argument("identifier")
@click.option("--session", "session_id", help="End only this session.")
@_one_line_errors
def end_user_sessions(identifier: str, session_id: str | None) -> None:
    """End every session of the user (or one, with --session): their tokens fail on their
    next use, everywhere."""
    user_id = _user_id_of(identifier)
    ended = administration.end_user_sessions(caller=None, user_id=user_id, session_id=session_id)
    click.echo(f"Ended {ended} sessions of user {user_id}.")


@roles_cli.command("create")
@click.argument("name")
@click.option("--permission", "permissions", multiple=True, help="Repeat for several.")
@_one_line_errors
def create_role(name: str, permissions: tuple[str, ...]) -> None:
    """Create a role; its permissions are granted to 'admin' too."""
    role = role_administration.create_role(caller=None, name=name, permissions=permissions)
    granted = ", ".join(p.name for p in role.permissions) or "no permissions"
    click.echo(f"Created role {role.name} ({granted}).")


@roles_cli.command("list")
def list_roles() -> None:
    """Print each role with its permissions."""
    for role in roles.all_roles():
        granted = ", ".join(p.name for p in role.permissions) or "no permissions"
        click.echo(f"{role.name} ({granted})")


@roles_cli.command("delete")
@click.argument("name")
@_one_line_errors
def delete_role(name: str) -> None:
    """Delete a role of your own; its holders lose it at once (user and admin stay)."""
    role_administration.delete_role(caller=None, name=name)
    click.echo(f"Deleted role {name}.")


@clients_cli.command("create")
@click.argument("name")
@_one_line_errors
def create_client(name: str) -> None:
    """Create an API client and print its credentials as JSON; the key is shown only once."""
    client = clients.create_client(caller=None, name=name)
    click.echo(json.dumps({"clientId": client.client_id, "clientKey": client.client_key}))


@clients_cli.command("list")
def list_clients() -> None:
    """Print every client as one JSON object per line (never a key)."""
    for client in clients.list_clients(actor=None):
        record = {
            "clientId": client.client_id,
            "name": client.name,
            "isActive": client.is_active,
            "keyVersion": client.key_version,
            "createdAt": client.created_at.isoformat(),
        }
        click.echo(json.dumps(record))


@clients_cli.command("rotate")
@click.argument("client_id")
@_one_line_errors
def rotate_client_key(client_id: str) -> None:
    """Give CLIENT_ID a new key, printed once as JSON; the old key and its tokens stop."""
    client = clients.rotate_client_key(caller=None, client_id=client_id)
    click.echo(json.dumps({"clientId": client.client_id, "clientKey": client.client_key}))


@clients_cli.command("revoke")
@click.argument("client_id")
@_one_line_errors
def revoke_client(client_id: str) -> None:
    """Revoke CLIENT_ID: its key and every token of it stop working at once."""
    clients.revoke_client(caller=None, client_id=client_id)
    click.echo(f"Revoked client {client_id}.")


@whitelist_cli.command("add")
@click.argument("email")
@_one_line_errors
def whitelist_add(email: str) -> None:
    """Allow EMAIL to register as admin."""
    entry = whitelist.add_email(caller=None, email=email)
    click.echo(f"Added {entry.email} to the admin whitelist.")


@whitelist_cli.command("remove")
@click.argument("email")
@_one_line_errors
def whitelist_remove(email: str) -> None:
    """Stop EMAIL from registering as admin (existing admins keep their role)."""
    whitelist.remove_email(caller=None, email=email)
    click.echo(f"Removed {email.strip().lower()} from the admin whitelist.")


@whitelist_cli.command("list")
def whitelist_list() -> None:
    """Print the whitelist: the table's entries, then ADMIN_EMAIL_WHITELIST's."""
    for email in whitelist.list_emails():
        click.echo(email)
    for email in whitelist.configured_emails():
        click.echo(f"{email} (ADMIN_EMAIL_WHITELIST)")


@tokens_cli.command("purge")
def purge_tokens() -> None:
    """Delete expired or revoked sessions, expired revocation rows, spent or expired reset
    and verification tokens, expired second steps and OpenID proofs, audit events older
    than AUTH_AUDIT_RETENTION_DAYS, and mails and webhook deliveries finished a week ago."""
    counts = sessions.purge_expired()
    mailed = account_tokens.purge()
    challenges = second_factor.purge_expired_challenges()
    proofs = oidc.purge_spent_proofs()
    events = audit.purge_events()
    mails = outbox.purge_finished()
    deliveries = delivery.purge_finished()
    click.echo(
        f"Deleted {counts.sessions} sessions, {counts.revoked_tokens} revoked-token rows, "
        f"{mailed} reset and verification tokens, {challenges} expired second-step tokens, "
        f"{proofs} expired OpenID proofs, {events} audit events past their retention, "
        f"{mails} finished mails and {deliveries} finished webhook deliveries."
    )


@mfa_cli.command("reencrypt")
def reencrypt_totp_secrets() -> None:
    """Seal every stored TOTP and webhook secret again with the first key of
    AUTH_MFA_ENCRYPTION_KEY, so that the older keys after it can be dropped."""
    count = totp.reseal_all()
    secrets_count = endpoints.reseal_all()
    click.echo(
        f"Sealed {count} TOTP secrets and {secrets_count} webhook secrets with the first key."
    )


@openapi_cli.command("write")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def write_openapi(path: str) -> None:
    """Write the OpenAPI description to PATH (e.g. docs/openapi.json)."""
    document = openapi_document(current_app)
    Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    click.echo(f"Wrote {len(document['paths'])} paths to {path}.")
