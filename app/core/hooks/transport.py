"""HTTP to a URL an admin gave: a webhook receiver, or an auth hook.

Such a URL makes the service send requests, so it is held to the public internet: its host
must resolve only to global addresses (no loopback, private, link-local, metadata or other
reserved ranges) unless AUTH_WEBHOOK_ALLOW_PRIVATE is on. The check runs when the URL is
saved and again at every request, and the request goes to the very address that was checked
(the TLS name and the Host header stay the URL's), so a DNS answer that changes between the
check and the connection (rebinding) cannot move it inside. No redirect is followed, the
time is bounded, and at most RESPONSE_LIMIT bytes of the answer are read.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError

RESPONSE_LIMIT = 64 * 1024
MAX_URL_LENGTH = 2048


class UnsafeUrlError(ValueError):
    """A URL the service refuses to send requests to; the message says why."""


class TransportError(Exception):
    """No answer came: refused, timed out, or broken off. ``reason`` is a short word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # at most RESPONSE_LIMIT bytes


def parse_url(url: str) -> Target:
    """The parts of an http(s) URL with a host; UnsafeUrlError for anything else."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrlError("Not a valid URL.") from error
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeUrlError("The URL must be http:// or https:// with a host.")
    if parts.username or parts.password:
        raise UnsafeUrlError("The URL must not carry credentials.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default_port, path)


def checked_address(target: Target, *, allow_private: bool) -> str:
    """The address to connect to: the first the host resolves to, every one of them global
    (unless ``allow_private``); UnsafeUrlError otherwise."""
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrlError("The URL's host does not resolve.") from error
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise UnsafeUrlError("The URL's host does not resolve.")
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise UnsafeUrlError(
                    "The URL's host resolves to a loopback, private, link-local or reserved "
                    "address (AUTH_WEBHOOK_ALLOW_PRIVATE=true allows it)."
                )
    return addresses[0]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def post(
    url: str, *, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool
) -> Answer:
    """POST ``body`` to ``url`` through the checks above; TransportError when no answer came,
    UnsafeUrlError when the URL now leads somewhere it may not."""
    target = parse_url(url)
    address = checked_address(target, allow_private=allow_private)
    pool = _pool(target, address, timeout)
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            return Answer(status=response.status, body=response.read(RESPONSE_LIMIT))
        finally:
            response.release_conn()
    except HTTPError as error:
        raise TransportError(_reason(error)) from error
    finally:
        pool.close()


def _pool(target: Target, address: str, timeout: float) -> urllib3.HTTPConnectionPool:
    limits = urllib3.Timeout(total=timeout)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=limits,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            maxsize=1,
            retries=False,
        )
    return urllib3.HTTPConnectionPool(
        address, target.port, timeout=limits, maxsize=1, retries=False
    )


def _reason(error: HTTPError) -> str:
    name = type(error).__name__
    if "Timeout" in name:
        return "timeout"
    if "SSL" in name:
        return "tls"
    return "connection"
