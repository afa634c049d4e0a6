"""The blog API for native apps (issue 35): with ``X-Client-Type: native`` every endpoint that
opens a session answers the refresh token in the body and sets no cookie, and refresh and
logout take it from the body, with the cookie's rotation, reuse detection and grace window.
A browser's requests are answered as before; a request that brings both is refused."""

import pytest
from flask_jwt_extended import decode_token
from sqlalchemy import select

from app.core.models import SignInSession
from app.database import db
from tests.api.blog.test_passkeys import _add_passkey
from tests.api.blog.test_second_factor import _with_totp
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.matchers import JWT
from tests.matchers import blog_error
from tests.signing import signed_part
from tests.soft_authenticator import SoftAuthenticator

AUTH = "/api/v1/auth"
NATIVE = {"X-Client-Type": "native"}
IPHONE = "Notes/3.1 CFNetwork/1494.0.7 Darwin/23.4.0"


def _native_login(client, email: str, **extra):
    headers = {**NATIVE, "User-Agent": IPHONE}
    body = {"email": email, "password": PASSWORD, **extra}
    return client.post(f"{AUTH}/login", json=body, headers=headers)


def _signed_in(client, email: str) -> dict:
    response = _native_login(client, email, deviceName="Ada's iPhone")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _refresh(client, refresh_token: str, headers=NATIVE):
    return client.post(
        f"{AUTH}/refresh-token", json={"refreshToken": refresh_token}, headers=headers
    )


def _no_cookie(response) -> bool:
    return not response.headers.getlist("Set-Cookie")


def _session(refresh_token: str) -> SignInSession:
    session_id = decode_token(refresh_token)["sid"]
    db.session.expire_all()
    return db.session.get(SignInSession, session_id)


def test_a_native_login_answers_the_refresh_token_in_the_body_and_sets_no_cookie(
    client, app_context
):
    user = make_user()

    response = _native_login(client, user.email)

    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["accessToken", "user", "refreshToken"]
    assert (body["accessToken"], body["refreshToken"]) == (JWT, JWT)
    assert decode_token(body["refreshToken"])["type"] == "refresh"
    assert _no_cookie(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_browser_login_is_answered_as_before(client, app_context):
    user = make_user()

    response = client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD})

    assert list(response.get_json()) == ["accessToken", "user"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("refreshToken=") and "HttpOnly" in cookie


def test_a_native_registration_answers_in_the_body(client, app_context):
    response = client.post(
        f"{AUTH}/register",
        json={"email": "new.app.user@example.com", "password": PASSWORD, "deviceName": "Pixel"},
        headers=NATIVE,
    )

    assert response.status_code == 201
    assert response.get_json()["refreshToken"] == JWT
    assert _no_cookie(response)
    assert _session(response.get_json()["refreshToken"]).device_name == "Pixel"


def test_a_native_refresh_rotates_the_body_token(client, app_context):
    first = _signed_in(client, make_user().email)["refreshToken"]

    response = _refresh(client, first)

    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["accessToken", "refreshToken"]
    assert body["refreshToken"] != first
    assert decode_token(body["refreshToken"])["sid"] == decode_token(first)["sid"]
    assert _no_cookie(response)
    assert _refresh(client, body["refreshToken"]).status_code == 200


def test_within_the_grace_window_a_spent_body_token_yields_the_same_successor(client, app_context):
    first = _signed_in(client, make_user().email)["refreshToken"]
    successor = _refresh(client, first).get_json()["refreshToken"]

    again = _refresh(client, first)

    assert again.status_code == 200
    assert signed_part(again.get_json()["refreshToken"]) == signed_part(successor)


def test_a_reused_body_token_after_the_grace_window_ends_the_session(client, app, app_context):
    app.config["AUTH_REFRESH_REUSE_GRACE_SECONDS"] = 0
    signed_in = _signed_in(client, make_user().email)
    successor = _refresh(client, signed_in["refreshToken"]).get_json()["refreshToken"]

    reused = _refresh(client, signed_in["refreshToken"])

    assert reused.status_code == 401
    assert _refresh(client, successor).status_code == 401
    assert _session(successor).revoked_at is not None


def test_a_native_logout_by_body_ends_the_session_and_sets_no_cookie(client, app_context):
    signed_in = _signed_in(client, make_user().email)
    headers = {**NATIVE, "Authorization": f"Bearer {signed_in['accessToken']}"}

    response = client.post(
        f"{AUTH}/logout", json={"refreshToken": signed_in["refreshToken"]}, headers=headers
    )

    assert response.status_code == 200
    assert response.get_json() == {"message": "Logged out successfully"}
    assert _no_cookie(response)
    assert _refresh(client, signed_in["refreshToken"]).status_code == 401


def test_a_native_logout_with_an_expired_access_token_ends_the_session_by_body(client, app_context):
    signed_in = _signed_in(client, make_user().email)
    headers = {**NATIVE, "Authorization": "Bearer not-a-token"}

    response = client.post(
        f"{AUTH}/logout", json={"refreshToken": signed_in["refreshToken"]}, headers=headers
    )

    assert response.status_code == 200
    assert _session(signed_in["refreshToken"]).revoked_at is not None


def test_a_request_with_both_a_cookie_and_a_body_token_is_refused(client, app_context):
    user = make_user()
    client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD})
    body_token = _signed_in(app_context_client(client), user.email)["refreshToken"]

    for headers in (NATIVE, {}):
        response = _refresh(client, body_token, headers=headers)

        assert response.status_code == 400
        assert response.get_json() == blog_error(
            "ValidationError",
            "Send the refresh token in the cookie or in the body, not both.",
            {"refreshToken": ["Sent both in a cookie and in the body."]},
        )
    assert _session(body_token).rotated_at is None


