"""Test data: every call returns unique values."""

import itertools
import uuid

from app.core.models import User
from app.core.services import accounts
from app.core.services import clients

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
    return clients.create_client(name=name)
