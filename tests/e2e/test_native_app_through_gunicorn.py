"""A native app through gunicorn (two workers, both databases), as issue 35 asks: it registers,
logs in with TOTP as the second step, refreshes by body (30 at once with one token give one
successor; a reused token ends the session), lists its session by device name and logs out
by body; a passkey assertion from the Android app's origin signs in; the association files
are what Apple and Google read; and the system-browser provider flow ends in tokens through
the one-time code, which works once, also when 30 apps present it at the same instant."""

import base64
import hashlib
import secrets
import uuid
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import jsonschema
import pytest
import requests

from tests.e2e import http
from tests.openid_provider import provider_for_service
from tests.openid_provider import sign_in_at_provider
from tests.signing import signed_part
from tests.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.e2e

NATIVE = {"X-Client-Type": "native", "User-Agent": "Notes/3.1 CFNetwork/1494.0.7 Darwin/23.4.0"}
PASSWORD = "native app passphrase"
PARALLEL = 30
CERTIFICATE_SHA256 = hashlib.sha256(b"the Notes app's signing certificate").digest()
FINGERPRINT = ":".join(f"{byte:02X}" for byte in CERTIFICATE_SHA256)
ANDROID_ORIGIN = "android:apk-key-hash:" + (
    base64.urlsafe_b64encode(CERTIFICATE_SHA256).decode().rstrip("=")
)
APP_URI = "com.example.notes:/oauth2redirect"


def _native(method: str, url: str, body: dict | None = None, token: str = "") -> requests.Response:
    headers = NATIVE | ({"Authorization": f"Bearer {token}"} if token else {})
    return requests.request(method, url, json=body, headers=headers, timeout=http.TIMEOUT_SECONDS)


def _ok(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    assert "Set-Cookie" not in response.headers, "a native client never gets a cookie"
    return response.json()


def _refresh(api: str, refresh_token: str) -> requests.Response:
    return _native("POST", f"{api}/refresh-token", {"refreshToken": refresh_token})


def test_a_native_app_registers_takes_the_second_step_refreshes_and_logs_out_by_body(
    start_server,
):
    server = start_server(AUTH_RATELIMIT_REFRESH_PER_IP="200 per minute")
    api = f"{server.url}/api/v1/auth"
    email = f"app-{uuid.uuid4().hex[:8]}@example.com"

    registered = _ok(
        _native("POST", f"{api}/register", {"email": email, "password": PASSWORD}), 201
    )
    _secret, codes = http.enable_totp(api, registered["accessToken"], PASSWORD)
    asked = _native(
        "POST", f"{api}/login", {"email": email, "password": PASSWORD, "deviceName": "Ada's iPhone"}
    )
    assert asked.status_code == 403 and asked.json()["error"] == "MfaRequiredError"
    signed_in = _ok(
        _native(
            "POST",
            f"{api}/mfa/verify",
            {"mfaToken": asked.json()["details"]["mfaToken"], "code": next(codes)},
        )
    )

    results = http.at_once(PARALLEL, lambda: _refresh(api, signed_in["refreshToken"]))

    assert [r.status_code for r in results] == [200] * PARALLEL
    successors = {signed_part(r.json()["refreshToken"]) for r in results}
    assert len(successors) == 1
    assert successors != {signed_part(signed_in["refreshToken"])}
    successor = results[0].json()
    assert all("Set-Cookie" not in r.headers for r in results)

    sessions = _ok(_native("GET", f"{api}/sessions", token=successor["accessToken"]))["sessions"]
    mine = next(s for s in sessions if s["current"])
    assert (mine["deviceName"], mine["clientType"], mine["platform"]) == (
        "Ada's iPhone", "native", "iOS 17.4",
    )  # fmt: skip

    logout = _native(
        "POST", f"{api}/logout", {"refreshToken": successor["refreshToken"]},
        token=successor["accessToken"],
    )  # fmt: skip
    assert _ok(logout) == {"message": "Logged out successfully"}
    assert _refresh(api, successor["refreshToken"]).status_code == 401
    after = http.get(f"{server.url}/api/v1/users/current",
                     headers={"Authorization": f"Bearer {successor['accessToken']}"})  # fmt: skip
    assert after.status_code == 401


def test_a_reused_body_token_ends_the_session_through_gunicorn(start_server):
    server = start_server(AUTH_REFRESH_REUSE_GRACE_SECONDS="0")
    api = f"{server.url}/api/v1/auth"
    email = f"reuse-{uuid.uuid4().hex[:8]}@example.com"
    first = _ok(_native("POST", f"{api}/register", {"email": email, "password": PASSWORD}), 201)
    successor = _ok(_refresh(api, first["refreshToken"]))

    reused = _refresh(api, first["refreshToken"])

    assert reused.status_code == 401
    assert _refresh(api, successor["refreshToken"]).status_code == 401


def test_a_cookie_and_a_body_token_together_are_refused_through_gunicorn(start_server):
    server = start_server()
    api = f"{server.url}/api/v1/auth"
    email = f"both-{uuid.uuid4().hex[:8]}@example.com"
    browser = http.post(f"{api}/register", json={"email": email, "password": PASSWORD})
    app = _ok(_native("POST", f"{api}/login", {"email": email, "password": PASSWORD}))

    both = http.post(
        f"{api}/refresh-token",
        json={"refreshToken": app["refreshToken"]},
        headers={"X-Client-Type": "native"},
        cookies={"refreshToken": browser.cookies["refreshToken"]},
    )

    assert both.status_code == 400
    assert both.json()["details"] == {"refreshToken": ["Sent both in a cookie and in the body."]}


# Apple's apple-app-site-association (webcredentials) and Google's Digital Asset Links
# statement list, as their documentation gives them.
AASA_FORMAT = {
    "type": "object",
    "required": ["webcredentials"],
    "properties": {
        "webcredentials": {
            "type": "object",
            "required": ["apps"],
            "additionalProperties": False,
            "properties": {
                "apps": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "pattern": r"^[A-Z0-9]{10}\.[A-Za-z0-9.-]+$"},
                }
            },
        }
    },
}
ASSET_LINKS_FORMAT = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["relation", "target"],
        "additionalProperties": False,
        "properties": {
            "relation": {
                "type": "array",
                "contains": {"const": "delegate_permission/common.get_login_creds"},
            },
            "target": {
                "type": "object",
                "required": ["namespace", "package_name", "sha256_cert_fingerprints"],
                "additionalProperties": False,
                "properties": {
                    "namespace": {"const": "android_app"},
                    "package_name": {"type": "string", "pattern": r"^[a-zA-Z]\w*(\.[a-zA-Z]\w*)+$"},
                    "sha256_cert_fingerprints": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "pattern": "^[0-9A-F]{2}(:[0-9A-F]{2}){31}$"},
                    },
                },
            },
        },
    },
}


