"""User accounts: creation, authentication, password changes and administration."""

import secrets
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core import attempts
from app.core import clock
from app.core import roles
from app.core.accounts import whitelist
from app.core.audit import audit
from app.core.errors import AdminRegistrationDeniedError
from app.core.errors import ConflictError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.errors import PermissionDeniedError
from app.core.factors import second_factor
from app.core.factors import step_up
from app.core.hooks import auth_hooks
from app.core.hooks import events
from app.core.identities import is_valid_email
from app.core.identities import is_valid_username
from app.core.identities import normalize_email
from app.core.identities import normalize_username
from app.core.identities import username_from_email
from app.core.models import Role
from app.core.models import User
from app.core.passwords.passwords import check_new_password
from app.core.passwords.security import hash_password
from app.core.passwords.security import unusable_password
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.database import db


@dataclass(frozen=True)
class UserPage:
    users: Sequence[User]
    page: int
    per_page: int
    total: int


def create_user(
    *,
    email: str,
    password: str,
    username: str | None = None,
    role_names: Sequence[str] = (roles.USER,),
    display_name: str | None = None,
    client_id: int | None = None,
    email_verified: bool = False,
) -> User:
    user = stage_user(
        email=email,
        password=password,
        username=username,
        role_names=role_names,
        display_name=display_name,
        client_id=client_id,
        email_verified=email_verified,
        source="cli",
    )
    _commit_or_conflict("Email or username is already registered.")
    return user


def stage_user(
    *,
    email: str,
    password: str,
    username: str | None = None,
    role_names: Sequence[str] = (roles.USER,),
    display_name: str | None = None,
    client_id: int | None = None,
    email_verified: bool = False,
    source: str = "registration",
) -> User:
    """Caller commits. A new user, checked and added to the session (``source`` tells the
    BEFORE_USER_CREATED hook where it comes from)."""
    email = normalize_email(email)
    check_email(email)
    username = None if username is None else normalize_username(username)
    if username is not None and not is_valid_username(username):
        raise InvalidInputError("A username is 3 to 150 of a-z, 0-9, '_', '.' or '-'.")
    check_new_password(password, username=username or "", email=email)
    if _find_by_email(email) is not None:
        raise ConflictError("Email is already registered.")
    if username is not None and _find_by_username(username) is not None:
        raise ConflictError("Username is already taken.")
    return _staged_user(
        email=email,
        username=username or _free_username(email),
        password_hash=hash_password(password),
        role_names=role_names,
        email_verified=email_verified,
        display_name=display_name,
        client_id=client_id,
        source=source,
    )


def stage_user_without_password(*, email: str, username: str | None, email_verified: bool) -> User:
    """A new user who signs in elsewhere (an OpenID provider), added to the session for the
    caller to commit with what it links to it: a password that nothing matches, the
    ``username`` asked for when it is valid and free, else one derived from the email.

    An address the provider did not verify is not the account's: whoever gave it may not own
    the mailbox, and its owner must stay free to register it. Such an account has none."""
    email = normalize_email(email)
    check_email(email)
    wanted = None if username is None else normalize_username(username)
    if wanted is None or not is_valid_username(wanted) or _find_by_username(wanted) is not None:
        wanted = _free_username(email)
    return _staged_user(
        email=email if email_verified else None,
        username=wanted,
        password_hash=unusable_password(),
        role_names=[roles.USER],
        email_verified=email_verified,
        source="oidc",
    )


def _staged_user(
    *,
    email: str | None,
    username: str,
    password_hash: str,
    role_names: Sequence[str],
    email_verified: bool,
    display_name: str | None = None,
    client_id: int | None = None,
    source: str,
) -> User:
    """A new user row, added to the session and not committed, once the BEFORE_USER_CREATED
    hook allows it."""
    auth_hooks.before_user_created(email=email, username=username, source=source)
    user = User(
        email=email,
        username=username,
        password_hash=password_hash,
        display_name=display_name,
        client_id=client_id,
        social_links={},
        roles=roles.find_roles(role_names),
        email_verified_at=clock.utcnow() if email_verified else None,
    )
    db.session.add(user)
    events.emit("user.created", user=user)
    return user


def find_user_by_email(email: str) -> User | None:
    return _find_by_email(normalize_email(email))


