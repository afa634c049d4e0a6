"""Test data: every call returns unique values."""

import itertools
import uuid
from datetime import timedelta

from sqlalchemy import select

from app.core.accounts import accounts
from app.core.accounts import clients
from app.core.models import SignInSession
from app.core.models import User
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.core.sessions.callers import find_caller
from app.core.tokens.tokens import decode_any_token
from app.core.tokens.tokens import policy_for
from app.database import db

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def unique_email() -> str:
    return f"user{next(_counter)}-{uuid.uuid4().hex[:6]}@example.com"


def unique_username() -> str:
    return f"user{next(_counter)}_{uuid.uuid4().hex[:6]}"


def make_user(
    *,
    email: str | None = None,
    password: str = PASSWORD,
    roles: tuple[str, ...] = ("user",),
    username: str | None = None,
    display_name: str | None = None,
    client_id: int | None = None,
    email_verified: bool = False,
) -> User:
    """Create a user through the service layer (needs an app context)."""
    return accounts.create_user(
        email=email or unique_email(),
        password=password,
        username=username or unique_username(),
        role_names=roles,
        display_name=display_name,
        client_id=client_id,
        email_verified=email_verified,
    )


def make_admin(**overrides: object) -> User:
    return make_user(roles=("user", "admin"), **overrides)  # type: ignore[arg-type]


def make_client(name: str = "reporting service") -> clients.NewClient:
    """Create an API client; the result carries its one-time key."""
    return clients.create_client(caller=None, name=name)


def signed_in_caller(user: User) -> Caller:
    """The caller of a new blog session of ``user``, as a request would find it, for calling a
    use case of the core directly (its login is its step-up proof, for a few minutes)."""
    tokens = sessions.open_session(user=user, dialect="blog", policy=policy_for("BLOG"))
    caller = find_caller(decode_any_token(tokens.access_token))
    assert caller is not None
    return caller


def age_proofs(seconds: int, *, user_id: int | None = None) -> None:
    """Move the sessions' latest proofs of who holds them ``seconds`` into the past (every
    session, or ``user_id``'s), as if their logins or reauthentications were that old: the
    step-up's clock, turned back without waiting."""
    query = select(SignInSession)
    if user_id is not None:
        query = query.where(SignInSession.user_id == user_id)
    for session in db.session.scalars(query):
        session.auth_time -= timedelta(seconds=seconds)
        if session.second_factor_at is not None:
            session.second_factor_at -= timedelta(seconds=seconds)
    db.session.commit()
