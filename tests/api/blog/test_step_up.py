"""Step-up: every sensitive action asks for a recent proof of who is calling, and
POST /auth/reauthenticate gives one (the password, a TOTP code, a recovery code or a passkey).

A session's proofs are made old with ``age_proofs`` (the database's record of them, turned
back), as expired tokens are forged elsewhere: no test waits for the clock.
"""

from datetime import UTC
from datetime import datetime

import pyotp
import pytest
from flask_jwt_extended import decode_token
from sqlalchemy import func
from sqlalchemy import select

from app.core.models import AuthEvent
from app.core.models import Passkey
from app.core.models import SignInSession
from app.core.models import TotpFactor
from app.database import db
from tests.factories import PASSWORD
from tests.factories import age_proofs
from tests.factories import make_admin
from tests.factories import make_user
from tests.matchers import JWT
from tests.matchers import blog_error
from tests.soft_authenticator import SoftAuthenticator
from tests.totp_codes import codes_in_order
from tests.totp_codes import wrong_code

AUTH = "/api/v1/auth"
STALE = 301  # seconds: one more than AUTH_REAUTH_MAX_AGE_SECONDS' default
STEP_UP_MESSAGE = "This action needs a recent authentication: prove who you are again first."


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, email: str) -> str:
    response = client.post(f"{AUTH}/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["accessToken"]


def _refused(methods: list[str]) -> dict:
    return blog_error("ReauthenticationRequiredError", STEP_UP_MESSAGE, {"methods": methods})


def _reauthenticate(client, token: str, **proof):
    return client.post(f"{AUTH}/reauthenticate", json=proof, headers=_bearer(token))


def _with_totp(client, token: str):
    started = client.post(f"{AUTH}/mfa/totp", json={"password": PASSWORD}, headers=_bearer(token))
    assert started.status_code == 200, started.get_json()
    codes = codes_in_order(started.get_json()["secret"])
    confirmed = client.post(
        f"{AUTH}/mfa/totp/confirm", json={"code": next(codes)}, headers=_bearer(token)
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return started.get_json()["secret"], confirmed.get_json()["recoveryCodes"], codes


def _add_passkey(client, token: str, authenticator: SoftAuthenticator):
    options = client.post(f"{AUTH}/passkeys/register/options", headers=_bearer(token))
    assert options.status_code == 200, options.get_json()
    body = {"credential": authenticator.create(options.get_json())}
    return client.post(f"{AUTH}/passkeys/register", json=body, headers=_bearer(token))


def _events(name: str, outcome: str) -> int:
    return db.session.scalar(
        select(func.count()).where(AuthEvent.event == name, AuthEvent.outcome == outcome)
    )


# Each sensitive action of a signed-in user, as a thief with a stolen access token would try it.
SENSITIVE = [
    ("POST", f"{AUTH}/passkeys/register/options", None),
    ("POST", f"{AUTH}/passkeys/register", {"credential": {}}),
    ("DELETE", f"{AUTH}/passkeys/1", None),
    ("POST", f"{AUTH}/mfa/totp", {}),
    ("POST", f"{AUTH}/mfa/totp/confirm", {"code": "123456"}),
    ("DELETE", f"{AUTH}/identities/1", None),
    ("POST", "/api/v1/users/current/email", {"email": "elsewhere@example.com"}),
    ("DELETE", "/api/v1/users/current", None),
]


@pytest.mark.parametrize(("method", "path", "body"), SENSITIVE, ids=[p for _m, p, _b in SENSITIVE])
def test_a_sensitive_action_on_a_stale_session_asks_to_reauthenticate(
    client, app_context, method, path, body
):
    user = make_user()
    token = _login(client, user.email)
    age_proofs(STALE)

    response = client.open(path, method=method, json=body, headers=_bearer(token))

    assert response.status_code == 401
    assert response.get_json() == _refused(["password"])
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_fresh_login_is_its_own_proof_for_five_minutes(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    age_proofs(STALE - 30)  # a margin a loaded CI machine cannot use up

    response = client.post(f"{AUTH}/passkeys/register/options", headers=_bearer(token))

    assert response.status_code == 200


def test_the_step_up_window_is_auth_reauth_max_age_seconds(client, app, app_context):
    app.config["AUTH_REAUTH_MAX_AGE_SECONDS"] = 60
    user = make_user()
    token = _login(client, user.email)
    age_proofs(61)

    response = client.post(f"{AUTH}/passkeys/register/options", headers=_bearer(token))

    assert response.status_code == 401


def test_reauthenticating_with_the_password_gives_a_fresh_token_of_the_same_session(
    client, app_context
):
    user = make_user()
    token = _login(client, user.email)
    age_proofs(STALE)

    response = _reauthenticate(client, token, password=PASSWORD)

    assert response.status_code == 200
    assert response.get_json() == {"accessToken": JWT}
    old, new = decode_token(token), decode_token(response.get_json()["accessToken"])
    assert new["sid"] == old["sid"]
    proved_at = db.session.scalar(
        select(SignInSession.auth_time).where(SignInSession.id == new["sid"])
    )
    assert new["auth_time"] == int(proved_at.timestamp()) >= old["auth_time"]
    assert new["amr"] == old["amr"] == ["pwd"]
    assert new["fresh"] == new["auth_time"] + 300
    fresh = _bearer(response.get_json()["accessToken"])
    assert client.post(f"{AUTH}/passkeys/register/options", headers=fresh).status_code == 200


def test_every_access_token_carries_auth_time_and_refresh_keeps_it(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    login = decode_token(token)

    refreshed = decode_token(client.post(f"{AUTH}/refresh-token").get_json()["accessToken"])

    # The login proved who it was as the session opened, a moment before the token was minted
    # (the same second, or the next one when a second ended between the two).
    assert login["auth_time"] <= login["iat"] <= login["auth_time"] + 1
    assert refreshed["auth_time"] == login["auth_time"]


def test_the_session_records_when_and_how_its_holder_last_proved_who_they_are(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    age_proofs(STALE)

    _reauthenticate(client, token, password=PASSWORD)

    session = db.session.scalar(select(SignInSession).where(SignInSession.user_id == user.id))
    assert session.auth_methods == "pwd"
    assert (datetime.now(UTC) - session.auth_time).total_seconds() < 5
    assert session.second_factor_at is None


def test_a_wrong_password_is_400_and_draws_from_the_accounts_budget(client, app, app_context):
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP"] = "2 per minute"
    user = make_user()
    token = _login(client, user.email)

    answers = [_reauthenticate(client, token, password="not the password") for _ in range(3)]

    assert answers[0].status_code == 400
    assert answers[0].get_json() == blog_error("ValidationError", "Current password is incorrect.")
    assert [answer.status_code for answer in answers[1:]] == [400, 429]
    assert _login_status(client, user.email) == 429  # the owner's budget from this address too
    assert _events("reauthenticated", "failure") == 2


def _login_status(client, email: str) -> int:
    return client.post(f"{AUTH}/login", json={"email": email, "password": PASSWORD}).status_code


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"password": PASSWORD, "code": "123456"},
        {"code": "123456", "recoveryCode": "abcde-fghjk"},
        {"password": 7},
        {"passwd": PASSWORD},
    ],
    ids=["none", "two", "two-codes", "not-a-string", "unknown-field"],
)
def test_reauthenticate_takes_exactly_one_proof(client, app_context, body):
    user = make_user()

    response = _reauthenticate(client, _login(client, user.email), **body)

    assert response.status_code == 400
    assert response.get_json()["error"] == "ValidationError"


def test_reauthenticate_needs_an_access_token(client):
    response = client.post(f"{AUTH}/reauthenticate", json={"password": PASSWORD})

    assert response.status_code == 401
    assert response.get_json()["error"] == "AuthenticationError"


def test_with_a_second_factor_the_password_alone_cannot_change_factors(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    _secret, _recovery, _codes = _with_totp(client, token)
    age_proofs(STALE)

    reauthenticated = _reauthenticate(client, token, password=PASSWORD).get_json()["accessToken"]
    options = client.post(f"{AUTH}/passkeys/register/options", headers=_bearer(reauthenticated))
    codes = client.post(
        f"{AUTH}/mfa/recovery-codes", json={"password": PASSWORD}, headers=_bearer(reauthenticated)
    )

    assert options.status_code == codes.status_code == 401
    assert options.get_json() == _refused(["totp", "recoveryCode"])
    assert codes.get_json() == _refused(["totp", "recoveryCode"])


def test_a_totp_code_is_the_second_factor_that_lets_factors_change(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    _secret, _recovery, codes = _with_totp(client, token)
    age_proofs(STALE)

    proved = _reauthenticate(client, token, code=next(codes))
    fresh = _bearer(proved.get_json()["accessToken"])

    assert proved.status_code == 200
    assert decode_token(proved.get_json()["accessToken"])["amr"] == ["pwd"]  # the login's
    added = _add_passkey(client, proved.get_json()["accessToken"], SoftAuthenticator())
    assert added.status_code == 201
    new_codes = client.post(f"{AUTH}/mfa/recovery-codes", json={}, headers=fresh)
    assert new_codes.status_code == 200
    session = db.session.scalar(select(SignInSession).where(SignInSession.user_id == user.id))
    assert session.auth_methods == "otp"
    assert session.second_factor_at is not None


def test_a_recovery_code_reauthenticates_once(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    _secret, recovery, _codes = _with_totp(client, token)

    first = _reauthenticate(client, token, recoveryCode=recovery[0])
    again = _reauthenticate(client, token, recoveryCode=recovery[0])

    assert first.status_code == 200
    assert again.status_code == 400
    assert again.get_json() == blog_error("ValidationError", "The code is not valid.")


def test_a_totp_code_reauthenticates_once(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    _secret, _recovery, codes = _with_totp(client, token)
    code = next(codes)

    assert _reauthenticate(client, token, code=code).status_code == 200
    assert _reauthenticate(client, token, code=code).status_code == 400


def test_a_wrong_code_is_400_and_audited(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    secret, _recovery, _codes = _with_totp(client, token)

    response = _reauthenticate(client, token, code=wrong_code(secret))

    assert response.status_code == 400
    assert _events("reauthenticated", "failure") == 1


def test_a_passkey_reauthenticates_and_counts_as_a_second_factor(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    authenticator = SoftAuthenticator()
    assert _add_passkey(client, token, authenticator).status_code == 201
    age_proofs(STALE)

    options = client.post(f"{AUTH}/reauthenticate/passkey-options", headers=_bearer(token))
    proved = _reauthenticate(client, token, credential=authenticator.get(options.get_json()))

    assert options.status_code == 200
    assert options.get_json()["allowCredentials"][0]["id"] == authenticator.id
    assert proved.status_code == 200
    passkey_id = db.session.scalar(select(Passkey.id).where(Passkey.user_id == user.id))
    removed = client.delete(
        f"{AUTH}/passkeys/{passkey_id}", headers=_bearer(proved.get_json()["accessToken"])
    )
    assert removed.status_code == 200


def test_another_users_passkey_does_not_reauthenticate(client, app_context):
    owner, stranger = make_user(), make_user()
    theirs = SoftAuthenticator()
    _add_passkey(client, _login(client, owner.email), theirs)
    mine = _login(client, stranger.email)
    _add_passkey(client, mine, SoftAuthenticator())

    options = client.post(f"{AUTH}/reauthenticate/passkey-options", headers=_bearer(mine))
    response = _reauthenticate(client, mine, credential=theirs.get(options.get_json()))

    assert response.status_code == 400


def test_passkey_options_for_an_account_without_passkeys_say_what_it_can_use(client, app_context):
    user = make_user()

    response = client.post(
        f"{AUTH}/reauthenticate/passkey-options", headers=_bearer(_login(client, user.email))
    )

    assert response.status_code == 401
    assert response.get_json() == blog_error(
        "ReauthenticationRequiredError", "The account has no passkey.", {"methods": ["password"]}
    )


def test_turning_totp_off_with_a_code_is_its_own_proof(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    _secret, _recovery, codes = _with_totp(client, token)
    age_proofs(STALE)

    response = client.delete(f"{AUTH}/mfa/totp", json={"code": next(codes)}, headers=_bearer(token))

    assert response.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(TotpFactor)) == 0


def test_the_password_brought_along_is_a_proof_for_enrolment_and_its_confirmation(
    client, app_context
):
    user = make_user()
    token = _login(client, user.email)
    age_proofs(STALE)

    started = client.post(f"{AUTH}/mfa/totp", json={"password": PASSWORD}, headers=_bearer(token))
    code = pyotp.TOTP(started.get_json()["secret"]).now()
    confirmed = client.post(f"{AUTH}/mfa/totp/confirm", json={"code": code}, headers=_bearer(token))

    assert started.status_code == 200
    assert confirmed.status_code == 200


def test_change_password_with_the_current_password_needs_no_earlier_proof(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    age_proofs(STALE)

    response = client.post(
        f"{AUTH}/change-password",
        json={"currentPassword": PASSWORD, "newPassword": "a fresh new passphrase"},
        headers=_bearer(token),
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "body"),
    [("PATCH", {"role": "admin"}), ("PATCH", {"isActive": False}), ("PATCH", {"mfa": False}),
     ("DELETE", None)],
    ids=["role", "status", "second-factor", "delete"],
)  # fmt: skip
def test_an_admins_change_to_another_account_needs_a_recent_proof(
    client, app_context, method, body
):
    admin, target = make_admin(), make_user()
    token = _login(client, admin.email)
    age_proofs(STALE)

    refused = client.open(
        f"/api/v1/users/{target.id}", method=method, json=body, headers=_bearer(token)
    )
    fresh = _reauthenticate(client, token, password=PASSWORD).get_json()["accessToken"]
    done = client.open(
        f"/api/v1/users/{target.id}", method=method, json=body, headers=_bearer(fresh)
    )

    assert refused.status_code == 401
    assert refused.get_json() == _refused(["password"])
    assert done.status_code == 200


def test_reauthenticating_one_session_leaves_the_others_stale(client, app_context):
    user = make_user()
    first, second = _login(client, user.email), _login(client, user.email)
    age_proofs(STALE)

    _reauthenticate(client, first, password=PASSWORD)
    response = client.post(f"{AUTH}/passkeys/register/options", headers=_bearer(second))

    assert response.status_code == 401


def test_an_ended_session_cannot_reauthenticate(client, app_context):
    user = make_user()
    token = _login(client, user.email)
    client.post(f"{AUTH}/logout", headers=_bearer(token))

    response = _reauthenticate(client, token, password=PASSWORD)

    assert response.status_code == 401
    assert response.get_json()["error"] == "AuthenticationError"


def test_reauthentication_is_audited_with_its_method(client, app_context):
    user = make_user()
    token = _login(client, user.email)

    _reauthenticate(client, token, password=PASSWORD)

    event = db.session.scalar(select(AuthEvent).where(AuthEvent.event == "reauthenticated"))
    assert (event.outcome, event.user_id, event.details) == (
        "success",
        user.id,
        {"methods": ["pwd"]},
    )
