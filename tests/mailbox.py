"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

import re
import threading
import time
from email import message_from_bytes
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.ports import free_port

CODE = re.compile(r"give the app this code: (\S+)")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        port = free_port()
        self.url = f"smtp://127.0.0.1:{port}"
        self._controller = Controller(self, hostname="127.0.0.1", port=port)
        self._started = False

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def start(self) -> "Mailbox":
        self._controller.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._controller.stop()
        else:
            self._controller.loop.close()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for message in self.messages if message["To"] == address]

    def wait_for(self, address: str, subject: str, timeout: float = 10) -> EmailMessage:
        """The newest message to ``address`` with ``subject``, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.to(address) if m["Subject"] == subject]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no {subject!r} mail to {address} within {timeout}s")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, message
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, message
    return str(part.get_content())


def token_in(message: EmailMessage) -> str:
    body = text_of(message)
    match = CODE.search(body)
    assert match, body
    return match.group(1)
