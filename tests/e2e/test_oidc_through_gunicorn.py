"""Sign-in with an OpenID provider through gunicorn (2 workers x 4 threads), against panva's
oidc-provider on loopback: the web flow as a browser makes it (requests keeping cookies), a
native app's ID-token exchange, and every refusal."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest
import requests

from tests.dialects import USER_ENDPOINTS
from tests.e2e import http
from tests.openid_provider import id_token_from_provider
from tests.openid_provider import native_client
from tests.openid_provider import new_signing_key
from tests.openid_provider import running_provider
from tests.openid_provider import sign_in_at_provider
from tests.openid_provider import web_client
from tests.ports import free_port

pytestmark = pytest.mark.e2e

WEB_CLIENT, WEB_SECRET = "authsvc-web", "web-client-secret-" + "y" * 32
APP_CLIENT, OTHER_APP = "authsvc-android", "someone-elses-app"
FRONTEND = "http://localhost:5173"
PARALLEL = 30


def _settings(issuer: str, **extra: str) -> dict[str, str]:
    return {
        "AUTH_OIDC_PROVIDERS": "test",
        "AUTH_OIDC_TEST_ISSUER": issuer,
        "AUTH_OIDC_TEST_CLIENT_ID": WEB_CLIENT,
        "AUTH_OIDC_TEST_CLIENT_SECRET": WEB_SECRET,
        "AUTH_OIDC_TEST_AUDIENCES": APP_CLIENT,
        "AUTH_FRONTEND_URL": FRONTEND,
        "AUTH_PUBLIC_URL": "http://127.0.0.1:{port}",
        # The module signs in well over the default 30 times a minute from one address.
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP": "1000 per minute",
        **extra,
    }


@pytest.fixture(scope="module")
def provider():
    clients = [
        web_client(WEB_CLIENT, WEB_SECRET, "http://127.0.0.1/api/v1/auth/oidc/test/callback"),
        native_client(APP_CLIENT),
        native_client(OTHER_APP),
    ]
    accounts = {
        "unverified@example.com": {"email_verified": False},
        "squatted@example.com": {"email_verified": False},
        "unproven@example.com": {"email_verified": False},
    }
    with running_provider(clients=clients, accounts=accounts) as running:
        yield running


@pytest.fixture(scope="module")
def server(start_module_server, provider):
    return start_module_server(**_settings(provider.issuer))


def _login_name() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}@example.com"


def _web_sign_in(server, provider, login, next_path="/dashboard"):
    """A browser's whole trip: the service, the provider's forms, the callback; the
    callback's answer, not followed, and the browser (its cookies)."""
    browser = requests.Session()
    started = browser.get(
        f"{server.url}/api/v1/auth/oidc/test/login?next={quote(next_path, safe='')}",
        allow_redirects=False,
        timeout=30,
    )
    assert started.status_code == 302, started.text
    back = sign_in_at_provider(browser, provider, started.headers["Location"], login)
    callback = back.headers["Location"]
    return browser.get(callback, allow_redirects=False, timeout=30), browser, callback


def _exchange(server, id_token, **body):
    return http.post(
        f"{server.url}/api/v1/auth/oidc/test/token", json={"idToken": id_token, **body}
    )


def _app_sign_in(server, provider, login, client_id=APP_CLIENT):
    nonce = uuid.uuid4().hex
    id_token = id_token_from_provider(provider, client_id, login, nonce=nonce)
    return _exchange(server, id_token, nonce=nonce)


def _error_of(response) -> str | None:
    location = response.headers["Location"]
    assert location.startswith(f"{FRONTEND}/login"), location
    return parse_qs(urlsplit(location).query).get("error", [None])[0]


def test_the_web_flow_signs_a_new_user_in_and_a_second_time_reaches_the_same_user(server, provider):
    email = _login_name()

    landed, browser, _ = _web_sign_in(server, provider, email, "/posts/7")
    refreshed = browser.post(f"{server.url}/api/v1/auth/refresh-token", timeout=30)
    _, browser_two, _ = _web_sign_in(server, provider, email)
    refreshed_two = browser_two.post(f"{server.url}/api/v1/auth/refresh-token", timeout=30)

    assert landed.status_code == 302
    assert landed.headers["Location"] == f"{FRONTEND}/posts/7"
    assert refreshed.status_code == refreshed_two.status_code == 200
    first_user = _current_user(server, refreshed.json()["accessToken"])
    assert first_user["email"] == email
    assert _current_user(server, refreshed_two.json()["accessToken"])["_id"] == first_user["_id"]


