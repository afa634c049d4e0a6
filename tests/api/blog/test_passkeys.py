"""Passkeys on the blog API, with a software authenticator (tests/soft_authenticator.py):
adding, listing and removing them, a passwordless sign-in, the second step of a password
login, and the checks on sign counts, user verification, challenges and origins."""

import pytest
from fido2.utils import websafe_encode
from flask_jwt_extended import decode_token
from sqlalchemy import func
from sqlalchemy import select

from app.core.models import AuthEvent
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.matchers import JWT
from tests.matchers import TIMESTAMP
from tests.matchers import Matches
from tests.soft_authenticator import SoftAuthenticator

PASSKEYS = "/api/v1/auth/passkeys"
ORIGIN = "http://localhost:5000"  # AUTH_FRONTEND_URL's default: the relying party


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _access_token(client, email: str) -> str:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["accessToken"]


def _add_passkey(client, token: str, authenticator: SoftAuthenticator, name: str | None = None):
    options = client.post(f"{PASSKEYS}/register/options", headers=_bearer(token)).get_json()
    body = {"credential": authenticator.create(options)}
    if name is not None:
        body["name"] = name
    return client.post(f"{PASSKEYS}/register", json=body, headers=_bearer(token))


def _reauthenticated(client, token: str, authenticator: SoftAuthenticator) -> str:
    """A fresh access token of the same session, after proving who one is with a passkey: the
    step-up that adding or removing a factor needs once the account has one."""
    options = client.post("/api/v1/auth/reauthenticate/passkey-options", headers=_bearer(token))
    assert options.status_code == 200, options.get_json()
    proof = {"credential": authenticator.get(options.get_json())}
    response = client.post("/api/v1/auth/reauthenticate", json=proof, headers=_bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["accessToken"]


def _sign_in(client, authenticator: SoftAuthenticator, email: str | None = None, **get_kwargs):
    body = {} if email is None else {"email": email}
    options = client.post(f"{PASSKEYS}/login/options", json=body).get_json()
    credential = authenticator.get(options, **get_kwargs)
    return client.post(
        f"{PASSKEYS}/login", json={"challengeId": options["challengeId"], "credential": credential}
    )


def _events(name: str) -> int:
    return db.session.scalar(select(func.count()).where(AuthEvent.event == name))


def test_registration_options_are_webauthn_json_for_this_relying_party(client, app_context):
    user = make_user()

    response = client.post(
        f"{PASSKEYS}/register/options", headers=_bearer(_access_token(client, user.email))
    )

    options = response.get_json()
    assert response.status_code == 200
    assert options["rp"] == {"id": "localhost", "name": "Auth Service"}
    assert options["user"]["name"] == user.email
    assert options["challenge"] == Matches(r"[A-Za-z0-9_-]{40,}")
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]


def test_a_passkey_is_added_listed_and_removed(client, app_context):
    user = make_user()
    token = _access_token(client, user.email)
    authenticator = SoftAuthenticator()

    added = _add_passkey(client, token, authenticator, name="Laptop")
    listed = client.get(PASSKEYS, headers=_bearer(token))
    token = _reauthenticated(client, token, authenticator)
    removed = client.delete(f"{PASSKEYS}/{added.get_json()['id']}", headers=_bearer(token))

    passkey = {k: v for k, v in added.get_json().items() if k != "recoveryCodes"}
    assert added.status_code == 201
    assert passkey == {
        "id": Matches(r"\d+"), "name": "Laptop", "createdAt": TIMESTAMP, "lastUsedAt": None,
    }  # fmt: skip
    assert listed.get_json() == {"passkeys": [passkey]}
    assert removed.status_code == 200
    assert client.get(PASSKEYS, headers=_bearer(token)).get_json() == {"passkeys": []}
    assert (_events("passkey_added"), _events("passkey_removed")) == (1, 1)


def test_adding_a_passkey_ends_the_other_sessions(client, app_context):
    user = make_user()
    other = _access_token(client, user.email)

    _add_passkey(client, _access_token(client, user.email), SoftAuthenticator())

    assert client.get("/api/v1/users/current", headers=_bearer(other)).status_code == 401


def test_another_users_passkey_cannot_be_removed(client, app_context):
    owner, stranger = make_user(), make_user()
    added = _add_passkey(client, _access_token(client, owner.email), SoftAuthenticator())

    response = client.delete(
        f"{PASSKEYS}/{added.get_json()['id']}",
        headers=_bearer(_access_token(client, stranger.email)),
    )

    assert response.status_code == 404


def test_a_registration_from_another_origin_is_refused(client, app_context):
    user = make_user()

    response = _add_passkey(
        client, _access_token(client, user.email), SoftAuthenticator(origin="https://evil.example")
    )

    assert response.status_code == 400
    assert response.get_json()["message"] == "The passkey could not be verified."


def test_a_registration_challenge_works_once(client, app_context):
    user = make_user()
    token = _access_token(client, user.email)
    options = client.post(f"{PASSKEYS}/register/options", headers=_bearer(token)).get_json()
    first, second = SoftAuthenticator(), SoftAuthenticator()

    ok = client.post(
        f"{PASSKEYS}/register", json={"credential": first.create(options)}, headers=_bearer(token)
    )
    token = _reauthenticated(client, token, first)
    again = client.post(
        f"{PASSKEYS}/register", json={"credential": second.create(options)}, headers=_bearer(token)
    )

    assert ok.status_code == 201
    assert again.status_code == 400


def test_a_passwordless_sign_in_with_a_discoverable_passkey(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    _add_passkey(client, _access_token(client, user.email), authenticator)

    response = _sign_in(client, authenticator)

    assert response.status_code == 200
    assert response.get_json()["accessToken"] == JWT
    assert response.get_json()["user"]["email"] == user.email
    assert any(c.startswith("refreshToken=") for c in response.headers.getlist("Set-Cookie"))
    assert decode_token(response.get_json()["accessToken"])["amr"] == ["hwk", "mfa"]


def test_a_synced_passkey_counts_as_a_software_key(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator(backed_up=True)
    _add_passkey(client, _access_token(client, user.email), authenticator)

    response = _sign_in(client, authenticator, email=user.email)

    assert decode_token(response.get_json()["accessToken"])["amr"] == ["swk", "mfa"]


def test_sign_in_options_for_an_email_name_its_passkeys(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    _add_passkey(client, _access_token(client, user.email), authenticator)

    options = client.post(f"{PASSKEYS}/login/options", json={"email": user.email}).get_json()

    assert [c["id"] for c in options["allowCredentials"]] == [authenticator.id]
    assert options["userVerification"] == "required"
    assert options["challengeId"] == Matches(r"[A-Za-z0-9_-]{43}")


def test_sign_in_options_do_not_tell_whether_an_email_has_an_account(client, app_context):
    first = client.post(f"{PASSKEYS}/login/options", json={"email": "nobody@example.com"})
    second = client.post(f"{PASSKEYS}/login/options", json={"email": "nobody@example.com"})
    user = make_user()
    without_passkeys = client.post(f"{PASSKEYS}/login/options", json={"email": user.email})

    decoys = [r.get_json()["allowCredentials"] for r in (first, second, without_passkeys)]
    assert decoys[0] == decoys[1] and len(decoys[0]) == 1
    assert len(decoys[2]) == 1 and decoys[2] != decoys[0]


def test_sign_in_options_of_a_known_and_an_unknown_email_have_one_shape(client, app_context):
    """Real entries carried the authenticator's transports and the decoy none: the shape
    told which addresses have passkeys."""
    user = make_user()
    _add_passkey(client, _access_token(client, user.email), SoftAuthenticator())

    known = client.post(f"{PASSKEYS}/login/options", json={"email": user.email}).get_json()
    unknown = client.post(f"{PASSKEYS}/login/options", json={"email": "no@example.com"}).get_json()

    assert known.keys() == unknown.keys()
    assert [entry.keys() for entry in known["allowCredentials"]] == [
        entry.keys() for entry in unknown["allowCredentials"]
    ]
    assert known["allowCredentials"][0].keys() == {"id", "type"}


def test_an_assertion_naming_another_users_handle_is_refused(client, app_context):
    """WebAuthn 7.2 step 6: the user handle an assertion names must be its passkey's owner's
    (the handle is not signed, so only this check catches a swapped one)."""
    owner, other = make_user(), make_user()
    authenticator, others = SoftAuthenticator(), SoftAuthenticator()
    _add_passkey(client, _access_token(client, owner.email), authenticator)
    _add_passkey(client, _access_token(client, other.email), others)
    options = client.post(f"{PASSKEYS}/login/options", json={}).get_json()
    credential = authenticator.get(options)
    credential["response"]["userHandle"] = websafe_encode(others.user_handle)

    response = client.post(
        f"{PASSKEYS}/login", json={"challengeId": options["challengeId"], "credential": credential}
    )

    assert response.status_code == 400
    assert response.get_json()["message"] == "The passkey could not be verified."


def test_a_sign_in_without_user_verification_is_refused(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator(user_verified=False)
    _add_passkey(client, _access_token(client, user.email), authenticator)

    response = _sign_in(client, authenticator)

    assert response.status_code == 400


def test_a_cloned_authenticator_is_refused_and_audited(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    _add_passkey(client, _access_token(client, user.email), authenticator)
    assert _sign_in(client, authenticator, sign_count=5).status_code == 200

    response = _sign_in(client, authenticator, sign_count=3)

    assert response.status_code == 400
    event = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "passkey_cloned")).one()
    assert event.user_id == user.id
    assert event.details["sign_count"] == 3 and event.details["stored"] == 5


def test_a_sign_in_challenge_works_once(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    _add_passkey(client, _access_token(client, user.email), authenticator)
    options = client.post(f"{PASSKEYS}/login/options", json={}).get_json()
    body = {"challengeId": options["challengeId"], "credential": authenticator.get(options)}

    first = client.post(f"{PASSKEYS}/login", json=body)
    body["credential"] = authenticator.get(options)
    again = client.post(f"{PASSKEYS}/login", json=body)

    assert (first.status_code, again.status_code) == (200, 400)


def test_an_unknown_passkey_is_refused(client, app_context):
    response = _sign_in(client, SoftAuthenticator())

    assert response.status_code == 400
    assert response.get_json()["message"] == "The passkey could not be verified."


def test_a_password_login_of_an_account_with_a_passkey_waits_for_it(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator(user_verified=False)
    _add_passkey(client, _access_token(client, user.email), authenticator)

    held = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    details = held.get_json()["details"]
    done = client.post(
        "/api/v1/auth/mfa/verify",
        json={
            "mfaToken": details["mfaToken"],
            "credential": authenticator.get(details["passkeyOptions"]),
        },
    )

    assert held.status_code == 403
    assert details["methods"] == ["recoveryCode", "passkey"]
    assert [c["id"] for c in details["passkeyOptions"]["allowCredentials"]] == [authenticator.id]
    assert done.status_code == 200
    assert decode_token(done.get_json()["accessToken"])["amr"] == ["pwd", "hwk", "mfa"]


def test_a_first_passkey_gives_recovery_codes_once(client, app_context):
    user = make_user()
    token = _access_token(client, user.email)

    authenticator = SoftAuthenticator()

    first = _add_passkey(client, token, authenticator)
    second = _add_passkey(
        client, _reauthenticated(client, token, authenticator), SoftAuthenticator()
    )

    assert first.get_json()["recoveryCodes"] == [Matches(r"[a-z2-9]{5}-[a-z2-9]{5}")] * 10
    assert "recoveryCodes" not in second.get_json()


@pytest.mark.parametrize("path", ["/auth/login", "/api/auth/login", "/api/token/"])
def test_faces_without_a_second_step_refuse_an_account_with_a_passkey(client, app_context, path):
    user = make_user()
    _add_passkey(client, _access_token(client, user.email), SoftAuthenticator())

    response = client.post(path, json={"username": user.username, "password": PASSWORD})

    assert response.status_code == 401
    assert "signs in with a second factor" in str(response.get_json())


def test_removing_the_last_factor_lets_the_password_alone_sign_in(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    added = _add_passkey(client, _access_token(client, user.email), authenticator)
    token = _sign_in(client, authenticator).get_json()["accessToken"]

    client.delete(f"{PASSKEYS}/{added.get_json()['id']}", headers=_bearer(token))
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})

    assert response.status_code == 200


def test_a_malformed_credential_is_a_400_not_a_crash(client, app_context):
    user = make_user()
    token = _access_token(client, user.email)

    response = client.post(
        f"{PASSKEYS}/register",
        json={"credential": {"id": "x", "response": {}}},
        headers=_bearer(token),
    )

    assert response.status_code == 400


def test_passkey_options_are_given_again_for_an_mfa_token_that_came_without_them(
    client, app_context
):
    """An OpenID sign-in's redirect carries only the mfaToken: the SPA asks for the options."""
    user = make_user()
    authenticator = SoftAuthenticator(user_verified=False)
    _add_passkey(client, _access_token(client, user.email), authenticator)
    held = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    mfa_token = held.get_json()["details"]["mfaToken"]

    options = client.post("/api/v1/auth/mfa/passkey-options", json={"mfaToken": mfa_token})
    done = client.post(
        "/api/v1/auth/mfa/verify",
        json={"mfaToken": mfa_token, "credential": authenticator.get(options.get_json())},
    )

    assert options.status_code == 200
    assert done.status_code == 200, done.get_json()


@pytest.mark.parametrize(("mfa_token", "status"), [("not-a-token", 401), ("x" * 129, 400)])
def test_passkey_options_need_a_live_mfa_token(client, mfa_token, status):
    response = client.post("/api/v1/auth/mfa/passkey-options", json={"mfaToken": mfa_token})

    assert response.status_code == status


def test_without_android_apps_no_android_origin_is_accepted(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    _add_passkey(client, _access_token(client, user.email), authenticator)

    authenticator.origin = "android:apk-key-hash:" + "A" * 43
    response = _sign_in(client, authenticator)

    assert response.status_code == 400
    assert response.get_json()["error"] == "ValidationError"