def app_context_client(client):
    """Another client of the same app: no cookie jar shared with ``client``."""
    return client.application.test_client()


def test_a_body_token_without_the_native_header_is_refused(client, app_context):
    token = _signed_in(client, make_user().email)["refreshToken"]

    response = _refresh(client, token, headers={})

    assert response.status_code == 400
    assert response.get_json()["details"] == {
        "X-Client-Type": ["Send native with a refreshToken in the body."]
    }


def test_a_native_refresh_without_a_body_names_the_missing_field(client, app_context):
    response = client.post(f"{AUTH}/refresh-token", headers=NATIVE)

    assert response.status_code == 400
    assert response.get_json() == blog_error(
        "ValidationError",
        "Validation failed.",
        {"refreshToken": ["Missing data for required field."]},
    )


def test_a_native_refresh_with_unknown_fields_is_refused(client, app_context):
    token = _signed_in(client, make_user().email)["refreshToken"]

    response = client.post(
        f"{AUTH}/refresh-token", json={"refreshToken": token, "extra": 1}, headers=NATIVE
    )

    assert response.status_code == 400
    assert "extra" in response.get_json()["details"]


@pytest.mark.parametrize("value", ["mobile", "", "native2"])
def test_an_unknown_client_type_is_refused(client, app_context, value):
    user = make_user()

    response = client.post(
        f"{AUTH}/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Client-Type": value},
    )

    assert response.status_code == 400
    assert response.get_json()["details"] == {"X-Client-Type": ["Must be one of: native, browser."]}


def test_client_type_browser_is_the_cookie_transport(client, app_context):
    user = make_user()

    response = client.post(
        f"{AUTH}/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-Client-Type": "Browser"},
    )

    assert response.status_code == 200
    assert "refreshToken" not in response.get_json()
    assert response.headers["Set-Cookie"].startswith("refreshToken=")