def _current_user(server, access_token):
    headers = {"Authorization": f"Bearer {access_token}"}
    return http.get(f"{server.url}/api/v1/users/current", headers=headers).json()


def test_the_mobile_exchange_gives_tokens_that_work_in_every_face(server, provider):
    response = _app_sign_in(server, provider, _login_name())

    assert response.status_code == 200, response.text
    tokens = response.json()
    headers = {"Authorization": f"Bearer {tokens['accessToken']}"}
    for endpoint in USER_ENDPOINTS:
        assert http.get(f"{server.url}{endpoint}", headers=headers).status_code == 200, endpoint
    rotated = http.post(
        f"{server.url}/api/token/refresh/", json={"refresh": tokens["refreshToken"]}
    )
    assert rotated.status_code == 200, rotated.text


def test_one_id_token_raced_by_thirty_requests_signs_in_once(server, provider):
    nonce = uuid.uuid4().hex
    id_token = id_token_from_provider(provider, APP_CLIENT, _login_name(), nonce=nonce)

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(
            pool.map(lambda _: _exchange(server, id_token, nonce=nonce), range(PARALLEL))
        )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [401] * (PARALLEL - 1)
    assert {a.json()["details"]["reason"] for a in answers if a.status_code == 401} == {
        "id_token_replayed"
    }


@pytest.mark.parametrize(
    "forge",
    [
        lambda p: p.sign(
            p.id_token_claims(APP_CLIENT, sub="x", email=_login_name()),
            key=new_signing_key("other"),
        ),
        lambda p: p.sign(p.id_token_claims(OTHER_APP, sub="x", email=_login_name())),
        lambda p: p.sign(
            p.id_token_claims(
                APP_CLIENT,
                sub="x",
                email=_login_name(),
                iat=int(time.time()) - 7200,
                exp=int(time.time()) - 3600,
            )
        ),
    ],
    ids=["another-key", "another-audience", "expired"],
)
def test_a_forged_wrong_or_expired_id_token_is_refused(server, provider, forge):
    response = _exchange(server, forge(provider))

    assert response.status_code == 401
    assert response.json()["details"] == {"reason": "invalid_id_token"}


def test_a_token_the_provider_issued_to_another_app_is_refused(server, provider):
    response = _app_sign_in(server, provider, _login_name(), client_id=OTHER_APP)

    assert response.status_code == 401
    assert response.json()["details"] == {"reason": "invalid_id_token"}


def test_an_unverified_provider_email_matching_an_account_is_refused(server, provider):
    server.create_user("unverified", password="unverified Passphrase 1")

    mobile = _app_sign_in(server, provider, "unverified@example.com")
    web, browser, _ = _web_sign_in(server, provider, "unverified@example.com")

    assert mobile.status_code == 401
    assert mobile.json()["details"] == {"reason": "link_required"}
    assert _error_of(web) == "link_required"
    assert "refreshToken" not in browser.cookies


def _at_callback(server, provider):
    """A browser back from the provider, before its callback: the browser and the URL."""
    browser = requests.Session()
    started = browser.get(f"{server.url}/api/v1/auth/oidc/test/login", allow_redirects=False)
    back = sign_in_at_provider(browser, provider, started.headers["Location"], _login_name())
    return browser, back.headers["Location"]


def test_a_forged_state_is_refused_without_a_session(server, provider):
    browser, callback = _at_callback(server, provider)

    forged = browser.get(callback.replace("state=", "state=x"), allow_redirects=False)

    assert _error_of(forged) == "invalid_state"
    assert "refreshToken" not in browser.cookies


def test_a_callback_replayed_without_its_cookie_is_refused(server, provider):
    browser, callback = _at_callback(server, provider)
    signed_in = browser.get(callback, allow_redirects=False)

    replayed = http.get(callback, allow_redirects=False)

    assert signed_in.headers["Location"] == f"{FRONTEND}/"
    assert _error_of(replayed) == "flow_expired"
    assert "refreshToken" not in replayed.cookies


def test_a_callback_replayed_with_its_cookie_is_refused(server, provider):
    browser, callback = _at_callback(server, provider)
    flow = browser.cookies.get("oidcFlow")
    signed_in = browser.get(callback, allow_redirects=False)

    replayed = http.get(callback, allow_redirects=False, headers={"Cookie": f"oidcFlow={flow}"})

    assert signed_in.headers["Location"] == f"{FRONTEND}/"
    assert _error_of(replayed) == "invalid_state"
    assert "refreshToken" not in replayed.cookies


