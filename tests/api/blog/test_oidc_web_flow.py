"""The web redirect flow of an OpenID sign-in, against panva's oidc-provider on loopback: the
browser's trip to the provider is driven by HTTP (tests/openid_provider), the service's side
through Flask's client."""

import uuid
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pyotp
import pytest
import requests
from flask_jwt_extended import decode_token
from sqlalchemy import select

from app.core.factors import totp
from app.core.federation import oidc_flow
from app.core.models import OidcIdentity
from app.core.models import TotpFactor
from app.core.models import User
from app.database import db
from tests.api.blog.test_oidc_token_exchange import WEB_CLIENT
from tests.api.blog.test_oidc_token_exchange import WEB_SECRET
from tests.api.blog.test_oidc_token_exchange import provider_settings
from tests.conftest import dispose_engines
from tests.conftest import make_app
from tests.dialects import bearer
from tests.factories import PASSWORD
from tests.factories import age_proofs
from tests.factories import make_user
from tests.openid_provider import running_provider
from tests.openid_provider import sign_in_at_provider
from tests.openid_provider import web_client
from tests.ports import free_port

# The provider lets the service's (native-type) client come back to loopback on any port.
BASE = "http://127.0.0.1"
FRONTEND = "http://localhost:5173"
CALLBACK = f"{BASE}/api/v1/auth/oidc/test/callback"
LOGIN = "/api/v1/auth/oidc/test/login"


def _clients() -> list[dict[str, object]]:
    return [web_client(WEB_CLIENT, WEB_SECRET, CALLBACK)]


@pytest.fixture(scope="module")
def provider():
    accounts = {"unverified-web@example.com": {"email_verified": False}}
    with running_provider(clients=_clients(), accounts=accounts) as running:
        yield running


@pytest.fixture
def app_overrides(provider):
    return provider_settings(provider.issuer, AUTH_FRONTEND_URL=FRONTEND)


def _login_name() -> str:
    return f"web-{uuid.uuid4().hex[:10]}@example.com"


def _to_provider(client, next_path="/dashboard"):
    started = client.get(f"{LOGIN}?next={quote(next_path, safe='')}", base_url=BASE)
    assert started.status_code == 302, started.get_data(as_text=True)
    return started.headers["Location"]


def _back_from_provider(client, provider, login, next_path="/dashboard") -> str:
    """The callback URL the provider sends the browser back to, after ``login`` signs in."""
    answer = sign_in_at_provider(
        requests.Session(), provider, _to_provider(client, next_path), login
    )
    return answer.headers["Location"]


def _web_sign_in(client, provider, login, next_path="/dashboard"):
    return client.get(_back_from_provider(client, provider, login, next_path))


def _refresh_cookie(client):
    return client.get_cookie("refreshToken", domain="127.0.0.1", path="/api/v1/auth")


def _error_of(response) -> str | None:
    location = response.headers["Location"]
    assert location.startswith(f"{FRONTEND}/login"), location
    return parse_qs(urlsplit(location).query).get("error", [None])[0]


def test_the_login_redirect_carries_state_nonce_and_pkce_and_a_lax_flow_cookie(client, provider):
    location = _to_provider(client)

    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{provider.issuer}/")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["redirect_uri"] == [CALLBACK]
    cookie = client.get_cookie(
        "oidcFlow", domain="127.0.0.1", path="/api/v1/auth/oidc/test/callback"
    )
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert query["state"][0] not in cookie.value


def test_a_new_user_signs_in_and_lands_on_the_frontend_with_a_session(
    client, app_context, provider
):
    email = _login_name()

    landed = _web_sign_in(client, provider, email, "/posts/42?tab=comments")

    assert landed.status_code == 302
    assert landed.headers["Location"] == f"{FRONTEND}/posts/42?tab=comments"
    assert _refresh_cookie(client) is not None
    refreshed = client.post("/api/v1/auth/refresh-token", base_url=BASE)
    assert refreshed.status_code == 200, refreshed.get_json()
    me = client.get("/api/v1/users/current", headers=bearer(refreshed.get_json()["accessToken"]))
    assert me.get_json()["email"] == email
    assert client.get_cookie("oidcFlow", domain="127.0.0.1") is None


def test_a_second_sign_in_reaches_the_same_user(client, app_context, provider):
    email = _login_name()

    _web_sign_in(client, provider, email)
    _web_sign_in(client, provider, email)

    assert db.session.scalar(select(db.func.count()).select_from(User)) == 1
    assert db.session.scalar(select(db.func.count()).select_from(OidcIdentity)) == 1


