"""The lock on an account's second step: AUTH_MFA_MAX_FAILURES wrong codes in a row lock it
(403 MfaLockedError on every second-step method) until a password reset or an admin unlocks
it, and the owner is mailed when it locks."""

import pytest
from sqlalchemy import func
from sqlalchemy import select

from app.core.models import AuthEvent
from app.core.models import User
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user
from tests.mailbox import text_of
from tests.mailbox import token_in
from tests.matchers import blog_error
from tests.totp_codes import codes_in_order
from tests.totp_codes import wrong_code

AUTH = "/api/v1/auth"
LOCKED = blog_error(
    "MfaLockedError",
    "Too many wrong codes: the second step of this account is locked. Reset the password, or "
    "ask an administrator to unlock it.",
)


@pytest.fixture
def app_overrides():
    """Budgets wide enough that the lock, not the rate limits, is what stops the guesses."""
    return {
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP": "1000 per minute",
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP": "1000 per minute",
        "AUTH_MFA_MAX_FAILURES": 4,
    }


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, email: str, password: str = PASSWORD):
    return client.post(f"{AUTH}/login", json={"email": email, "password": password})


def _with_totp(client, email: str):
    token = _login(client, email).get_json()["accessToken"]
    started = client.post(f"{AUTH}/mfa/totp", json={"password": PASSWORD}, headers=_bearer(token))
    secret = started.get_json()["secret"]
    codes = codes_in_order(secret)
    client.post(f"{AUTH}/mfa/totp/confirm", json={"code": next(codes)}, headers=_bearer(token))
    return secret, codes


def _verify(client, email: str, code: str):
    mfa_token = _login(client, email).get_json()["details"]["mfaToken"]
    return client.post(f"{AUTH}/mfa/verify", json={"mfaToken": mfa_token, "code": code})


def _locks(name: str = "mfa_locked") -> int:
    return db.session.scalar(select(func.count()).where(AuthEvent.event == name))


def test_wrong_codes_in_a_row_lock_the_second_step_and_mail_the_owner(client, app_context, mailbox):
    user = make_user()
    secret, codes = _with_totp(client, user.email)

    wrong = [_verify(client, user.email, wrong_code(secret)).status_code for _ in range(4)]
    right = _verify(client, user.email, next(codes))

    assert wrong == [400, 400, 400, 400]
    assert right.status_code == 403
    assert right.get_json() == LOCKED
    assert "Set-Cookie" not in right.headers
    (notice,) = [m for m in mailbox.to(user.email) if "locked" in m["Subject"]]
    assert notice["Subject"] == "Two-step sign-in to your account is locked"
    assert "knows your password" in text_of(notice)
    assert _locks() == 1


def test_a_right_code_starts_the_count_again(client, app_context):
    user = make_user()
    secret, codes = _with_totp(client, user.email)

    for _ in range(3):
        _verify(client, user.email, wrong_code(secret))
    assert _verify(client, user.email, next(codes)).status_code == 200
    for _ in range(3):
        _verify(client, user.email, wrong_code(secret))

    assert _verify(client, user.email, next(codes)).status_code == 200


def test_recovery_codes_and_reauthentication_count_toward_the_lock(client, app_context):
    user = make_user()
    secret, codes = _with_totp(client, user.email)
    token = _verify(client, user.email, next(codes)).get_json()["accessToken"]

    attempts = [
        client.post(f"{AUTH}/reauthenticate", json={"code": wrong_code(secret)},
                    headers=_bearer(token)).status_code,
        client.post(f"{AUTH}/reauthenticate", json={"recoveryCode": "aaaaa-bbbbb"},
                    headers=_bearer(token)).status_code,
        client.delete(f"{AUTH}/mfa/totp", json={"code": wrong_code(secret)},
                      headers=_bearer(token)).status_code,
        _verify(client, user.email, wrong_code(secret)).status_code,
    ]  # fmt: skip
    locked = client.post(
        f"{AUTH}/reauthenticate", json={"code": wrong_code(secret)}, headers=_bearer(token)
    )

    assert attempts == [400, 400, 400, 400]
    assert locked.status_code == 403
    assert locked.get_json()["error"] == "MfaLockedError"


def test_a_password_reset_unlocks_the_second_step(client, app_context, mailbox):
    user = make_user(email_verified=True)
    secret, codes = _with_totp(client, user.email)
    for _ in range(4):
        _verify(client, user.email, wrong_code(secret))

    client.post(f"{AUTH}/forgot-password", json={"email": user.email})
    reset = token_in(mailbox.wait_for(user.email, "Reset your password"))
    client.post(f"{AUTH}/reset-password", json={"token": reset, "password": "a new passphrase 9"})
    mfa_token = _login(client, user.email, "a new passphrase 9").get_json()["details"]["mfaToken"]
    done = client.post(f"{AUTH}/mfa/verify", json={"mfaToken": mfa_token, "code": next(codes)})

    assert done.status_code == 200


def test_an_admin_unlocks_the_second_step_and_the_factor_stays(client, app_context):
    user, admin = make_user(), make_admin()
    secret, codes = _with_totp(client, user.email)
    for _ in range(4):
        _verify(client, user.email, wrong_code(secret))
    admin_token = _login(client, admin.email).get_json()["accessToken"]

    unlocked = client.patch(
        f"/api/v1/users/{user.id}", json={"mfaLocked": False}, headers=_bearer(admin_token)
    )

    assert unlocked.status_code == 200
    assert unlocked.get_json()["mfaLocked"] is False
    assert _verify(client, user.email, next(codes)).status_code == 200
    assert _locks("mfa_unlocked") == 1


def test_the_admin_view_of_a_user_shows_the_lock(client, app_context):
    user, admin = make_user(), make_admin()
    secret, _codes = _with_totp(client, user.email)
    for _ in range(4):
        _verify(client, user.email, wrong_code(secret))
    admin_token = _login(client, admin.email).get_json()["accessToken"]

    shown = client.patch(
        f"/api/v1/users/{user.id}", json={"role": "user"}, headers=_bearer(admin_token)
    )

    assert shown.get_json()["mfaLocked"] is True


def test_mfa_locked_true_is_refused(client, app_context):
    user, admin = make_user(), make_admin()
    admin_token = _login(client, admin.email).get_json()["accessToken"]

    response = client.patch(
        f"/api/v1/users/{user.id}", json={"mfaLocked": True}, headers=_bearer(admin_token)
    )

    assert response.status_code == 400


def test_the_cli_unlocks_the_second_step(client, app_context, runner):
    user = make_user()
    secret, codes = _with_totp(client, user.email)
    for _ in range(4):
        _verify(client, user.email, wrong_code(secret))

    result = runner.invoke(args=["users", "unlock-mfa", user.email])

    assert result.exit_code == 0, result.output
    assert result.output == f"Unlocked the second step of user {user.id}.\n"
    assert db.session.scalar(select(User.mfa_failures).where(User.id == user.id)) == 0
    assert _verify(client, user.email, next(codes)).status_code == 200