@pytest.mark.parametrize(
    "next_path", ["//evil.example/", "https://evil.example/", "/\\evil.example", "/ok\\..\\x"]
)
def test_next_cannot_send_the_browser_off_the_frontend(server, provider, next_path):
    landed, _, _ = _web_sign_in(server, provider, _login_name(), next_path)

    assert landed.headers["Location"] == f"{FRONTEND}/"


def test_a_provider_down_at_startup_and_at_login_gives_error_redirects_then_recovers(
    start_module_server,
):
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    server = start_module_server(**_settings(issuer, AUTH_OIDC_RETRY_SECONDS="1"))

    down = http.get(f"{server.url}/api/v1/auth/oidc/test/login", allow_redirects=False)
    mobile_down = _exchange(server, "a.b.c")
    health = http.get(f"{server.url}/healthz")
    clients = [web_client(WEB_CLIENT, WEB_SECRET, "http://127.0.0.1/cb"), native_client(APP_CLIENT)]
    with running_provider(clients=clients, port=port):
        time.sleep(1.2)
        up = http.get(f"{server.url}/api/v1/auth/oidc/test/login", allow_redirects=False)

    assert _error_of(down) == "provider_unavailable"
    assert mobile_down.status_code == 503
    assert mobile_down.json()["details"] == {"reason": "provider_unavailable"}
    assert health.status_code == 200
    assert "OpenID provider unavailable" in server.logs()
    assert up.headers["Location"].startswith(f"{issuer}/auth?")


def test_first_sign_ins_of_one_new_identity_at_once_make_one_user(server, provider):
    """The same person on several devices at once, each with its own ID token: one user."""
    email = _login_name()
    signed = []
    for _ in range(8):
        nonce = uuid.uuid4().hex
        signed.append((id_token_from_provider(provider, APP_CLIENT, email, nonce=nonce), nonce))

    with ThreadPoolExecutor(len(signed)) as pool:
        answers = list(pool.map(lambda pair: _exchange(server, pair[0], nonce=pair[1]), signed))

    assert [a.status_code for a in answers] == [200] * len(signed), [a.text for a in answers]
    assert len({a.json()["user"]["_id"] for a in answers}) == 1


def test_removing_the_last_two_ways_in_at_once_leaves_one(server, provider):
    """An account without a password and with two linked identities: both removed at once,
    one removal wins and the other is refused as the last way in."""
    email = _login_name()
    first = _app_sign_in(server, provider, email)
    second_identity = provider.id_token_claims(APP_CLIENT, sub=f"other-{email}", email=email)
    linked = _exchange(server, provider.sign(second_identity | {"email_verified": True}))
    headers = {"Authorization": f"Bearer {first.json()['accessToken']}"}
    identities = http.get(f"{server.url}/api/v1/auth/identities", headers=headers).json()
    ids = [identity["id"] for identity in identities["identities"]]

    with ThreadPoolExecutor(2) as pool:
        removals = list(
            pool.map(
                lambda i: requests.delete(
                    f"{server.url}/api/v1/auth/identities/{i}", headers=headers, timeout=30
                ),
                ids,
            )
        )

    assert linked.status_code == 200 and len(ids) == 2
    assert sorted(r.status_code for r in removals) == [200, 409]
    left = http.get(f"{server.url}/api/v1/auth/identities", headers=headers).json()
    assert len(left["identities"]) == 1


def test_one_callback_raced_by_ten_requests_with_its_cookie_signs_in_once(server, provider):
    browser, callback = _at_callback(server, provider)
    cookie = {"Cookie": f"oidcFlow={browser.cookies.get('oidcFlow')}"}

    with ThreadPoolExecutor(10) as pool:
        answers = list(
            pool.map(lambda _: http.get(callback, allow_redirects=False, headers=cookie), range(10))
        )

    landed = [a for a in answers if a.headers["Location"] == f"{FRONTEND}/"]
    assert len(landed) == 1 and "refreshToken" in landed[0].cookies
    refused = [a for a in answers if a is not landed[0]]
    assert {_error_of(a) for a in refused} == {"invalid_state"}
    assert not any("refreshToken" in a.cookies for a in refused)


