"""Where a request comes from: its client's address (the real one, after ProxyFix) and user
agent, read once per request and only when something records it (an audit event, a new
session), so requests that record nothing never pay for it."""

from dataclasses import dataclass

import ua_parser
from flask import request

from app.core.identities import is_storable

USER_AGENT_LENGTH = 512


BROWSER = "browser"
NATIVE = "native"


@dataclass(frozen=True)
class ClientInfo:
    """Where a sign-in comes from, kept on its session: the user agent and address, whether
    a browser or a native app holds the session, and the name an app gave its device."""

    user_agent: str | None
    ip: str | None
    client_type: str = BROWSER
    device_name: str | None = None


# Kept in the WSGI environ, which lives exactly as long as the request (``g`` outlives it
# when an application context was pushed around several requests, as in tests).
_ENVIRON_KEY = "authsvc.client"


def current_client() -> ClientInfo:
    """The current request's client; call it inside a request only."""
    client = request.environ.get(_ENVIRON_KEY)
    if client is None:
        client = ClientInfo(
            user_agent=_printable(request.user_agent.string), ip=request.remote_addr
        )
        request.environ[_ENVIRON_KEY] = client
    return client


def _printable(text: str) -> str | None:
    """A header value kept for display: no control characters, at most 512 characters."""
    if not (text.isprintable() and is_storable(text)):
        # Rare: a real browser's or app's agent is printable, and the check above is one
        # pass in C, where this one is a Python call per character (14 us for a Safari UA).
        text = "".join(ch for ch in text if ch.isprintable() and is_storable(ch))
    return text[:USER_AGENT_LENGTH] or None


# ua-parser's family names, as people say them.
_PLATFORM_NAMES = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}


def platform_of(user_agent: str | None) -> str | None:
    """The operating system a User-Agent names, with its major and minor version ("iOS 17.5",
    "Android 14", "macOS 10.15"), from ua-parser's rules (which read the Darwin version of a
    native iOS app's CFNetwork user agent); None when it names none (curl, OkHttp)."""
    if not user_agent:
        return None
    found = ua_parser.parse_os(user_agent)
    if found is None or found.family == "Other":
        return None
    version = ".".join(part for part in (found.major, found.minor) if part)
    name = _PLATFORM_NAMES.get(found.family, found.family)
    return f"{name} {version}" if version else name
