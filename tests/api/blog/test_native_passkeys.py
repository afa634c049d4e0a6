"""Passkeys inside a native Android app (issue 35): its WebAuthn ceremonies report the app's
signing certificate as the origin, ``android:apk-key-hash:<base64url of its SHA-256>``, and
the service accepts it for the apps of AUTH_ANDROID_APPS, and for no other."""

import base64
import hashlib

import pytest

from app.core.factors.app_associations import android_origin
from tests.api.blog.test_passkeys import _access_token
from tests.api.blog.test_passkeys import _add_passkey
from tests.api.blog.test_passkeys import _sign_in
from tests.factories import make_user
from tests.matchers import JWT
from tests.soft_authenticator import SoftAuthenticator

CERTIFICATE = b"the app's signing certificate, DER"
FINGERPRINT = ":".join(f"{byte:02X}" for byte in hashlib.sha256(CERTIFICATE).digest())
APP_ORIGIN = "android:apk-key-hash:" + base64.urlsafe_b64encode(
    hashlib.sha256(CERTIFICATE).digest()
).decode().rstrip("=")
UNLISTED_ORIGIN = android_origin(":".join(["7F"] * 32))


@pytest.fixture
def app_overrides():
    return {"AUTH_ANDROID_APPS": [f"com.example.app={FINGERPRINT}"]}


def test_the_android_origin_is_the_certificates_sha256_in_unpadded_base64url():
    assert android_origin(FINGERPRINT) == APP_ORIGIN
    assert not APP_ORIGIN.endswith("=")


def test_a_passkey_made_on_the_web_signs_in_from_the_android_app(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    _add_passkey(client, _access_token(client, user.email), authenticator)

    authenticator.origin = APP_ORIGIN
    response = _sign_in(client, authenticator)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accessToken"] == JWT
    assert response.get_json()["user"]["email"] == user.email


def test_a_passkey_made_in_the_android_app_signs_in_there(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator(origin=APP_ORIGIN)

    added = _add_passkey(client, _access_token(client, user.email), authenticator)
    response = _sign_in(client, authenticator)

    assert added.status_code == 201, added.get_json()
    assert response.status_code == 200, response.get_json()


def test_an_app_signed_with_another_certificate_is_refused(client, app_context):
    user = make_user()
    authenticator = SoftAuthenticator()
    _add_passkey(client, _access_token(client, user.email), authenticator)

    authenticator.origin = UNLISTED_ORIGIN
    response = _sign_in(client, authenticator)

    assert response.status_code == 400
    assert response.get_json()["error"] == "ValidationError"
