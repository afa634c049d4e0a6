"""The blog API's second factor: TOTP enrolment, the login's second step, recovery codes, and
what the other faces and the admin endpoints make of an account that has one."""

import pyotp
import pytest
from flask_jwt_extended import decode_token
from sqlalchemy import func
from sqlalchemy import select

from app.core.bounds import MAX_INTEGER
from app.core.models import AuthEvent
from app.core.models import SignInSession
from app.core.models import TotpFactor
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user
from tests.mailbox import token_in
from tests.matchers import JWT
from tests.matchers import Matches
from tests.matchers import blog_error
from tests.totp_codes import codes_in_order
from tests.totp_codes import wrong_code

MFA = "/api/v1/auth/mfa"
CODE = Matches(r"[a-z2-9]{5}-[a-z2-9]{5}")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, email: str):
    return client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


def _access_token(client, email: str) -> str:
    response = _login(client, email)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["accessToken"]


def _with_totp(client, email: str):
    """Turn TOTP on for the account: its secret, recovery codes and unused codes."""
    token = _access_token(client, email)
    started = client.post(f"{MFA}/totp", json={"password": PASSWORD}, headers=_bearer(token))
    assert started.status_code == 200, started.get_json()
    secret = started.get_json()["secret"]
    codes = codes_in_order(secret)
    confirmed = client.post(
        f"{MFA}/totp/confirm", json={"code": next(codes)}, headers=_bearer(token)
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return secret, confirmed.get_json()["recoveryCodes"], codes


def _mfa_token(client, email: str) -> str:
    response = _login(client, email)
    assert response.status_code == 403, response.get_json()
    return response.get_json()["details"]["mfaToken"]


def _events(name: str) -> int:
    return db.session.scalar(select(func.count()).where(AuthEvent.event == name))


def test_enrolment_answers_the_secret_its_uri_and_a_qr_code(client, app_context):
    user = make_user()
    token = _access_token(client, user.email)

    response = client.post(f"{MFA}/totp", json={"password": PASSWORD}, headers=_bearer(token))

    body = response.get_json()
    assert response.status_code == 200
    assert body["secret"] == Matches(r"[A-Z2-7]{32}")
    assert body["otpauthUri"] == pyotp.TOTP(body["secret"]).provisioning_uri(
        name=user.email, issuer_name="Auth Service"
    )
    assert body["qrSvg"].startswith("<svg") and body["qrSvg"].rstrip().endswith("</svg>")


def test_an_enrolment_is_not_on_until_confirmed(client, app_context):
    user = make_user()
    token = _access_token(client, user.email)
    client.post(f"{MFA}/totp", json={"password": PASSWORD}, headers=_bearer(token))

    assert _login(client, user.email).status_code == 200


def test_enrolment_with_a_wrong_password_is_400_and_charges_the_account(client, app, app_context):
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP"] = "2 per minute"
    user = make_user()
    token = _access_token(client, user.email)

    answers = [
        client.post(f"{MFA}/totp", json={"password": "wrong one"}, headers=_bearer(token))
        for _ in range(3)
    ]

    assert answers[0].status_code == 400
    assert answers[0].get_json() == blog_error("ValidationError", "Current password is incorrect.")
    assert [answer.status_code for answer in answers[1:]] == [400, 429]


def test_the_secret_is_stored_encrypted(client, app_context):
    user = make_user()
    secret, _codes, _ = _with_totp(client, user.email)

    stored = db.session.scalar(
        select(TotpFactor.sealed_secret).where(TotpFactor.user_id == user.id)
    )

    assert secret not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token


def test_confirm_turns_totp_on_with_ten_recovery_codes_and_ends_other_sessions(
    client, app_context, mailbox
):
    user = make_user()
    other = _access_token(client, user.email)

    _secret, codes, _ = _with_totp(client, user.email)

    assert codes == [CODE] * 10 and len(set(codes)) == 10
    assert client.get("/api/v1/users/current", headers=_bearer(other)).status_code == 401
    assert _events("mfa_enabled") == 1
    assert [m["Subject"] for m in mailbox.to(user.email)] == [
        "Two-step sign-in was turned on for your account"
    ]


def test_confirm_with_a_wrong_code_is_400_and_leaves_totp_off(client, app_context):
    user = make_user()
    token = _access_token(client, user.email)
    started = client.post(f"{MFA}/totp", json={"password": PASSWORD}, headers=_bearer(token))

    response = client.post(
        f"{MFA}/totp/confirm",
        json={"code": wrong_code(started.get_json()["secret"])},
        headers=_bearer(token),
    )

    assert response.status_code == 400
    assert response.get_json()["message"] == "The code is not valid."
    assert _login(client, user.email).status_code == 200
    assert _events("mfa_failed") == 1


def test_login_of_an_account_with_totp_is_403_with_an_mfa_token_and_no_token_or_cookie(
    client, app_context
):
    user = make_user()
    _with_totp(client, user.email)

    response = _login(client, user.email)

    assert response.status_code == 403
    assert response.get_json() == {
        "error": "MfaRequiredError",
        "message": "A second factor is required to complete this login.",
        "details": {"mfaToken": Matches(r"[A-Za-z0-9_-]{43}"), "methods": ["totp", "recoveryCode"]},
    }
    assert "Set-Cookie" not in response.headers


def test_the_second_step_signs_in_like_a_login_with_amr_of_two_factors(client, app_context):
    user = make_user()
    _secret, _recovery, codes = _with_totp(client, user.email)

    response = client.post(
        f"{MFA}/verify", json={"mfaToken": _mfa_token(client, user.email), "code": next(codes)}
    )

    assert response.status_code == 200
    assert response.get_json()["accessToken"] == JWT
    assert response.get_json()["user"]["email"] == user.email
    assert any(c.startswith("refreshToken=") for c in response.headers.getlist("Set-Cookie"))
    claims = decode_token(response.get_json()["accessToken"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    refreshed = client.post("/api/v1/auth/refresh-token")
    assert decode_token(refreshed.get_json()["accessToken"])["amr"] == ["pwd", "otp", "mfa"]


def test_a_password_login_token_says_pwd(client, app_context):
    user = make_user()

    assert decode_token(_access_token(client, user.email))["amr"] == ["pwd"]


def test_a_code_that_worked_never_works_again(client, app_context):
    user = make_user()
    _secret, _recovery, codes = _with_totp(client, user.email)
    code = next(codes)
    first = client.post(
        f"{MFA}/verify", json={"mfaToken": _mfa_token(client, user.email), "code": code}
    )

    again = client.post(
        f"{MFA}/verify", json={"mfaToken": _mfa_token(client, user.email), "code": code}
    )

    assert first.status_code == 200
    assert again.status_code == 400
    assert again.get_json()["message"] == "The code is not valid."


def test_a_recovery_code_works_once_and_is_audited(client, app_context):
    user = make_user()
    _secret, recovery, _codes = _with_totp(client, user.email)

    first = client.post(
        f"{MFA}/verify",
        json={"mfaToken": _mfa_token(client, user.email), "recoveryCode": recovery[0].upper()},
    )
    again = client.post(
        f"{MFA}/verify",
        json={"mfaToken": _mfa_token(client, user.email), "recoveryCode": recovery[0]},
    )

    assert first.status_code == 200
    assert again.status_code == 400
    assert _events("recovery_code_used") == 1


def test_the_mfa_token_is_good_for_a_few_tries_only(client, app, app_context):
    app.config["AUTH_MFA_TOKEN_TRIES"] = 2
    user = make_user()
    secret, _recovery, codes = _with_totp(client, user.email)
    token = _mfa_token(client, user.email)

    tries = [
        client.post(f"{MFA}/verify", json={"mfaToken": token, "code": wrong_code(secret)})
        for _ in range(2)
    ]
    last = client.post(f"{MFA}/verify", json={"mfaToken": token, "code": next(codes)})

    assert [t.status_code for t in tries] == [400, 400]
    assert last.status_code == 401
    assert last.get_json() == blog_error(
        "AuthenticationError", "The MFA token is invalid, expired or used up; log in again."
    )


def test_the_mfa_token_expires(client, app, app_context, frozen_clock):
    user = make_user()
    _secret, recovery, _codes = _with_totp(client, user.email)
    token = _mfa_token(client, user.email)

    frozen_clock.advance(app.config["AUTH_MFA_TOKEN_SECONDS"] + 1)
    response = client.post(f"{MFA}/verify", json={"mfaToken": token, "recoveryCode": recovery[0]})

    assert response.status_code == 401


def test_a_used_mfa_token_opens_no_second_session(client, app_context):
    user = make_user()
    _secret, recovery, _codes = _with_totp(client, user.email)
    token = _mfa_token(client, user.email)
    client.post(f"{MFA}/verify", json={"mfaToken": token, "recoveryCode": recovery[0]})

    again = client.post(f"{MFA}/verify", json={"mfaToken": token, "recoveryCode": recovery[1]})

    assert again.status_code == 401
    assert db.session.scalar(select(func.count()).where(SignInSession.user_id == user.id)) == 2


@pytest.mark.parametrize("path", ["/api/v1/users/current", "/auth/me", "/api/users/me/"])
def test_the_mfa_token_is_no_bearer_token_anywhere(client, app_context, path):
    user = make_user()
    _with_totp(client, user.email)

    response = client.get(path, headers=_bearer(_mfa_token(client, user.email)))

    assert response.status_code == 401


def test_the_second_step_needs_exactly_one_code(client, app_context):
    response = client.post(f"{MFA}/verify", json={"mfaToken": "x"})

    assert response.status_code == 400
    assert response.get_json()["details"] == {
        "_schema": ["Provide exactly one of: code, recoveryCode, credential."]
    }


@pytest.mark.parametrize(
    ("path", "body", "answer"),
    [
        ("/auth/login", "username", {"statusCode": 401, "error": "Unauthorized"}),
        ("/api/auth/login", "username", {}),
        ("/api/token/", "username", {}),
    ],
)
def test_faces_without_a_second_step_refuse_the_account_with_a_message(
    client, app_context, path, body, answer
):
    user = make_user()
    _with_totp(client, user.email)

    response = client.post(path, json={body: user.username, "password": PASSWORD})

    assert response.status_code == 401
    text = str(response.get_json())
    assert "signs in with a second factor" in text
    assert "token" not in response.get_json() and "access" not in response.get_json()
    for key, value in answer.items():
        assert response.get_json()[key] == value


def test_totp_off_needs_the_password_and_a_code_and_ends_other_sessions(client, app_context):
    user = make_user()
    secret, _recovery, codes = _with_totp(client, user.email)
    done = client.post(
        f"{MFA}/verify", json={"mfaToken": _mfa_token(client, user.email), "code": next(codes)}
    )
    token = done.get_json()["accessToken"]
    other = client.post(
        f"{MFA}/verify",
        json={"mfaToken": _mfa_token(client, user.email), "recoveryCode": _recovery[0]},
    ).get_json()["accessToken"]

    wrong = client.delete(
        f"{MFA}/totp",
        json={"password": PASSWORD, "code": wrong_code(secret)},
        headers=_bearer(token),
    )
    off = client.delete(
        f"{MFA}/totp", json={"password": PASSWORD, "code": next(codes)}, headers=_bearer(token)
    )

    assert wrong.status_code == 400
    assert off.status_code == 200
    assert client.get("/api/v1/users/current", headers=_bearer(other)).status_code == 401
    assert client.get("/api/v1/users/current", headers=_bearer(token)).status_code == 200
    assert _login(client, user.email).status_code == 200
    assert _events("mfa_disabled") == 1


def test_a_recovery_code_can_turn_totp_off(client, app_context):
    user = make_user()
    _secret, recovery, codes = _with_totp(client, user.email)
    token = client.post(
        f"{MFA}/verify", json={"mfaToken": _mfa_token(client, user.email), "code": next(codes)}
    ).get_json()["accessToken"]

    off = client.delete(
        f"{MFA}/totp", json={"password": PASSWORD, "code": recovery[3]}, headers=_bearer(token)
    )

    assert off.status_code == 200


def test_new_recovery_codes_void_the_old_set(client, app_context):
    user = make_user()
    _secret, old, codes = _with_totp(client, user.email)
    token = client.post(
        f"{MFA}/verify", json={"mfaToken": _mfa_token(client, user.email), "code": next(codes)}
    ).get_json()["accessToken"]

    response = client.post(
        f"{MFA}/recovery-codes", json={"password": PASSWORD}, headers=_bearer(token)
    )
    with_old = client.post(
        f"{MFA}/verify", json={"mfaToken": _mfa_token(client, user.email), "recoveryCode": old[1]}
    )
    with_new = client.post(
        f"{MFA}/verify",
        json={
            "mfaToken": _mfa_token(client, user.email),
            "recoveryCode": response.get_json()["recoveryCodes"][0],
        },
    )

    assert response.status_code == 200
    assert response.get_json()["recoveryCodes"] == [CODE] * 10
    assert with_old.status_code == 400
    assert with_new.status_code == 200


def test_enrolling_again_while_on_is_a_conflict(client, app_context):
    user = make_user()
    _secret, recovery, _codes = _with_totp(client, user.email)
    token = client.post(
        f"{MFA}/verify",
        json={"mfaToken": _mfa_token(client, user.email), "recoveryCode": recovery[0]},
    ).get_json()["accessToken"]

    response = client.post(f"{MFA}/totp", json={"password": PASSWORD}, headers=_bearer(token))

    assert response.status_code == 409
    assert response.get_json()["error"] == "ConflictError"


def test_password_reset_of_a_verified_account_keeps_the_second_factor(client, app_context, mailbox):
    user = make_user(email_verified=True)
    _with_totp(client, user.email)
    client.post("/api/v1/auth/forgot-password", json={"email": user.email})
    token = token_in(mailbox.to(user.email)[-1])

    client.post(
        "/api/v1/auth/reset-password", json={"token": token, "password": "a new horse battery"}
    )
    response = client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": "a new horse battery"}
    )

    assert response.status_code == 403


def test_admin_endpoints_refuse_a_password_only_admin_token_when_mfa_is_required(
    client, app, app_context
):
    app.config["AUTH_ADMIN_REQUIRES_MFA"] = True
    admin = make_admin()
    plain = _access_token(client, admin.email)
    refused = client.get("/api/v1/users", headers=_bearer(plain))
    _secret, recovery, _codes = _with_totp(client, admin.email)
    strong = client.post(
        f"{MFA}/verify",
        json={"mfaToken": _mfa_token(client, admin.email), "recoveryCode": recovery[0]},
    ).get_json()["accessToken"]

    accepted = client.get("/api/v1/users", headers=_bearer(strong))

    assert refused.status_code == 403
    assert "second factor" in refused.get_json()["message"]
    assert accepted.status_code == 200


def test_a_user_without_admin_gets_the_usual_403_when_mfa_is_required(client, app, app_context):
    app.config["AUTH_ADMIN_REQUIRES_MFA"] = True
    user = make_user()

    response = client.get("/api/v1/users", headers=_bearer(_access_token(client, user.email)))

    assert response.status_code == 403
    assert "second factor" not in response.get_json()["message"]


def test_an_admin_removes_a_users_second_factor(client, app_context):
    admin, user = make_admin(), make_user()
    _with_totp(client, user.email)

    response = client.patch(
        f"/api/v1/users/{user.id}",
        json={"mfa": False},
        headers=_bearer(_access_token(client, admin.email)),
    )

    assert response.status_code == 200
    assert _login(client, user.email).status_code == 200
    event = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "mfa_disabled")).one()
    assert (event.user_id, event.target_user_id) == (admin.id, user.id)


