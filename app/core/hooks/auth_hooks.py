"""Auth hooks: synchronous decisions a team's own service makes for this one.

Each hook is a URL and a secret (``AUTH_HOOK_<NAME>_URL``, ``AUTH_HOOK_<NAME>_SECRET``); the
request is a JSON POST signed as webhooks are (Standard Webhooks headers), and the answer a
JSON object within ``AUTH_HOOK_TIMEOUT_SECONDS``:

- ``BEFORE_USER_CREATED``, before any account is created (registration on every face, a
  first provider sign-in, an import, the CLI): ``{}`` allows it, ``{"decision": "reject",
  "message": "..."}`` refuses it (RegistrationRejectedError, with that message).
- ``CUSTOM_ACCESS_TOKEN``, whenever an access token is minted for a user (every face, every
  refresh): ``{"claims": {...}}`` adds those claims; a reserved claim fails the hook.
- ``SEND_EMAIL``: mails go to this URL instead of SMTP (``mail_backend``), from the outbox,
  with its retries.

Hooks fail closed: no answer, a non-2xx status, or an answer of the wrong shape refuses the
action (HookFailedError, 503) and records a ``hook_failed`` audit event; never the opposite.
The hook URLs come from the operator's configuration, so unlike webhook URLs they may be on
the private network (a sidecar, a service in the same cluster).
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from flask import Flask
from flask import current_app
from standardwebhooks.webhooks import Webhook

from app.core import clock
from app.core.audit import audit
from app.core.configuration import ConfigurationError
from app.core.errors import HookFailedError
from app.core.errors import RegistrationRejectedError
from app.core.hooks import transport
from app.core.mail.mail import Message
from app.core.mail.mail import installed_mailer
from app.core.tokens import tokens

BEFORE_USER_CREATED = "BEFORE_USER_CREATED"
CUSTOM_ACCESS_TOKEN = "CUSTOM_ACCESS_TOKEN"  # noqa: S105 (a hook's name)
SEND_EMAIL = "SEND_EMAIL"
HOOKS = (BEFORE_USER_CREATED, CUSTOM_ACCESS_TOKEN, SEND_EMAIL)
RESERVED_CLAIMS = frozenset(
    {
        "sub", "exp", "iat", "nbf", "jti", "type", "sid", "iss", "aud", "roles", "amr",
        "auth_time", "userId", "username", "fresh",
    }
)  # fmt: skip
MAX_MESSAGE_LENGTH = 300


@dataclass(frozen=True)
class Hook:
    name: str
    url: str
    secret: str


def configured(name: str) -> Hook | None:
    url = current_app.config[f"AUTH_HOOK_{name}_URL"]
    if not url:
        return None
    return Hook(name=name, url=url, secret=current_app.config[f"AUTH_HOOK_{name}_SECRET"])


def call(hook: Hook, payload: dict[str, Any]) -> dict[str, Any]:
    """The hook's answer, a JSON object; HookFailedError (and an audit event) otherwise."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    try:
        answer = transport.post(
            hook.url,
            body=body,
            headers=signed_headers(hook.secret, body),
            timeout=float(current_app.config["AUTH_HOOK_TIMEOUT_SECONDS"]),
            allow_private=True,
        )
    except transport.TransportError as error:
        raise _failure(hook, error.reason) from error
    except transport.UnsafeUrlError as error:
        raise _failure(hook, "unsafe_url") from error
    if not 200 <= answer.status < 300:
        raise _failure(hook, f"status_{answer.status}")
    try:
        found = json.loads(answer.body or b"{}")
    except ValueError as error:
        raise _failure(hook, "bad_answer") from error
    if not isinstance(found, dict):
        raise _failure(hook, "bad_answer")
    return found


def signed_headers(secret: str, body: bytes, *, now: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks' headers for ``body``, signed with ``secret``."""
    message_id = f"msg_{uuid4().hex}"
    moment = now or clock.utcnow()
    return {
        "Content-Type": "application/json",
        "User-Agent": "authsvc-hooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, body),
    }


def before_user_created(*, email: str | None, username: str, source: str) -> None:
    """Pass, or RegistrationRejectedError with the hook's message; without the hook, pass."""
    hook = configured(BEFORE_USER_CREATED)
    if hook is None:
        return
    user = {"email": email, "username": username}
    answer = call(hook, {"type": "before_user_created", "user": user, "source": source})
    decision = answer.get("decision", "allow")
    if decision == "allow":
        return
    message = answer.get("message")
    if decision != "reject" or not (message is None or isinstance(message, str)):
        raise _failure(hook, "bad_answer")
    audit.record(event="hook_rejected", outcome="failure", details={"hook": hook.name})
    raise RegistrationRejectedError((message or "")[:MAX_MESSAGE_LENGTH] or None)


def custom_claims(*, user: tokens.Holder, session_id: str) -> dict[str, Any]:
    """The claims the CUSTOM_ACCESS_TOKEN hook adds to an access token of ``user``."""
    hook = configured(CUSTOM_ACCESS_TOKEN)
    if hook is None:
        return {}
    payload = {
        "type": "custom_access_token",
        "user": {"id": str(user.id), "username": user.username, "roles": list(user.role_names)},
        "sessionId": session_id,
    }
    claims = call(hook, payload).get("claims", {})
    if not isinstance(claims, dict):
        raise _failure(hook, "bad_answer")
    if RESERVED_CLAIMS & set(claims):
        raise _failure(hook, "reserved_claim")
    return claims


class HookMailBackend:
    """Mail handed to the SEND_EMAIL hook instead of an SMTP server: a failure is the
    outbox's to retry, as an SMTP server's would be."""

    def deliver(self, message: Message, sender: str) -> None:
        hook = configured(SEND_EMAIL)
        assert hook is not None
        headers = message.headers(sender)
        call(
            hook,
            {
                "type": "send_email",
                "mail": {
                    "from": sender,
                    "to": message.to,
                    "subject": message.subject,
                    "text": message.text,
                    "html": message.html,
                    "date": headers["Date"],
                    "messageId": headers["Message-ID"],
                },
            },
        )


def install_auth_hooks(app: Flask) -> None:
    """Refuse to start with a hook URL and no usable secret; let the minter ask for claims
    when CUSTOM_ACCESS_TOKEN is set, and the mailer send through SEND_EMAIL when it is."""
    for name in HOOKS:
        url, secret = app.config[f"AUTH_HOOK_{name}_URL"], app.config[f"AUTH_HOOK_{name}_SECRET"]
        if not url:
            continue
        try:
            transport.parse_url(url)
            Webhook(secret)
        except Exception as error:
            raise ConfigurationError(
                f"AUTH_HOOK_{name}_URL needs an http(s) URL and AUTH_HOOK_{name}_SECRET a "
                "whsec_ secret (base64 after the prefix)"
            ) from error
    hooked = bool(app.config[f"AUTH_HOOK_{CUSTOM_ACCESS_TOKEN}_URL"])
    tokens.set_extra_claims(app, custom_claims if hooked else None)
    if app.config[f"AUTH_HOOK_{SEND_EMAIL}_URL"]:
        installed_mailer(app).use_backend(HookMailBackend())


def _failure(hook: Hook, reason: str) -> HookFailedError:
    """The error that refuses the action, recorded."""
    audit.record(
        event="hook_failed", outcome="failure", details={"hook": hook.name, "reason": reason}
    )
    return HookFailedError()
