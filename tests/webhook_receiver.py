"""A real HTTP server on loopback that receives webhooks and keeps what came: the answer
(a status, a hang, a redirect) is set by the test, and it can go down and come back."""

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.ports import free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    # The status answered in time; None when the receiver hung (the sender gave up first).
    answered: int | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def type(self) -> str:
        return self.payload["type"]

    def verified_with(self, secret: str) -> dict[str, Any]:
        """The payload, once its signature checks out with ``secret`` (standardwebhooks)."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.hang_seconds = 0.0
        self.location: str | None = None
        self.reply = b"{}"  # the body of every answer
        self._lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "Receiver":
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer_with(self, payload: Any) -> None:
        """Answer every request from now on with ``payload`` as JSON."""
        self.reply = json.dumps(payload).encode()

    def of_type(self, event_type: str) -> list[Received]:
        with self._lock:
            return [item for item in self.received if item.type == event_type]

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of_type(event_type)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{len(self.of_type(event_type))} {event_type} within {timeout}s")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hung = receiver.hang_seconds
                if hung:
                    time.sleep(hung)
                answered = None if hung else receiver.status
                with receiver._lock:
                    receiver.received.append(Received(dict(self.headers.items()), body, answered))
                # A sender that gave up waiting (a hang, as the test wanted) closed the socket.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer()

            def _answer(self) -> None:
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler
