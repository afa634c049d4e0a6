"""The association files that let native apps use this service's passkeys (issue 35):
GET /.well-known/apple-app-site-association (webcredentials, from AUTH_IOS_APP_IDS) and
GET /.well-known/assetlinks.json (get_login_creds, from AUTH_ANDROID_APPS). Both are read
from the configuration at startup, which refuses a malformed app id or fingerprint; with
none configured, each answers 404.
"""

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify

from app.api.openapi import Operation
from app.core.configuration import ConfigurationError
from app.core.errors import NotFoundError
from app.extensions import limiter

bp = Blueprint("app_links", __name__)

_EXTENSION = "app_links"
# Apple's app id: the ten-character team id, then the bundle id.
_IOS_APP_ID = re.compile(r"^[A-Z0-9]{10}\.[A-Za-z0-9][A-Za-z0-9.-]{0,154}$")
_ANDROID_PACKAGE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+$")
# The SHA-256 of the app's signing certificate, as Android's tools print it.
_FINGERPRINT = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$")
GET_LOGIN_CREDS = "delegate_permission/common.get_login_creds"


@dataclass(frozen=True)
class AndroidApp:
    package_name: str
    fingerprints: tuple[str, ...]


@dataclass(frozen=True)
class AppLinks:
    ios_app_ids: tuple[str, ...]
    android_apps: tuple[AndroidApp, ...]


def install_app_links(app: Flask) -> None:
    """Read and check AUTH_IOS_APP_IDS and AUTH_ANDROID_APPS; mount the two files."""
    app.extensions[_EXTENSION] = AppLinks(
        ios_app_ids=tuple(_ios_app_id(value) for value in app.config["AUTH_IOS_APP_IDS"]),
        android_apps=tuple(_android_app(value) for value in app.config["AUTH_ANDROID_APPS"]),
    )
    app.register_blueprint(bp)


def _ios_app_id(value: str) -> str:
    if not _IOS_APP_ID.match(value.strip()):
        raise ConfigurationError(
            f"AUTH_IOS_APP_IDS: {value!r} is not TEAMID.bundle.id (a 10-character team id)"
        )
    return value.strip()


def _android_app(value: str) -> AndroidApp:
    """``com.example.app=AB:CD:...`` (several fingerprints separated by spaces)."""
    package, _, prints = value.strip().partition("=")
    fingerprints = tuple(print_.upper() for print_ in prints.split())
    if not _ANDROID_PACKAGE.match(package) or not fingerprints:
        raise ConfigurationError(
            f"AUTH_ANDROID_APPS: {value!r} is not package.name=SHA256:FINGER:PRINT"
        )
    for fingerprint in fingerprints:
        if not _FINGERPRINT.match(fingerprint):
            raise ConfigurationError(
                f"AUTH_ANDROID_APPS: {fingerprint!r} is not a SHA-256 fingerprint "
                "(32 hex bytes separated by colons)"
            )
    return AndroidApp(package_name=package, fingerprints=fingerprints)


def _links() -> AppLinks:
    found: AppLinks = current_app.extensions[_EXTENSION]
    return found


@bp.get("/.well-known/apple-app-site-association")
@limiter.exempt
def apple_app_site_association() -> Response:
    """The iOS apps that may use this domain's passkeys (Associated Domains)."""
    apps = _links().ios_app_ids
    if not apps:
        raise NotFoundError("No iOS app is associated with this service.")
    return _public(jsonify({"webcredentials": {"apps": list(apps)}}))


@bp.get("/.well-known/assetlinks.json")
@limiter.exempt
def asset_links() -> Response:
    """The Android apps that may use this domain's passkeys (Digital Asset Links)."""
    apps = _links().android_apps
    if not apps:
        raise NotFoundError("No Android app is associated with this service.")
    statements = [
        {
            "relation": [GET_LOGIN_CREDS],
            "target": {
                "namespace": "android_app",
                "package_name": app.package_name,
                "sha256_cert_fingerprints": list(app.fingerprints),
            },
        }
        for app in apps
    ]
    return _public(jsonify(statements))


def _public(response: Response) -> Response:
    """Fetched by Apple's and Google's crawlers: public, cacheable for an hour."""
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


_AASA: dict[str, Any] = {
    "type": "object",
    "required": ["webcredentials"],
    "properties": {
        "webcredentials": {
            "type": "object",
            "required": ["apps"],
            "properties": {"apps": {"type": "array", "items": {"type": "string"}}},
        }
    },
}
_ASSET_LINKS: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["relation", "target"],
        "properties": {
            "relation": {"type": "array", "items": {"type": "string"}},
            "target": {
                "type": "object",
                "required": ["namespace", "package_name", "sha256_cert_fingerprints"],
                "properties": {
                    "namespace": {"type": "string", "enum": ["android_app"]},
                    "package_name": {"type": "string"},
                    "sha256_cert_fingerprints": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
_NOT_CONFIGURED = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}
OPERATIONS = [
    Operation("GET", "/.well-known/apple-app-site-association",
              "The iOS apps that may use this domain's passkeys (AUTH_IOS_APP_IDS)", "keys",
              responses={200: ("Apple's webcredentials association", _AASA),
                         404: ("No iOS app configured", _NOT_CONFIGURED)}),
    Operation("GET", "/.well-known/assetlinks.json",
              "The Android apps that may use this domain's passkeys (AUTH_ANDROID_APPS)", "keys",
              responses={200: ("Digital Asset Links statements (get_login_creds)", _ASSET_LINKS),
                         404: ("No Android app configured", _NOT_CONFIGURED)}),
]  # fmt: skip