def test_the_session_list_shows_the_device_name_client_type_and_platform(client, app_context):
    signed_in = _signed_in(client, make_user().email)

    response = client.get(
        f"{AUTH}/sessions", headers={"Authorization": f"Bearer {signed_in['accessToken']}"}
    )

    [session] = response.get_json()["sessions"]
    assert session["deviceName"] == "Ada's iPhone"
    assert session["clientType"] == "native"
    assert session["platform"] == "iOS 17.4"
    assert session["userAgent"] == IPHONE
    assert session["current"] is True


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Length must be between 1 and 100."),
        ("   ", "Length must be between 1 and 100."),
        ("x" * 101, "Length must be between 1 and 100."),
        ("Ada\nphone", "Must not contain control characters."),
        (7, "Not a valid string."),
    ],
)
def test_a_bad_device_name_is_refused(client, app_context, name, message):
    user = make_user()

    response = _native_login(client, user.email, deviceName=name)

    assert response.status_code == 400
    assert response.get_json()["details"] == {"deviceName": [message]}


def test_the_second_step_works_the_same_for_a_native_app(client, app_context):
    user = make_user()
    _secret, _recovery, codes = _with_totp(client, user.email)

    first = _native_login(client, user.email, deviceName="Ada's iPad")
    assert first.status_code == 403
    assert first.get_json()["error"] == "MfaRequiredError"
    assert _no_cookie(first)
    verified = client.post(
        f"{AUTH}/mfa/verify",
        json={"mfaToken": first.get_json()["details"]["mfaToken"], "code": next(codes)},
        headers=NATIVE,
    )

    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["refreshToken"] == JWT
    assert _no_cookie(verified)
    session = _session(verified.get_json()["refreshToken"])
    assert (session.client_type, session.device_name) == ("native", "Ada's iPad")


def test_a_native_passkey_sign_in_answers_in_the_body(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    token = client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD})
    _add_passkey(client, token.get_json()["accessToken"], authenticator)
    options = client.post(f"{AUTH}/passkeys/login/options", json={}).get_json()
    body = {
        "challengeId": options["challengeId"],
        "credential": authenticator.get(options),
        "deviceName": "Ada's Pixel",
    }

    response = app_context_client(client).post(f"{AUTH}/passkeys/login", json=body, headers=NATIVE)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["refreshToken"] == JWT
    assert _no_cookie(response)
    assert _session(response.get_json()["refreshToken"]).device_name == "Ada's Pixel"


def test_reauthenticating_in_a_native_app_gives_an_access_token_and_no_cookie(client, app_context):
    signed_in = _signed_in(client, make_user().email)
    headers = {**NATIVE, "Authorization": f"Bearer {signed_in['accessToken']}"}

    response = client.post(f"{AUTH}/reauthenticate", json={"password": PASSWORD}, headers=headers)

    assert response.status_code == 200
    assert list(response.get_json()) == ["accessToken"]
    assert _no_cookie(response)
    assert _refresh(client, signed_in["refreshToken"]).status_code == 200


def test_logging_out_everywhere_from_a_native_app_sets_no_cookie(client, app_context):
    signed_in = _signed_in(client, make_user().email)
    headers = {**NATIVE, "Authorization": f"Bearer {signed_in['accessToken']}"}

    response = client.post(f"{AUTH}/logout-all", headers=headers)

    assert response.status_code == 200
    assert _no_cookie(response)
    assert _refresh(client, signed_in["refreshToken"]).status_code == 401


def test_native_refreshes_draw_from_the_per_address_token_budget(client, app, app_context):
    app.config["AUTH_RATELIMIT_REFRESH_PER_IP"] = "3 per minute"
    token = _signed_in(client, make_user().email)["refreshToken"]

    statuses = [_refresh(client, "garbage." + token[-10:]).status_code for _ in range(4)]

    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429


def test_the_refresh_token_is_read_once_from_a_browser_body_only_to_refuse_it(client, app_context):
    user = make_user()
    client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD})
    stored = db.session.scalars(select(SignInSession)).one()

    response = client.post(f"{AUTH}/refresh-token", json={"anything": "else"})

    assert response.status_code == 200
    assert response.headers["Set-Cookie"].startswith("refreshToken=")
    assert _session_rotated(stored.id)


def _session_rotated(session_id: str) -> bool:
    db.session.expire_all()
    return db.session.get(SignInSession, session_id).rotated_at is not None
