"""Where a request comes from: its client's address (the real one, after ProxyFix) and user
agent, read once per request and only when something records it (an audit event, a new
session), so requests that record nothing never pay for it."""

from dataclasses import dataclass

from flask import request

from app.core.identities import is_storable

USER_AGENT_LENGTH = 512


@dataclass(frozen=True)
class ClientInfo:
    """Where a sign-in comes from, kept on its session."""

    user_agent: str | None
    ip: str | None


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
    cleaned = "".join(ch for ch in text if ch.isprintable() and is_storable(ch))
    return cleaned[:USER_AGENT_LENGTH] or None