@pytest.mark.parametrize("user_id", [0, MAX_INTEGER + 1, 5320473857330744538708771088629760])
def test_removing_the_second_factor_of_an_id_that_cannot_exist_is_a_404(
    client, app_context, user_id
):
    admin = make_admin()

    response = client.patch(
        f"/api/v1/users/{user_id}",
        json={"mfa": False},
        headers=_bearer(_access_token(client, admin.email)),
    )

    assert response.status_code == 404
    assert response.get_json()["message"] == "User not found."


def test_an_admin_cannot_turn_a_second_factor_on(client, app_context):
    admin, user = make_admin(), make_user()

    response = client.patch(
        f"/api/v1/users/{user.id}",
        json={"mfa": True},
        headers=_bearer(_access_token(client, admin.email)),
    )

    assert response.status_code == 400
    assert response.get_json()["details"] == {"mfa": ["An admin can only remove a second factor."]}


def test_flask_users_reset_mfa_removes_the_factors(client, runner, app_context):
    user = make_user()
    _with_totp(client, user.email)

    result = runner.invoke(args=["users", "reset-mfa", user.email])

    assert result.exit_code == 0, result.output
    assert _login(client, user.email).status_code == 200
    assert db.session.scalar(select(func.count()).where(TotpFactor.user_id == user.id)) == 0
    event = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "mfa_disabled")).one()
    assert (event.user_id, event.target_user_id) == (None, user.id)
