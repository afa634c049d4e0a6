"""The association files that let native apps use this service's passkeys (issue 35):
GET /.well-known/apple-app-site-association (webcredentials, from AUTH_IOS_APP_IDS) and
GET /.well-known/assetlinks.json (get_login_creds, from AUTH_ANDROID_APPS). Both are read
from the configuration at startup (app/core/factors/app_associations.py), which refuses a
malformed app id or fingerprint; with none configured, each answers 404.
"""

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

from app.api.openapi import Operation
from app.core.errors import NotFoundError
from app.core.factors import app_associations
from app.extensions import limiter

bp = Blueprint("app_links", __name__)

GET_LOGIN_CREDS = "delegate_permission/common.get_login_creds"


@bp.get("/.well-known/apple-app-site-association")
@limiter.exempt
def apple_app_site_association() -> Response:
    """The iOS apps that may use this domain's passkeys (Associated Domains)."""
    apps = app_associations.associations().ios_app_ids
    if not apps:
        raise NotFoundError("No iOS app is associated with this service.")
    return _public(jsonify({"webcredentials": {"apps": list(apps)}}))


@bp.get("/.well-known/assetlinks.json")
@limiter.exempt
def asset_links() -> Response:
    """The Android apps that may use this domain's passkeys (Digital Asset Links)."""
    apps = app_associations.associations().android_apps
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