def test_a_provider_session_works_in_a_teams_own_view_until_it_ends(start_module_server, provider):
    """examples/extension.py's @jwt_required() view (flask-jwt-extended's door) accepts the
    session a provider sign-in opened, and refuses it at once after its logout."""
    server = start_module_server(
        **_settings(provider.issuer), TEST_GUNICORN_APP="examples.extension:app"
    )
    email = _login_name()
    signed_in = _app_sign_in(server, provider, email).json()
    headers = {"Authorization": f"Bearer {signed_in['accessToken']}"}

    before = http.get(f"{server.url}/orders/mine", headers=headers)
    logout = http.post(
        f"{server.url}/api/v1/auth/logout",
        headers=headers,
        cookies={"refreshToken": signed_in["refreshToken"]},
    )
    after = http.get(f"{server.url}/orders/mine", headers=headers)

    assert before.status_code == 200 and before.json()["email"] == email
    assert logout.status_code == 200
    assert after.status_code == 401


def test_a_providers_unverified_address_never_keeps_its_owner_out(server, provider):
    """Someone signs in first through a provider that claims another person's address without
    verifying it: their account gets no address, the address's owner registers it, and the
    provider identity keeps signing in to its own account, never to the owner's."""
    squatter, squatters_browser, _ = _web_sign_in(server, provider, "squatted@example.com")
    squatters_token = squatters_browser.post(
        f"{server.url}/api/v1/auth/refresh-token", timeout=30
    ).json()["accessToken"]
    registration = {"email": "squatted@example.com", "password": "the Owners passphrase 1"}
    owner = http.post(f"{server.url}/api/v1/auth/register", json=registration)
    again = _app_sign_in(server, provider, "squatted@example.com")

    assert squatter.headers["Location"] == f"{FRONTEND}/dashboard"
    assert _current_user(server, squatters_token)["email"] is None
    assert owner.status_code == 201
    assert again.status_code == 200
    assert again.json()["user"]["_id"] == _current_user(server, squatters_token)["_id"]
    assert again.json()["user"]["_id"] != owner.json()["user"]["_id"]


def test_with_verified_email_required_an_unproven_provider_address_signs_in_nowhere(
    start_module_server, provider
):
    strict = start_module_server(**_settings(provider.issuer, AUTH_REQUIRE_VERIFIED_EMAIL="true"))

    web, browser, _ = _web_sign_in(strict, provider, "unproven@example.com")
    mobile = _app_sign_in(strict, provider, "unproven@example.com")

    assert _error_of(web) == "email_not_verified"
    assert "refreshToken" not in browser.cookies
    assert mobile.status_code == 403
    assert mobile.json()["message"] == "Verify your email address before logging in."


def test_a_spoofed_host_does_not_choose_where_the_provider_sends_the_browser(server):
    started = http.get(f"{server.url}/api/v1/auth/oidc/test/login", allow_redirects=False,
                       headers={"Host": "evil.example"})  # fmt: skip

    redirect_uri = parse_qs(urlsplit(started.headers["Location"]).query)["redirect_uri"][0]
    assert redirect_uri == f"{server.url}/api/v1/auth/oidc/test/callback"


def test_a_return_without_iss_from_a_provider_that_names_itself_is_refused(server, provider):
    """panva's oidc-provider advertises RFC 9207: a return without iss is a mix-up."""
    browser = requests.Session()
    started = browser.get(f"{server.url}/api/v1/auth/oidc/test/login", allow_redirects=False,
                          timeout=30)  # fmt: skip
    state = parse_qs(urlsplit(started.headers["Location"]).query)["state"][0]

    answer = browser.get(f"{server.url}/api/v1/auth/oidc/test/callback",
                         params={"code": "anything", "state": state},
                         allow_redirects=False, timeout=30)  # fmt: skip

    assert _error_of(answer) == "invalid_state"


@pytest.mark.parametrize(
    "claims", [{"sub": "s" * 10_000}, {"exp": 10**20}], ids=["sub-10kb", "exp-1e20"]
)
def test_a_signed_id_token_with_an_absurd_claim_is_a_401_not_a_500(server, provider, claims):
    now = int(time.time())
    signed = provider.sign({"iss": provider.issuer, "aud": APP_CLIENT, "iat": now,
                            "exp": now + 600, "sub": uuid.uuid4().hex,
                            "email": _login_name(), "email_verified": True} | claims)  # fmt: skip

    response = _exchange(server, signed)

    assert response.status_code == 401
    assert response.json()["details"] == {"reason": "invalid_id_token"}
