"""A native app's provider sign-in through the system browser (issue 35, RFC 8252): the app
names its registered redirect URI as ``next`` with a PKCE challenge; the provider's return
hands it a one-time code there (never tokens), which POST /auth/oidc/exchange turns into
tokens in the body for the holder of the verifier, once and within 60 seconds."""

import base64
import hashlib
import secrets
import uuid
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from flask_jwt_extended import decode_token
from sqlalchemy import select

from app.core.configuration import ConfigurationError
from app.core.models import SignInSession
from app.core.models import User
from app.database import db
from tests.api.blog.test_oidc_token_exchange import provider_settings
from tests.api.blog.test_oidc_web_flow import BASE
from tests.api.blog.test_oidc_web_flow import FRONTEND
from tests.api.blog.test_oidc_web_flow import LOGIN
from tests.api.blog.test_oidc_web_flow import _clients
from tests.api.blog.test_oidc_web_flow import _confirmed_totp
from tests.api.blog.test_oidc_web_flow import _refresh_cookie
from tests.conftest import make_app
from tests.matchers import JWT
from tests.openid_provider import running_provider
from tests.openid_provider import sign_in_at_provider

APP_URI = "com.example.notes:/oauth2redirect"
EXCHANGE = "/api/v1/auth/oidc/exchange"
NATIVE = {"X-Client-Type": "native"}


@pytest.fixture(scope="module")
def provider():
    with running_provider(clients=_clients()) as running:
        yield running


@pytest.fixture
def app_overrides(provider):
    return provider_settings(
        provider.issuer, AUTH_FRONTEND_URL=FRONTEND, AUTH_NATIVE_REDIRECT_URIS=[APP_URI]
    )


def pkce() -> tuple[str, str]:
    """A verifier and its S256 challenge, as an app's AppAuth library makes them."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _login_name() -> str:
    return f"app-{uuid.uuid4().hex[:10]}@example.com"


def _start(client, challenge: str | None, **extra: str):
    query = {"next": APP_URI, **extra}
    if challenge is not None:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return client.get(f"{LOGIN}?{urlencode(query)}", base_url=BASE)


def _back_in_app(client, provider, login: str, challenge: str, state: str = "s-42") -> str:
    """Where the system browser lands at the end: the app's redirect URI, with its query."""
    started = _start(client, challenge, state=state)
    assert started.status_code == 302, started.get_data(as_text=True)
    callback = sign_in_at_provider(
        requests.Session(), provider, started.headers["Location"], login
    ).headers["Location"]
    landed = client.get(callback)
    assert landed.status_code == 302
    return landed.headers["Location"]


def _query(location: str) -> dict[str, str]:
    assert location.startswith(APP_URI + "?"), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def _exchange(client, code: str, verifier: str, **extra):
    body = {"code": code, "codeVerifier": verifier, **extra}
    return client.post(EXCHANGE, json=body, headers=NATIVE)


def test_the_app_gets_a_one_time_code_at_its_redirect_uri_and_no_session_cookie(
    client, app_context, provider
):
    _verifier, challenge = pkce()

    landed = _back_in_app(client, provider, _login_name(), challenge)

    query = _query(landed)
    assert set(query) == {"code", "state"}
    assert query["state"] == "s-42"
    assert _refresh_cookie(client) is None
    assert "eyJ" not in landed  # no JWT travels in the URL


def test_the_code_and_verifier_give_tokens_in_the_body(client, app_context, provider):
    verifier, challenge = pkce()
    email = _login_name()
    code = _query(_back_in_app(client, provider, email, challenge))["code"]

    response = _exchange(client, code, verifier, deviceName="Ada's iPhone")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["accessToken"], body["refreshToken"]) == (JWT, JWT)
    assert body["user"]["email"] == email
    assert not response.headers.getlist("Set-Cookie")
    assert decode_token(body["accessToken"])["amr"] == ["fed"]
    session = db.session.get(SignInSession, decode_token(body["refreshToken"])["sid"])
    assert (session.client_type, session.device_name) == ("native", "Ada's iPhone")
    refreshed = client.post(
        "/api/v1/auth/refresh-token", json={"refreshToken": body["refreshToken"]}, headers=NATIVE
    )
    assert refreshed.status_code == 200


def test_a_replayed_code_is_refused(client, app_context, provider):
    verifier, challenge = pkce()
    code = _query(_back_in_app(client, provider, _login_name(), challenge))["code"]
    assert _exchange(client, code, verifier).status_code == 200

    replayed = _exchange(client, code, verifier)

    assert replayed.status_code == 401
    assert replayed.get_json()["details"] == {"reason": "code_replayed"}