def test_a_forged_state_is_refused_without_a_session(client, provider):
    callback = _back_from_provider(client, provider, _login_name())
    forged = callback.replace("state=", "state=forged")

    response = client.get(forged)

    assert _error_of(response) == "invalid_state"
    assert _refresh_cookie(client) is None


def test_a_callback_replayed_without_its_cookie_is_refused(app, client, provider):
    callback = _back_from_provider(client, provider, _login_name())

    response = app.test_client().get(callback)

    assert _error_of(response) == "flow_expired"


def test_a_callback_replayed_with_its_cookie_is_refused(app, client, provider):
    callback = _back_from_provider(client, provider, _login_name())
    flow = client.get_cookie("oidcFlow", domain="127.0.0.1", path="/api/v1/auth/oidc/test/callback")
    first = client.get(callback)
    replayer = app.test_client()
    replayer.set_cookie("oidcFlow", flow.value, domain="127.0.0.1", path=flow.path)

    replayed = replayer.get(callback)

    assert first.headers["Location"] == f"{FRONTEND}/dashboard"
    assert _error_of(replayed) == "invalid_state"
    assert _refresh_cookie(replayer) is None


def test_the_providers_refusal_comes_back_as_an_error_redirect(client, provider):
    state = parse_qs(urlsplit(_to_provider(client)).query)["state"][0]

    # RFC 9207 2: a provider that names itself does so in error responses too.
    query = urlencode({"error": "access_denied", "state": state, "iss": provider.issuer})
    response = client.get(f"{CALLBACK}?{query}")

    assert _error_of(response) == "provider_error"


def test_a_return_without_iss_from_a_provider_that_always_names_itself_is_refused(client, provider):
    """RFC 9207: the tests' provider advertises authorization_response_iss_parameter_supported,
    so a return that leaves iss out did not come from it (a mix-up)."""
    state = parse_qs(urlsplit(_to_provider(client)).query)["state"][0]

    response = client.get(f"{CALLBACK}?code=anything&state={state}")

    assert _error_of(response) == "invalid_state"


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_a_next_that_leaves_the_frontend_falls_back_to_the_root(client, provider, next_path):
    landed = _web_sign_in(client, provider, _login_name(), next_path)

    assert landed.headers["Location"] == f"{FRONTEND}/"


def test_a_provider_that_is_down_gives_an_error_redirect(database_url, seed_rows):
    closed = f"http://127.0.0.1:{free_port()}"
    app = make_app(database_url, **provider_settings(closed, AUTH_FRONTEND_URL=FRONTEND))
    try:
        response = app.test_client().get(LOGIN, base_url=BASE)
    finally:
        with app.app_context():
            dispose_engines()

    assert response.status_code == 302
    assert _error_of(response) == "provider_unavailable"


def test_an_unknown_provider_gives_an_error_redirect(client):
    response = client.get("/api/v1/auth/oidc/nobody/login", base_url=BASE)

    assert _error_of(response) == "unknown_provider"


def test_an_unverified_email_of_an_existing_account_is_refused_without_a_session(
    client, app_context, provider
):
    make_user(email="unverified-web@example.com", email_verified=True)

    response = _web_sign_in(client, provider, "unverified-web@example.com")

    assert _error_of(response) == "link_required"
    assert _refresh_cookie(client) is None


def test_an_account_with_totp_goes_through_the_second_step(client, app_context, provider):
    email = _login_name()
    _web_sign_in(client, provider, email)
    user = db.session.scalars(select(User).where(User.email == email)).one()
    secret = _confirmed_totp(user)
    client.delete_cookie("refreshToken", domain="127.0.0.1", path="/api/v1/auth")

    landed = _web_sign_in(client, provider, email)

    fragment = parse_qs(urlsplit(landed.headers["Location"]).fragment)
    assert landed.headers["Location"].startswith(f"{FRONTEND}/login#")
    assert fragment["methods"] == ["totp,recoveryCode"]
    assert _refresh_cookie(client) is None
    verified = client.post(
        "/api/v1/auth/mfa/verify",
        json={"mfaToken": fragment["mfaToken"][0], "code": pyotp.TOTP(secret).now()},
    )
    assert verified.status_code == 200, verified.get_json()
    assert decode_token(verified.get_json()["accessToken"])["amr"] == ["fed", "otp", "mfa"]


def _confirmed_totp(user: User) -> str:
    enrolment = totp.start_enrolment(user_id=user.id, account_name=user.email)
    db.session.commit()
    factor = db.session.scalars(select(TotpFactor).where(TotpFactor.user_id == user.id)).one()
    factor.confirmed_at = factor.created_at
    db.session.commit()
    return enrolment.secret


