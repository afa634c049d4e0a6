"""The association files native apps' passkeys need (issue 35): Apple's
apple-app-site-association and Google's assetlinks.json, from the configuration."""

import pytest

from app.core.configuration import ConfigurationError
from tests.conftest import make_app

FINGERPRINT = ":".join(["AB"] * 16 + ["0F"] * 16)
OTHER_PRINT = ":".join(["12"] * 32)


@pytest.fixture
def configured(tmp_path):
    return make_app(
        f"sqlite:///{tmp_path / 'links.db'}",
        AUTH_IOS_APP_IDS=["ABCDE12345.com.example.app"],
        AUTH_ANDROID_APPS=[f"com.example.app={FINGERPRINT} {OTHER_PRINT.lower()}"],
    )


def test_apple_is_told_which_ios_apps_share_the_passkeys(configured):
    response = configured.test_client().get("/.well-known/apple-app-site-association")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"webcredentials": {"apps": ["ABCDE12345.com.example.app"]}}
    assert "public" in response.headers["Cache-Control"]


def test_google_is_told_which_android_apps_share_the_passkeys(configured):
    response = configured.test_client().get("/.well-known/assetlinks.json")

    assert response.status_code == 200
    assert response.get_json() == [{
        "relation": ["delegate_permission/common.get_login_creds"],
        "target": {
            "namespace": "android_app",
            "package_name": "com.example.app",
            "sha256_cert_fingerprints": [FINGERPRINT, OTHER_PRINT],
        },
    }]  # fmt: skip


@pytest.mark.parametrize(
    "path", ["/.well-known/apple-app-site-association", "/.well-known/assetlinks.json"]
)
def test_without_apps_the_files_are_not_found(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("AUTH_IOS_APP_IDS", ["com.example.app"]),
        ("AUTH_IOS_APP_IDS", ["abcde12345.com.example.app"]),
        ("AUTH_ANDROID_APPS", ["com.example.app"]),
        ("AUTH_ANDROID_APPS", ["com.example.app=AB:CD"]),
        ("AUTH_ANDROID_APPS", [f"not a package={FINGERPRINT}"]),
    ],
)
def test_a_malformed_app_stops_startup(tmp_path, setting, value):
    with pytest.raises(ConfigurationError, match=setting):
        make_app(f"sqlite:///{tmp_path / 'bad.db'}", **{setting: value})