def test_a_wrong_verifier_is_refused_and_spends_the_code(client, app_context, provider):
    verifier, challenge = pkce()
    code = _query(_back_in_app(client, provider, _login_name(), challenge))["code"]

    wrong = _exchange(client, code, pkce()[0])
    then_right = _exchange(client, code, verifier)

    assert wrong.status_code == 401
    assert wrong.get_json()["details"] == {"reason": "invalid_code_verifier"}
    assert then_right.get_json()["details"] == {"reason": "code_replayed"}


def test_a_code_older_than_sixty_seconds_is_refused(client, app_context, provider, frozen_clock):
    verifier, challenge = pkce()
    code = _query(_back_in_app(client, provider, _login_name(), challenge))["code"]

    frozen_clock.advance(61)
    response = _exchange(client, code, verifier)

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "invalid_code"}


def test_a_forged_code_is_refused(client, app_context):
    response = _exchange(client, "gAAAAABforged" + "A" * 80, pkce()[0])

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "invalid_code"}


def test_an_app_sign_in_without_a_pkce_challenge_goes_back_to_the_app_refused(client):
    response = _start(client, None)

    assert response.status_code == 302
    assert _query(response.headers["Location"]) == {"error": "invalid_app_request"}


def test_a_plain_pkce_challenge_is_refused(client):
    verifier, _challenge = pkce()

    response = client.get(
        f"{LOGIN}?"
        + urlencode(
            {"next": APP_URI, "code_challenge": verifier, "code_challenge_method": "plain"}
        ),
        base_url=BASE,
    )

    assert _query(response.headers["Location"])["error"] == "invalid_app_request"


@pytest.mark.parametrize(
    "next_uri",
    [
        "com.example.notes:/oauth2redirect/extra",
        "com.example.evil:/oauth2redirect",
        "COM.EXAMPLE.NOTES:/oauth2redirect",
        "com.example.notes:/oauth2redirect?x=1",
    ],
)
def test_a_redirect_uri_not_registered_exactly_is_a_browser_sign_in_to_the_frontend(
    client, next_uri
):
    response = client.get(
        f"{LOGIN}?" + urlencode({"next": next_uri, "code_challenge": pkce()[1]}), base_url=BASE
    )

    assert response.status_code == 302
    assert not response.headers["Location"].startswith("com.example")


def test_a_refusal_at_the_callback_goes_back_to_the_app(client, provider):
    started = _start(client, pkce()[1], state="s-7")
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]

    query = urlencode({"error": "access_denied", "state": state, "iss": provider.issuer})
    response = client.get(f"{BASE}/api/v1/auth/oidc/test/callback?{query}")

    assert _query(response.headers["Location"]) == {"error": "provider_error", "state": "s-7"}


def test_an_account_with_totp_takes_the_second_step_at_the_exchange(client, app_context, provider):
    email = _login_name()
    verifier, challenge = pkce()
    code = _query(_back_in_app(client, provider, email, challenge))["code"]
    assert _exchange(client, code, verifier).status_code == 200
    user = db.session.scalars(select(User).where(User.email == email)).one()
    secret = _confirmed_totp(user)
    verifier, challenge = pkce()
    code = _query(_back_in_app(client, provider, email, challenge))["code"]

    asked = _exchange(client, code, verifier, deviceName="Ada's iPad")
    verified = client.post(
        "/api/v1/auth/mfa/verify",
        json={
            "mfaToken": asked.get_json()["details"]["mfaToken"],
            "code": pyotp.TOTP(secret).now(),
        },
        headers=NATIVE,
    )

    assert asked.status_code == 403
    assert asked.get_json()["error"] == "MfaRequiredError"
    assert verified.status_code == 200, verified.get_json()
    assert decode_token(verified.get_json()["accessToken"])["amr"] == ["fed", "otp", "mfa"]
    session_id = decode_token(verified.get_json()["refreshToken"])["sid"]
    assert db.session.get(SignInSession, session_id).device_name == "Ada's iPad"


@pytest.mark.parametrize(
    "uri",
    ["javascript:alert(1)", "data:text/html,x", "http://evil.example/", "app:/cb#x", "noscheme"],
)
def test_an_unsafe_native_redirect_uri_stops_startup(tmp_path, uri):
    with pytest.raises(ConfigurationError, match="AUTH_NATIVE_REDIRECT_URIS"):
        make_app(f"sqlite:///{tmp_path / 'x.db'}", AUTH_NATIVE_REDIRECT_URIS=[uri])