def test_a_signed_in_user_links_a_provider_account_from_settings(client, app_context, provider):
    local = make_user(email=_login_name())
    token = client.post(
        "/api/v1/auth/login", json={"email": local.email, "password": PASSWORD}
    ).get_json()["accessToken"]

    started = client.post(
        "/api/v1/auth/oidc/test/link?next=/settings", headers=bearer(token), base_url=BASE
    )
    answer = sign_in_at_provider(
        requests.Session(), provider, started.get_json()["authorizationUrl"], "other@corp.example"
    )
    linked = client.get(answer.headers["Location"])

    assert linked.headers["Location"] == f"{FRONTEND}/settings"
    identities = client.get("/api/v1/auth/identities", headers=bearer(token)).get_json()
    assert [i["email"] for i in identities["identities"]] == ["other@corp.example"]
    client.delete_cookie("refreshToken", domain="127.0.0.1", path="/api/v1/auth")
    _web_sign_in(client, provider, "other@corp.example")
    refreshed = client.post("/api/v1/auth/refresh-token", base_url=BASE).get_json()
    me = client.get("/api/v1/users/current", headers=bearer(refreshed["accessToken"])).get_json()
    assert me["email"] == local.email


def test_linking_needs_a_recent_proof_and_a_second_factor_when_the_account_has_one(
    client, app_context, provider
):
    local = make_user(email=_login_name())
    token = client.post(
        "/api/v1/auth/login", json={"email": local.email, "password": PASSWORD}
    ).get_json()["accessToken"]
    age_proofs(301)

    stale = client.post("/api/v1/auth/oidc/test/link", headers=bearer(token), base_url=BASE)
    _confirmed_totp(local)
    by_password = client.post(
        "/api/v1/auth/reauthenticate", json={"password": PASSWORD}, headers=bearer(token)
    ).get_json()["accessToken"]
    password_only = client.post(
        "/api/v1/auth/oidc/test/link", headers=bearer(by_password), base_url=BASE
    )

    assert stale.status_code == 401
    assert stale.get_json()["details"] == {"methods": ["password"]}
    assert "Set-Cookie" not in stale.headers  # no flow started
    assert password_only.status_code == 401
    assert password_only.get_json()["details"] == {"methods": ["totp"]}


def test_linking_needs_a_bearer_token(client):
    response = client.post("/api/v1/auth/oidc/test/link", base_url=BASE)

    assert response.status_code == 401
    assert response.get_json()["error"] == "AuthenticationError"


@pytest.fixture(scope="module")
def conforming_provider():
    """A provider whose ID tokens carry only sub and the like: the email is in userinfo."""
    with running_provider(clients=_clients(), conform_id_token_claims=True) as running:
        yield running


def test_the_email_is_read_from_userinfo_when_the_id_token_lacks_it(
    database_url, seed_rows, conforming_provider
):
    app = make_app(
        database_url, **provider_settings(conforming_provider.issuer, AUTH_FRONTEND_URL=FRONTEND)
    )
    client = app.test_client()
    email = _login_name()
    try:
        with app.app_context():
            landed = _web_sign_in(client, conforming_provider, email)
            created = db.session.scalars(select(User.email)).all()
    finally:
        with app.app_context():
            dispose_engines()

    assert landed.headers["Location"] == f"{FRONTEND}/dashboard"
    assert email in created


def test_a_bad_code_comes_back_as_an_error_redirect_not_a_500(client, provider):
    callback = _back_from_provider(client, provider, _login_name())
    code = parse_qs(urlsplit(callback).query)["code"][0]

    response = client.get(callback.replace(f"code={code}", "code=not-a-code-the-provider-gave"))

    assert _error_of(response) == "code_exchange_failed"
    assert _refresh_cookie(client) is None


def test_an_unexpected_failure_at_the_callback_is_an_error_redirect_not_a_500(
    client, provider, monkeypatch
):
    callback = _back_from_provider(client, provider, _login_name())

    def broken(**_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(oidc_flow, "finish", broken)
    response = client.get(callback)

    assert _error_of(response) == "server_error"
    assert _refresh_cookie(client) is None


def test_the_redirect_uri_comes_from_the_public_url_not_the_requests_host(app, client):
    """A Host header of the attacker's choosing must not choose where the provider sends the
    browser back (with its code)."""
    app.config["AUTH_PUBLIC_URL"] = "https://auth.example.com"

    started = client.get(LOGIN, headers={"Host": "evil.example"})

    redirect_uri = parse_qs(urlsplit(started.headers["Location"]).query)["redirect_uri"][0]
    assert redirect_uri == "https://auth.example.com/api/v1/auth/oidc/test/callback"