def test_an_android_apps_passkey_assertion_signs_in_and_the_files_validate(start_server):
    server = start_server(
        AUTH_IOS_APP_IDS="ABCDE12345.com.example.notes",
        AUTH_ANDROID_APPS=f"com.example.notes={FINGERPRINT}",
    )
    api = f"{server.url}/api/v1/auth"
    email = f"passkey-{uuid.uuid4().hex[:8]}@example.com"
    token = http.post(f"{api}/register", json={"email": email, "password": PASSWORD}).json()[
        "accessToken"
    ]
    authenticator = SoftAuthenticator(origin=ANDROID_ORIGIN)
    options = http.call("post", f"{api}/passkeys/register/options", token=token)
    http.call("post", f"{api}/passkeys/register", {"credential": authenticator.create(options)},
              token=token, status=201)  # fmt: skip

    sign_in = http.call("post", f"{api}/passkeys/login/options", {})
    assertion = {"challengeId": sign_in["challengeId"], "credential": authenticator.get(sign_in),
                 "deviceName": "Ada's Pixel"}  # fmt: skip
    signed_in = _ok(_native("POST", f"{api}/passkeys/login", assertion))

    assert signed_in["user"]["email"] == email
    assert _refresh(api, signed_in["refreshToken"]).status_code == 200
    aasa = http.get(f"{server.url}/.well-known/apple-app-site-association", allow_redirects=False)
    links = http.get(f"{server.url}/.well-known/assetlinks.json", allow_redirects=False)
    for answer, schema in ((aasa, AASA_FORMAT), (links, ASSET_LINKS_FORMAT)):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/json"
        jsonschema.validate(answer.json(), schema)
    assert links.json()[0]["target"]["sha256_cert_fingerprints"] == [FINGERPRINT]


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_the_system_browser_provider_flow_ends_in_tokens_through_a_one_time_code(start_server):
    email = f"browser-flow-{uuid.uuid4().hex[:6]}@example.com"
    with provider_for_service("authsvc-native") as (provider, settings):
        server = start_server(
            **settings,
            AUTH_RATELIMIT_CREDENTIALS_PER_IP="100 per minute",
            AUTH_NATIVE_REDIRECT_URIS=APP_URI,
        )
        api = f"{server.url}/api/v1/auth"
        verifier, challenge = _pkce()
        system_browser = requests.Session()
        query = urlencode({"next": APP_URI, "code_challenge": challenge,
                           "code_challenge_method": "S256", "state": "app-state-1"})  # fmt: skip
        started = system_browser.get(
            f"{api}/oidc/test/login?{query}", allow_redirects=False, timeout=30
        )
        callback = sign_in_at_provider(
            system_browser, provider, started.headers["Location"], email
        ).headers["Location"]
        landed = system_browser.get(callback, allow_redirects=False, timeout=30)

        location = landed.headers["Location"]
        assert location.startswith(APP_URI + "?")
        returned = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert returned["state"] == "app-state-1"
        assert "refreshToken" not in system_browser.cookies.get_dict()
        exchange = {"code": returned["code"], "codeVerifier": verifier, "deviceName": "Ada's Mac"}
        results = http.at_once(PARALLEL, lambda: _native("POST", f"{api}/oidc/exchange", exchange))
        replayed = _native("POST", f"{api}/oidc/exchange", exchange)

        assert sorted(r.status_code for r in results) == [200] + [401] * (PARALLEL - 1)
        signed_in = _ok(next(r for r in results if r.status_code == 200))
        refused = {r.json()["details"]["reason"] for r in results if r.status_code == 401}
        assert refused == {"code_replayed"}
        assert signed_in["user"]["email"] == email
        assert replayed.status_code == 401
        assert replayed.json()["details"] == {"reason": "code_replayed"}
        assert _refresh(api, signed_in["refreshToken"]).status_code == 200
