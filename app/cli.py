"""The operators' commands: ``flask --app wsgi
users|roles|clients|whitelist|tokens|mfa|keys|webhooks``."""

import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import ParamSpec
from typing import TextIO
from typing import TypeVar

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup

from app.api.reference import openapi_document
from app.core import roles
from app.core.accounts import accounts
from app.core.accounts import clients
from app.core.accounts import user_import
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


@users_cli.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8", lazy=False))
@click.option("--update", is_flag=True, help="Update accounts whose email is already here.")
@click.option("--skip-invalid", is_flag=True, help="Import the good lines, report the rest.")
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
def import_users(source: TextIO, update: bool, skip_invalid: bool, dry_run: bool) -> None:
    """Import accounts from SOURCE, JSON Lines with the password hashes of their old system
    (``-`` for stdin). One bad line refuses the whole file unless --skip-invalid."""
    name = Path(source.name).name
    options = user_import.ImportOptions(
        source=name, update=update, skip_invalid=skip_invalid, dry_run=dry_run
    )
    started = time.monotonic()
    with _progress_bar(source) as (lines, advance):
        try:
            report = user_import.import_users(lines, options, progress=advance)
        except user_import.ImportRefused as refused:
            _print_problems(refused.report)
            raise click.ClickException(
                f"{refused.reason}: nothing was imported"
                + (" (--skip-invalid imports the rest)." if refused.report.problems else ".")
            ) from None
    _print_problems(report)
    click.echo(_import_summary(report, name, time.monotonic() - started, dry_run=dry_run))


@users_cli.command("export")
@click.argument("target", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--force", is_flag=True, help="Replace TARGET if it exists.")
def export_users(target: str, force: bool) -> None:
    """Write every account to TARGET as JSON Lines, with its password hash (mode 0600)."""
    click.echo(
        "Warning: the file holds password hashes. Keep it like a secret and delete it after use.",
        err=True,
    )
    if target == "-":
        count = user_import.export_users(sys.stdout.write)
    else:
        try:
            with _private_file(Path(target), replace=force) as out:
                count = user_import.export_users(out.write)
        except FileExistsError:
            raise click.ClickException(f"{target} exists; --force replaces it.") from None
    click.echo(f"Exported {count} users to {target}.", err=True)


@contextmanager
def _private_file(path: Path, *, replace: bool) -> Iterator[TextIO]:
    """A file at ``path`` only its owner may read, written in full before it appears there.

    The data goes to a new file beside it, created with mode 0600 and refusing to follow a
    link or reuse a file someone else made (O_EXCL | O_NOFOLLOW); then that file takes the
    path's place in one step: a new link (which fails if the path exists), or with
    ``replace`` a rename over it (which replaces a symbolic link itself, never its target)."""
    if not replace and os.path.lexists(path):
        raise FileExistsError(path)
    staged = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        with open(os.open(staged, flags, 0o600), "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(staged, path)
        else:
            os.link(staged, path)
    finally:
        if os.path.lexists(staged):
            os.unlink(staged)


@contextmanager
def _progress_bar(source: TextIO) -> Iterator[tuple[Iterator[str], Callable[[int], None]]]:
    """The file's lines, and a bar of lines read on a terminal (when the size is known)."""
    total = _line_count(source) if sys.stderr.isatty() else None
    if total is None:
        yield iter(source), lambda _count: None
        return
    with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
        yield iter(source), bar.update


def _line_count(source: TextIO) -> int | None:
    if not source.seekable():
        return None
    total = sum(1 for _ in source)
    source.seek(0)
    return total


def _print_problems(report: user_import.ImportReport) -> None:
    for problem in report.problems:
        click.echo(str(problem), err=True)


def _import_summary(
    report: user_import.ImportReport, name: str, seconds: float, *, dry_run: bool
) -> str:
    verb = "Would import" if dry_run else "Imported"
    kept = f", kept {report.kept_passwords} passwords set here" if report.kept_passwords else ""
    return (
        f"{verb} {report.created} users from {name} in {seconds:.1f} s: "
        f"{report.updated} updated{kept}, {report.skipped} already here, "
        f"{report.invalid_lines} invalid lines"
        + (" (dry run: nothing written)." if dry_run else ".")
    )


@users_cli.command("reset-mfa")
@click.argument("identifier")
@_one_line_errors
def reset_mfa(identifier: str) -> None:
    """Remove every second factor of the user with this email or username (audited); the
    user then signs in with the password alone, and every session of theirs ends."""
    user_id = accounts.find_user_id(identifier=identifier)
    if user_id is None:
        raise click.ClickException(f"No user {identifier!r}.")
    second_factor.reset_factors(caller=None, user_id=user_id)
    click.echo(f"Removed the second factors of user {user_id}; their sessions are ended.")


@users_cli.command("unlock-mfa")
@click.argument("identifier")
@_one_line_errors
def unlock_mfa(identifier: str) -> None:
    """Unlock the second step of the user with this email or username, locked after too many
    wrong codes in a row (audited); their factors stay."""
    user_id = accounts.find_user_id(identifier=identifier)
    if user_id is None:
        raise click.ClickException(f"No user {identifier!r}.")
    mfa_lock.unlock(caller=None, user_id=user_id)
    click.echo(f"Unlocked the second step of user {user_id}.")


@roles_cli.command("create")
@click.argument("name")
@click.option("--permission", "permissions", multiple=True, help="Repeat for several.")
@_one_line_errors
def create_role(name: str, permissions: tuple[str, ...]) -> None:
    """Create a role; its permissions are granted to 'admin' too."""
    role = roles.create_role(name=name, permissions=permissions)
    granted = ", ".join(p.name for p in role.permissions) or "no permissions"
    click.echo(f"Created role {role.name} ({granted}).")


@clients_cli.command("create")
@click.argument("name")
@_one_line_errors
def create_client(name: str) -> None:
    """Create an API client and print its credentials as JSON; the key is shown only once."""
    client = clients.create_client(name=name)
    click.echo(json.dumps({"clientId": client.client_id, "clientKey": client.client_key}))


@whitelist_cli.command("add")
@click.argument("email")
@_one_line_errors
def whitelist_add(email: str) -> None:
    """Allow EMAIL to register as admin."""
    entry = whitelist.add_email(email=email)
    click.echo(f"Added {entry.email} to the admin whitelist.")


@whitelist_cli.command("remove")
@click.argument("email")
@_one_line_errors
def whitelist_remove(email: str) -> None:
    """Stop EMAIL from registering as admin (existing admins keep their role)."""
    whitelist.remove_email(email=email)
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
