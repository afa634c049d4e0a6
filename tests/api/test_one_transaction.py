"""One transaction per use case: a change and the end of the sessions it ends commit together.

The second write is made to fail for real: a database trigger refuses to end a session (both
SQLite and PostgreSQL raise from it). Each use case must then leave nothing of its first
write: the old password still works, the account is still active, the factors are still
there. (Before, each committed its change, then ended the sessions in a second transaction:
a crash between the two left a new password with the old sessions alive.)
"""

from collections.abc import Iterator

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

from app.core.models import SignInSession
from app.core.models import TotpFactor
from app.core.models import User
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user
from tests.mailbox import token_in
from tests.totp_codes import codes_in_order

AUTH = "/api/v1/auth"
NEW_PASSWORD = "an entirely new passphrase"
_SQLITE = """
CREATE TRIGGER refuse_ending_sessions BEFORE UPDATE OF revoked_at ON sessions
WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'ending sessions is refused by the test'); END
"""
_POSTGRESQL = [
    """CREATE FUNCTION refuse_ending_sessions() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'ending sessions is refused by the test'; END $$""",
    """CREATE TRIGGER refuse_ending_sessions BEFORE UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION refuse_ending_sessions()""",
]


@pytest.fixture
def sessions_cannot_end(app_context) -> Iterator[None]:
    """From here on, any statement that ends a session fails in the database."""
    sqlite = db.engine.dialect.name == "sqlite"
    for statement in [_SQLITE] if sqlite else _POSTGRESQL:
        db.session.execute(text(statement))
    db.session.commit()
    yield
    db.session.rollback()
    db.session.execute(
        text("DROP TRIGGER refuse_ending_sessions" + ("" if sqlite else " ON sessions"))
    )
    if not sqlite:
        db.session.execute(text("DROP FUNCTION refuse_ending_sessions()"))
    db.session.commit()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, email: str, password: str = PASSWORD):
    return client.post(f"{AUTH}/login", json={"email": email, "password": password})


def _live_sessions(user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None))
    )


def test_a_password_change_that_cannot_end_the_other_sessions_changes_nothing(
    client, sessions_cannot_end
):
    user = make_user()
    token = _login(client, user.email).get_json()["accessToken"]
    _login(client, user.email)  # another session, which the change would end

    changed = client.post(
        f"{AUTH}/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=_bearer(token),
    )

    assert changed.status_code == 500
    assert _login(client, user.email).status_code == 200
    assert _login(client, user.email, NEW_PASSWORD).status_code == 400


def test_a_reset_that_cannot_end_the_sessions_sets_no_password_and_spends_no_token(
    client, sessions_cannot_end, mailbox
):
    user = make_user(email_verified=True)
    _login(client, user.email)
    client.post(f"{AUTH}/forgot-password", json={"email": user.email})
    token = token_in(mailbox.wait_for(user.email, "Reset your password"))

    reset = client.post(f"{AUTH}/reset-password", json={"token": token, "password": NEW_PASSWORD})

    assert reset.status_code == 500
    assert _login(client, user.email).status_code == 200
    assert _live_sessions(user.id) == 2
    assert _login(client, user.email, NEW_PASSWORD).status_code == 400


def test_a_deactivation_that_cannot_end_the_sessions_leaves_the_account_active(
    client, sessions_cannot_end
):
    admin, user = make_admin(), make_user()
    admin_token = _login(client, admin.email).get_json()["accessToken"]
    _login(client, user.email)

    deactivated = client.patch(
        f"/api/v1/users/{user.id}", json={"isActive": False}, headers=_bearer(admin_token)
    )

    assert deactivated.status_code == 500
    assert db.session.scalar(select(User.is_active).where(User.id == user.id)) is True
    assert _live_sessions(user.id) == 1


def test_a_second_factor_reset_that_cannot_end_the_sessions_keeps_the_factor(
    client, sessions_cannot_end
):
    admin, user = make_admin(), make_user()
    token = _login(client, user.email).get_json()["accessToken"]
    started = client.post(f"{AUTH}/mfa/totp", json={"password": PASSWORD}, headers=_bearer(token))
    codes = codes_in_order(started.get_json()["secret"])
    confirmed = client.post(
        f"{AUTH}/mfa/totp/confirm", json={"code": next(codes)}, headers=_bearer(token)
    )
    admin_token = _login(client, admin.email).get_json()["accessToken"]

    reset = client.patch(
        f"/api/v1/users/{user.id}", json={"mfa": False}, headers=_bearer(admin_token)
    )

    assert confirmed.status_code == 200  # its only session is the one kept
    assert reset.status_code == 500
    assert (
        db.session.scalar(select(TotpFactor.confirmed_at).where(TotpFactor.user_id == user.id))
        is not None
    )
    assert _live_sessions(user.id) == 1
