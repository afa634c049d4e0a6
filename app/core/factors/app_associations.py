"""The native apps this service knows: iOS apps (AUTH_IOS_APP_IDS) and Android apps with
their signing certificates' SHA-256 fingerprints (AUTH_ANDROID_APPS), which may use its
passkeys, and the redirect URIs through which apps take back a sign-in made in the system
browser (AUTH_NATIVE_REDIRECT_URIS).

Read and checked once at startup; a malformed app id, fingerprint or redirect URI refuses to
start. The association files (app/api/app_links.py) publish the apps, and a WebAuthn
ceremony run inside one of the Android apps is accepted from its ``android:apk-key-hash:``
origin.
"""

import base64
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask
from flask import current_app

from app.core.configuration import ConfigurationError

_EXTENSION = "authsvc.app_associations"
# Apple's app id: the ten-character team id, then the bundle id.
_IOS_APP_ID = re.compile(r"^[A-Z0-9]{10}\.[A-Za-z0-9][A-Za-z0-9.-]{0,154}$")
_ANDROID_PACKAGE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*(\.[a-zA-Z][a-zA-Z0-9_]*)+$")
# The SHA-256 of the app's signing certificate, as Android's tools print it.
_FINGERPRINT = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$")
ANDROID_ORIGIN_PREFIX = "android:apk-key-hash:"
_UNSAFE_SCHEMES = {"javascript", "data", "file", "blob", "about", "vbscript"}


@dataclass(frozen=True)
class AndroidApp:
    package_name: str
    fingerprints: tuple[str, ...]


@dataclass(frozen=True)
class AppAssociations:
    ios_app_ids: tuple[str, ...]
    android_apps: tuple[AndroidApp, ...]
    redirect_uris: frozenset[str]

    def android_origins(self) -> list[str]:
        """The WebAuthn origins Android reports for these apps: the signing certificate's
        SHA-256, base64url without padding."""
        return [
            android_origin(fingerprint)
            for app in self.android_apps
            for fingerprint in app.fingerprints
        ]


def install_app_associations(app: Flask) -> None:
    """Read and check AUTH_IOS_APP_IDS, AUTH_ANDROID_APPS and AUTH_NATIVE_REDIRECT_URIS."""
    app.extensions[_EXTENSION] = AppAssociations(
        ios_app_ids=tuple(_ios_app_id(value) for value in app.config["AUTH_IOS_APP_IDS"]),
        android_apps=tuple(_android_app(value) for value in app.config["AUTH_ANDROID_APPS"]),
        redirect_uris=frozenset(
            _redirect_uri(value) for value in app.config["AUTH_NATIVE_REDIRECT_URIS"]
        ),
    )


def associations() -> AppAssociations:
    found: AppAssociations = current_app.extensions[_EXTENSION]
    return found


def android_origin(fingerprint: str) -> str:
    """``android:apk-key-hash:`` and the fingerprint's 32 bytes in base64url, unpadded."""
    digest = bytes.fromhex(fingerprint.replace(":", ""))
    return ANDROID_ORIGIN_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


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


def _redirect_uri(value: str) -> str:
    """An app's redirect URI: a private-use scheme (``com.example.app:/oauth``) or an https
    URL the app claims; never a scheme a browser would run or render itself."""
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if not scheme or scheme in _UNSAFE_SCHEMES or parts.fragment or value != value.strip():
        raise ConfigurationError(
            f"AUTH_NATIVE_REDIRECT_URIS: {value!r} is not an app's redirect URI "
            "(com.example.app:/oauth, or an https URL the app claims; no fragment)"
        )
    if scheme == "http" and parts.hostname not in ("127.0.0.1", "[::1]", "::1", "localhost"):
        raise ConfigurationError(
            f"AUTH_NATIVE_REDIRECT_URIS: {value!r} is plain http to another host; "
            "only loopback may use http"
        )
    return value