def register_user(
    *,
    email: str,
    password: str,
    role: str = roles.USER,
    locale: str | None = None,
    welcome: Callable[[User], None] | None = None,
) -> User:
    """Self-service sign-up; ``admin`` only for an email on the admin whitelist. ``welcome``
    adds to the new account's transaction what comes with it (its verification mail)."""
    attempts.reserve_credential_check(account=None)
    if role == roles.ADMIN and not whitelist.is_whitelisted(email):
        raise AdminRegistrationDeniedError()
    # Whoever registers a whitelisted address first would be admin: with the gate on, the
    # address must be proved by its mail first (app/core/mailbox/mailed_tokens.py).
    deferred = role == roles.ADMIN and current_app.config["AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL"]
    wanted = [roles.USER, roles.ADMIN] if role == roles.ADMIN and not deferred else [roles.USER]
    user = stage_user(email=email, password=password, role_names=wanted)
    user.admin_requested = deferred
    user.locale = locale
    try:
        db.session.flush()  # the new id, for what the welcome adds
        if welcome is not None:
            welcome(user)
    except IntegrityError as error:
        db.session.rollback()
        raise ConflictError("Email or username is already registered.") from error
    _commit_or_conflict("Email or username is already registered.")
    return user


def mark_email_verified(user: User) -> None:
    """Caller commits. The address is proven (a mailed token, or a provider that verified
    it); an admin registration waiting for this becomes admin, if the address is still on
    the whitelist."""
    if user.email_verified_at is None:
        user.email_verified_at = clock.utcnow()
    if user.admin_requested:
        user.admin_requested = False
        if user.email is not None and whitelist.is_whitelisted(user.email):
            roles.set_primary_role(user, roles.ADMIN)


def find_user_id(*, identifier: str) -> int | None:
    """The id of the account an email or username names, if any."""
    user = find_by_login(identifier)
    return None if user is None else user.id


def change_password(*, caller: Caller, current_password: str, new_password: str) -> None:
    """Set a new password, after the current one (the step-up proof this action brings along);
    every other session of the user ends."""
    step_up.prove_password(caller=caller, password=current_password, event="password_change")
    step_up.require_recent_authentication(caller=caller)
    user = db.session.get(User, caller.user.id)
    if user is None:
        raise NotFoundError("User not found.")
    check_new_password(new_password, username=user.username, email=user.email or "")
    user.password_hash = hash_password(new_password)
    sessions.end_user_sessions(user_id=user.id, keep_session_id=caller.session_id)
    second_factor.notify_owner(user_id=user.id, event="password_changed")
    db.session.commit()
    audit.record(
        event="password_change", outcome="success", user_id=user.id, session_id=caller.session_id
    )


def remove_account(user: User) -> None:
    """Caller commits, having locked the admins first (``lock_admins``). The account goes,
    with everything that hangs from it and its user.deleted event; undone when it leaves no
    active admin."""
    was_active_admin = is_active_admin(user)
    events.emit("user.deleted", user=user)
    db.session.delete(user)
    if was_active_admin:
        require_an_active_admin()


def is_active_admin(user: User) -> bool:
    return user.is_active and roles.has_role(user, roles.ADMIN)


def lock_admins() -> None:
    """Caller commits. Lock the rows of every admin (PostgreSQL; SQLite's writer lock
    serializes by itself), in id order so two admins acting at once never deadlock: whoever
    comes second waits, then counts what the first committed. A check read earlier in the
    request would let two admins demote each other in the same instant."""
    db.session.execute(
        select(User.id)
        .join(User.roles)
        .where(Role.name == roles.ADMIN)
        .order_by(User.id)
        .with_for_update(of=User)
    ).all()


def require_an_active_admin() -> None:
    """Caller commits. Refuse (and undo) a change that leaves no active admin."""
    db.session.flush()
    if not count_active_admins():
        db.session.rollback()
        raise PermissionDeniedError("The service must keep at least one active admin.")


def count_active_admins() -> int:
    return (
        db.session.scalar(
            select(func.count(User.id))
            .join(User.roles)
            .where(Role.name == roles.ADMIN, User.is_active.is_(True))
        )
        or 0
    )


def check_email(email: str) -> None:
    if not is_valid_email(email):
        message = "Not a valid email address."
        raise InvalidInputError(message, details={"email": [message]})


def _find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def find_by_login(identifier: str) -> User | None:
    """The account an email or username names (a login's identifier), if any."""
    return db.session.scalar(
        select(User).where(
            or_(
                User.email == normalize_email(identifier),
                User.username == normalize_username(identifier),
            )
        )
    )


def _free_username(email: str) -> str:
    """A username derived from the email's local part, made unique with digits."""
    base = username_from_email(email)
    candidate = base
    while _find_by_username(candidate) is not None:
        candidate = f"{base}{secrets.randbelow(10**6)}"
    return candidate


def _commit_or_conflict(message: str) -> None:
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise ConflictError(message) from error
